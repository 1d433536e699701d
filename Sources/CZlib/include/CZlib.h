// zlib, for the gzip+base64 headers of Lex V2.
#ifndef CZLIB_H
#define CZLIB_H
#include <zlib.h>
#include <stddef.h>
#include <stdint.h>

// Upper bound of lc_gzip's output for in_len input bytes.
size_t lc_gzip_bound(size_t in_len);

// gzip (RFC 1952) in one shot: deflate level 9, window 15 (+16 for the gzip
// wrapper), memLevel 8, default strategy, header mtime 0. These are the
// settings of Python's zlib.compress(data, 9, wbits=31), so both produce the
// same bytes with the same zlib. Returns 0 and sets *out_len on success.
int lc_gzip(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len);

// gunzip in one shot into a buffer that grows up to max_out bytes. On success
// returns 0 and *out (free with lc_zfree) and *out_len. Returns -1 on bad
// data, -2 when the output would exceed max_out, -3 when out of memory.
int lc_gunzip(const uint8_t *in, size_t in_len, size_t max_out, uint8_t **out, size_t *out_len);
void lc_zfree(void *p);

#endif
