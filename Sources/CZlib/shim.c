#include "CZlib.h"
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

size_t lc_gzip_bound(size_t in_len) {
    // deflateBound for the zlib wrapper plus the larger gzip header/trailer.
    return in_len + (in_len >> 12) + (in_len >> 14) + (in_len >> 25) + 13 + 18 + 64;
}

/* One deflate state per thread, reset between uses: deflateInit2 at level 9
 * allocates and clears about 270 KB, which costs more than compressing a
 * header. Freed by the key's destructor when the thread exits. */
static pthread_key_t gzip_key;
static pthread_once_t gzip_once = PTHREAD_ONCE_INIT;

static void gzip_free(void *p) {
    z_stream *s = p;
    deflateEnd(s);
    free(s);
}

static void gzip_key_init(void) { pthread_key_create(&gzip_key, gzip_free); }

static z_stream *gzip_stream(void) {
    pthread_once(&gzip_once, gzip_key_init);
    z_stream *s = pthread_getspecific(gzip_key);
    if (s) {
        if (deflateReset(s) == Z_OK) return s;
        gzip_free(s);
        pthread_setspecific(gzip_key, NULL);
    }
    s = calloc(1, sizeof *s);
    if (!s) return NULL;
    if (deflateInit2(s, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(s);
        return NULL;
    }
    pthread_setspecific(gzip_key, s);
    return s;
}

int lc_gzip(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len) {
    z_stream *s = gzip_stream();
    if (!s) return -1;
    s->next_in = (Bytef *)in;
    s->avail_in = (uInt)in_len;
    s->next_out = out;
    s->avail_out = (uInt)out_cap;
    int rc = deflate(s, Z_FINISH);
    *out_len = s->total_out;
    return rc == Z_STREAM_END ? 0 : -1;
}

int lc_gunzip(const uint8_t *in, size_t in_len, size_t max_out, uint8_t **out, size_t *out_len) {
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit2(&s, 15 + 16) != Z_OK) return -1;
    size_t cap = in_len * 4 + 64;
    if (cap > max_out) cap = max_out;
    if (cap == 0) cap = 1;
    uint8_t *buf = malloc(cap);
    if (!buf) { inflateEnd(&s); return -3; }
    s.next_in = (Bytef *)in;
    s.avail_in = (uInt)in_len;
    int rc;
    for (;;) {
        s.next_out = buf + s.total_out;
        s.avail_out = (uInt)(cap - s.total_out);
        rc = inflate(&s, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) break;
        if (rc == Z_BUF_ERROR && s.avail_in == 0) { rc = Z_DATA_ERROR; break; } // truncated input
        if (rc != Z_OK && rc != Z_BUF_ERROR) break;
        if (s.avail_out == 0) {
            if (cap >= max_out) { free(buf); inflateEnd(&s); return -2; }
            size_t ncap = cap * 2 > max_out ? max_out : cap * 2;
            uint8_t *nbuf = realloc(buf, ncap);
            if (!nbuf) { free(buf); inflateEnd(&s); return -3; }
            buf = nbuf;
            cap = ncap;
        }
    }
    if (rc != Z_STREAM_END) { free(buf); inflateEnd(&s); return -1; }
    *out = buf;
    *out_len = s.total_out;
    inflateEnd(&s);
    return 0;
}

void lc_zfree(void *p) { free(p); }
