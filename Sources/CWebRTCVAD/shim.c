// The VAD lives in libwebrtc_audio_processing.so; this file only makes the
// target a C module that SwiftPM can build.
#include "CWebRTCVAD.h"
