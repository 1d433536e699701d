// libcurl (Debian's libcurl4-openssl-dev) with typed, non-variadic wrappers:
// Swift cannot call the variadic curl_easy_setopt / curl_easy_getinfo /
// curl_multi_setopt directly.
#ifndef CCURL_H
#define CCURL_H

#include <curl/curl.h>

CURLcode lc_easy_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode lc_easy_setopt_off(CURL *handle, CURLoption option, curl_off_t value);
CURLcode lc_easy_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode lc_easy_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode lc_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
CURLcode lc_easy_setopt_write_callback(CURL *handle, size_t (*callback)(char *, size_t, size_t, void *));
CURLcode lc_easy_setopt_header_callback(CURL *handle, size_t (*callback)(char *, size_t, size_t, void *));
CURLcode lc_easy_setopt_read_callback(CURL *handle, size_t (*callback)(char *, size_t, size_t, void *));
CURLcode lc_easy_setopt_xferinfo_callback(CURL *handle, int (*callback)(void *, curl_off_t, curl_off_t, curl_off_t, curl_off_t));

CURLcode lc_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode lc_easy_getinfo_off(CURL *handle, CURLINFO info, curl_off_t *value);
CURLcode lc_easy_getinfo_double(CURL *handle, CURLINFO info, double *value);
CURLcode lc_easy_getinfo_string(CURL *handle, CURLINFO info, char **value);
CURLcode lc_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value);

CURLMcode lc_multi_setopt_long(CURLM *handle, CURLMoption option, long value);

#endif
