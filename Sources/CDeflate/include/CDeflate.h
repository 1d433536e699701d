// libdeflate (Debian libdeflate-dev), for its CRC-32: the zlib polynomial and
// conventions, with a carry-less multiplication (PCLMULQDQ) path on x86-64,
// several times faster than zlib's crc32 on event stream messages.
#ifndef CDEFLATE_H
#define CDEFLATE_H
#include <libdeflate.h>
#endif
