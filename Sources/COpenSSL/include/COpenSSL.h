// The parts of OpenSSL's libcrypto that lexconnector uses: SHA-1 (the
// WebSocket handshake), SHA-256 and HMAC-SHA256 (AWS SigV4, webhook and JWT
// signatures), constant-time comparison and Base64.
#ifndef COPENSSL_H
#define COPENSSL_H

#include <openssl/sha.h>
#include <openssl/hmac.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stddef.h>
#include <stdint.h>

// One-shot digests; out must hold 20 (SHA-1) or 32 (SHA-256) bytes.
void lc_sha1(const void *data, size_t len, uint8_t *out);
void lc_sha256(const void *data, size_t len, uint8_t *out);
// HMAC-SHA256; out must hold 32 bytes. Returns 1 on success.
int lc_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len, uint8_t *out);
// Constant-time equality over len bytes: 1 when equal.
int lc_const_time_equal(const void *a, const void *b, size_t len);

#endif
