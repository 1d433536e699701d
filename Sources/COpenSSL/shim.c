#include "COpenSSL.h"
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <pthread.h>

// OpenSSL 3's one-shot SHA256() and HMAC(EVP_sha256(), ...) look the algorithm up in the
// provider store on every call (a read lock and reference counting). The algorithms are
// fetched once here instead (EVP_MD_fetch / EVP_MAC_fetch, "Algorithm fetching" in
// crypto(7)) and every call uses the fetched objects, which are immutable and shared by all
// threads. hmac_template is an HMAC context with its digest set and no key: each keyed
// context is a copy of it (EVP_MAC_CTX_dup), so the digest name is not looked up again.
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha1_md;
static EVP_MD *sha256_md;
static EVP_MAC *hmac_mac;
static EVP_MAC_CTX *hmac_template;

static void fetch_algorithms(void) {
    sha1_md = EVP_MD_fetch(NULL, "SHA1", NULL);
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (hmac_mac != NULL) {
        hmac_template = EVP_MAC_CTX_new(hmac_mac);
        OSSL_PARAM params[2] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
            OSSL_PARAM_construct_end(),
        };
        if (hmac_template != NULL && EVP_MAC_CTX_set_params(hmac_template, params) != 1) {
            EVP_MAC_CTX_free(hmac_template);
            hmac_template = NULL;
        }
    }
}

static void fetch(void) {
    pthread_once(&fetch_once, fetch_algorithms);
}

void lc_sha1(const void *data, size_t len, uint8_t *out) {
    fetch();
    EVP_Digest(data, len, out, NULL, sha1_md, NULL);
}

void lc_sha256(const void *data, size_t len, uint8_t *out) {
    fetch();
    EVP_Digest(data, len, out, NULL, sha256_md, NULL);
}

int lc_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len, uint8_t *out) {
    EVP_MAC_CTX *ctx = lc_hmac_sha256_ctx_new();
    if (ctx == NULL) return 0;
    int ok = lc_hmac_sha256_ctx_set_key(ctx, key, key_len) && lc_hmac_sha256_ctx_mac(ctx, data, len, out);
    EVP_MAC_CTX_free(ctx);
    return ok;
}

int lc_const_time_equal(const void *a, const void *b, size_t len) {
    return CRYPTO_memcmp(a, b, len) == 0;
}

EVP_MD_CTX *lc_sha256_ctx_new(void) {
    fetch();
    return sha256_md == NULL ? NULL : EVP_MD_CTX_new();
}

int lc_sha256_ctx_digest(EVP_MD_CTX *ctx, const void *data, size_t len, uint8_t *out) {
    unsigned int out_len = 0;
    return EVP_DigestInit_ex2(ctx, sha256_md, NULL) == 1 && EVP_DigestUpdate(ctx, data, len) == 1
        && EVP_DigestFinal_ex(ctx, out, &out_len) == 1 && out_len == 32;
}

void lc_sha256_ctx_free(EVP_MD_CTX *ctx) {
    EVP_MD_CTX_free(ctx);
}

EVP_MAC_CTX *lc_hmac_sha256_ctx_new(void) {
    fetch();
    return hmac_template == NULL ? NULL : EVP_MAC_CTX_dup(hmac_template);
}

int lc_hmac_sha256_ctx_set_key(EVP_MAC_CTX *ctx, const void *key, size_t key_len) {
    // OpenSSL refuses a NULL key pointer even with length 0 (an empty HMAC key is legal).
    static const unsigned char empty[1] = {0};
    return EVP_MAC_init(ctx, key_len == 0 ? empty : (const unsigned char *)key, key_len, NULL) == 1;
}

int lc_hmac_sha256_ctx_mac(EVP_MAC_CTX *ctx, const void *data, size_t len, uint8_t *out) {
    size_t out_len = 0;
    // EVP_MAC_init from the "finaled" state is a documented transition (life_cycle-mac(7));
    // with a NULL key the context keeps its key and HMAC restarts from the keyed inner and
    // outer states (openssl/openssl#18100, "Avoid undefined behavior of provided macs on
    // EVP_MAC reinitialization", in 3.0). SigV4EventSignerFastPathTests checks the MACs
    // against the one-shot path.
    return EVP_MAC_init(ctx, NULL, 0, NULL) == 1 && EVP_MAC_update(ctx, data, len) == 1
        && EVP_MAC_final(ctx, out, &out_len, 32) == 1 && out_len == 32;
}

void lc_hmac_sha256_ctx_free(EVP_MAC_CTX *ctx) {
    EVP_MAC_CTX_free(ctx);
}
