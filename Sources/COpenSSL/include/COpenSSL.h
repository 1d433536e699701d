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

// One-shot digests; out must hold 20 (SHA-1) or 32 (SHA-256) bytes. The
// algorithms are fetched from OpenSSL's provider once per process.
void lc_sha1(const void *data, size_t len, uint8_t *out);
void lc_sha256(const void *data, size_t len, uint8_t *out);
// HMAC-SHA256; out must hold 32 bytes. Returns 1 on success.
int lc_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len, uint8_t *out);
// Constant-time equality over len bytes: 1 when equal.
int lc_const_time_equal(const void *a, const void *b, size_t len);

// A reusable SHA-256 context, for one thread at a time: NULL when OpenSSL has
// no SHA-256. lc_sha256_ctx_digest hashes len bytes into out (32 bytes) and
// returns 1 on success.
EVP_MD_CTX *lc_sha256_ctx_new(void);
int lc_sha256_ctx_digest(EVP_MD_CTX *ctx, const void *data, size_t len, uint8_t *out);
void lc_sha256_ctx_free(EVP_MD_CTX *ctx);

// A reusable HMAC-SHA256 context, for one thread at a time: keyed once
// (lc_hmac_sha256_ctx_set_key, again for a new key), then any number of MACs
// with that key without keying again (lc_hmac_sha256_ctx_mac, 32 bytes into
// out). NULL / 0 on failure inside OpenSSL.
EVP_MAC_CTX *lc_hmac_sha256_ctx_new(void);
int lc_hmac_sha256_ctx_set_key(EVP_MAC_CTX *ctx, const void *key, size_t key_len);
int lc_hmac_sha256_ctx_mac(EVP_MAC_CTX *ctx, const void *data, size_t len, uint8_t *out);
void lc_hmac_sha256_ctx_free(EVP_MAC_CTX *ctx);

#endif
