// System headers the Glibc module does not export: epoll (lexcall's and floor-server's
// event loops).
#ifndef CLEXCALLSYS_H
#define CLEXCALLSYS_H
#include <sys/epoll.h>
#endif
