#if canImport(Glibc)
import Glibc
#endif

/// Writes all of `bytes` into the pipe `fd` (a child process's standard input) with SIGPIPE
/// blocked on the calling thread: when the reader has gone (the child exited), the write fails
/// with EPIPE and this returns false, instead of raising SIGPIPE, whose default action (kept by
/// the test process) would end the whole test run without a word. A pipe has no MSG_NOSIGNAL.
func writeToPipe(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var pipeSignal = sigset_t()
    var previous = sigset_t()
    sigemptyset(&pipeSignal)
    sigaddset(&pipeSignal, SIGPIPE)
    pthread_sigmask(SIG_BLOCK, &pipeSignal, &previous)
    defer {
        // A failed write left SIGPIPE pending on this thread: take it before unblocking.
        var pending = sigset_t()
        sigpending(&pending)
        if sigismember(&pending, SIGPIPE) == 1 {
            var now = timespec()
            _ = sigtimedwait(&pipeSignal, nil, &now)
        }
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    }
    var offset = 0
    while offset < bytes.count {
        let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return false }
        offset += n
    }
    return true
}
