// System headers the Glibc module does not export: epoll (the WebSocket server's event loops,
// lexcall's and floor-server's).
#ifndef CEPOLL_H
#define CEPOLL_H
#include <sys/epoll.h>
#endif
