// CDeflate declares libdeflate to Swift (include/CDeflate.h); a C target needs one source.
#include "CDeflate.h"
