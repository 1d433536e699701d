// nghttp2 (Debian's libnghttp2-dev: the HTTP/2 library libcurl itself uses) and the parts of
// OpenSSL's libssl that an HTTP/2 connection needs (TLS with ALPN "h2", peer verification),
// with non-macro wrappers where Swift cannot call the API directly.
#ifndef CNGHTTP2_H
#define CNGHTTP2_H

#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/eventfd.h>
#include <stddef.h>
#include <stdint.h>

// Client context: TLS 1.2+, peer verification against ca_file (PEM) or the system's store
// when ca_file is NULL, ALPN offering only "h2". NULL on failure.
SSL_CTX *lc_h2_client_ctx(const char *ca_file);
// Server context from PEM files; ALPN selects "h2" (or "http/1.1" only when http1_only).
SSL_CTX *lc_h2_server_ctx(const char *cert_file, const char *key_file, int http1_only);
// A client connection over fd: SNI and hostname (or IP address) verification set.
SSL *lc_h2_client_ssl(SSL_CTX *ctx, int fd, const char *host);
// Attaches fd to ssl: reads by the socket BIO, writes by send(MSG_NOSIGNAL) (no SIGPIPE). 1 on success.
int lc_h2_set_fd(SSL *ssl, int fd);
// The ALPN protocol the handshake selected, copied NUL-terminated into out (empty if none).
void lc_h2_alpn_selected(const SSL *ssl, char *out, size_t out_len);
// The verification result as text ("ok" when verified), and the last OpenSSL error as text.
const char *lc_h2_verify_result(const SSL *ssl);
void lc_h2_last_error(char *out, size_t out_len);

// Names the calling thread (15 characters at most), as top -H and /proc/<pid>/task show it.
void lc_h2_set_thread_name(const char *name);

#endif
