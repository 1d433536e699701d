// Declarations of the WebRTC voice activity detector functions exported by
// Debian's libwebrtc_audio_processing.so (package libwebrtc-audio-processing-dev,
// upstream webrtc-audio-processing 0.3). The package ships no C header for the
// VAD, so the prototypes are stated here, as the library's symbols define them.
#ifndef CWEBRTCVAD_H
#define CWEBRTCVAD_H

#include <stddef.h>
#include <stdint.h>

typedef struct WebRtcVadInst VadInst;

// Allocates an instance (not yet initialised). Returns NULL when out of memory.
// Not thread safe: it initialises process-wide function pointers.
VadInst *WebRtcVad_Create(void);
void WebRtcVad_Free(VadInst *handle);
// 0 on success, -1 on a NULL handle.
int WebRtcVad_Init(VadInst *handle);
// Aggressiveness 0 (least) to 3 (most). 0 on success, -1 otherwise.
int WebRtcVad_set_mode(VadInst *handle, int mode);
// 1 voiced, 0 unvoiced, -1 error. frame_length is in samples.
int WebRtcVad_Process(VadInst *handle, int fs, const int16_t *audio_frame, size_t frame_length);
// 0 when the rate (8000, 16000, 32000, 48000) and length (10, 20 or 30 ms) are valid.
int WebRtcVad_ValidRateAndFrameLength(int rate, size_t frame_length);

#endif
