#define _GNU_SOURCE
#include "CNghttp2.h"
#include <string.h>
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>

// Writes through send(MSG_NOSIGNAL): a peer that has gone gives EPIPE, not a SIGPIPE that
// would kill the process (OpenSSL's socket BIO uses write()). Reads use the socket BIO.
static int nosig_write(BIO *b, const char *buf, int len) {
    int fd = (int)(intptr_t)BIO_get_data(b);
    int n = (int)send(fd, buf, (size_t)len, MSG_NOSIGNAL);
    BIO_clear_retry_flags(b);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_write(b);
    return n;
}

static long nosig_ctrl(BIO *b, int cmd, long num, void *ptr) {
    (void)b; (void)num; (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int nosig_create(BIO *b) {
    BIO_set_init(b, 1);
    return 1;
}

static BIO_METHOD *method;
static pthread_once_t method_once = PTHREAD_ONCE_INIT;

static void make_method(void) {
    method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "send-nosignal");
    BIO_meth_set_write(method, nosig_write);
    BIO_meth_set_ctrl(method, nosig_ctrl);
    BIO_meth_set_create(method, nosig_create);
}

static BIO_METHOD *nosig_method(void) {
    pthread_once(&method_once, make_method);
    return method;
}

int lc_h2_set_fd(SSL *ssl, int fd) {
    BIO *rbio = BIO_new_socket(fd, BIO_NOCLOSE);
    BIO *wbio = BIO_new(nosig_method());
    if (!rbio || !wbio) {
        BIO_free(rbio);
        BIO_free(wbio);
        return 0;
    }
    BIO_set_data(wbio, (void *)(intptr_t)fd);
    SSL_set_bio(ssl, rbio, wbio);
    return 1;
}

static const unsigned char alpn_h2[] = {2, 'h', '2'};

SSL_CTX *lc_h2_client_ctx(const char *ca_file) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    int loaded = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL) : SSL_CTX_set_default_verify_paths(ctx);
    if (loaded != 1 || SSL_CTX_set_alpn_protos(ctx, alpn_h2, sizeof alpn_h2) != 0) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg) {
    (void)ssl;
    int http1_only = arg != NULL;
    for (unsigned int i = 0; i < inlen;) {
        unsigned int n = in[i];
        if (i + 1 + n > inlen) break;
        const unsigned char *p = in + i + 1;
        if ((!http1_only && n == 2 && memcmp(p, "h2", 2) == 0) || (http1_only && n == 8 && memcmp(p, "http/1.1", 8) == 0)) {
            *out = p;
            *outlen = (unsigned char)n;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + n;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

SSL_CTX *lc_h2_server_ctx(const char *cert_file, const char *key_file, int http1_only) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1
        || SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_alpn_select_cb(ctx, select_alpn, http1_only ? (void *)1 : NULL);
    return ctx;
}

SSL *lc_h2_client_ssl(SSL_CTX *ctx, int fd, const char *host) {
    SSL *ssl = SSL_new(ctx);
    if (!ssl) return NULL;
    unsigned char addr[16];
    int is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
    int ok = lc_h2_set_fd(ssl, fd) == 1;
    if (is_ip) {
        ok = ok && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1;
    } else {
        ok = ok && SSL_set_tlsext_host_name(ssl, host) == 1 && SSL_set1_host(ssl, host) == 1;
    }
    if (!ok) {
        SSL_free(ssl);
        return NULL;
    }
    SSL_set_connect_state(ssl);
    return ssl;
}

void lc_h2_alpn_selected(const SSL *ssl, char *out, size_t out_len) {
    const unsigned char *p = NULL;
    unsigned int n = 0;
    SSL_get0_alpn_selected(ssl, &p, &n);
    if (out_len == 0) return;
    if (n >= out_len) n = (unsigned int)out_len - 1;
    if (p && n) memcpy(out, p, n);
    out[p ? n : 0] = 0;
}

const char *lc_h2_verify_result(const SSL *ssl) {
    return X509_verify_cert_error_string(SSL_get_verify_result(ssl));
}

void lc_h2_last_error(char *out, size_t out_len) {
    unsigned long e = ERR_get_error();
    if (out_len == 0) return;
    if (e == 0) {
        out[0] = 0;
        return;
    }
    ERR_error_string_n(e, out, out_len);
    ERR_clear_error();
}

void lc_h2_set_thread_name(const char *name) {
    pthread_setname_np(pthread_self(), name);
}
