#include "COpenSSL.h"

void lc_sha1(const void *data, size_t len, uint8_t *out) {
    SHA1((const unsigned char *)data, len, out);
}

void lc_sha256(const void *data, size_t len, uint8_t *out) {
    SHA256((const unsigned char *)data, len, out);
}

int lc_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len, uint8_t *out) {
    unsigned int out_len = 32;
    return HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)data, len, out, &out_len) != NULL;
}

int lc_const_time_equal(const void *a, const void *b, size_t len) {
    return CRYPTO_memcmp(a, b, len) == 0;
}
