#if canImport(Glibc)
import Glibc
#endif
import Testing

@Suite struct PipeWritingTests {
    /// A pipe whose reader has gone: the write fails (EPIPE) and the test process goes on. With
    /// a plain write(2) the SIGPIPE would end this process, and the test run with it.
    @Test func writingIntoAPipeWithoutAReaderFailsWithoutSIGPIPE() {
        var ends: [Int32] = [-1, -1]
        #expect(pipe(&ends) == 0)
        #expect(writeToPipe(ends[1], [1, 2, 3]))
        close(ends[0])
        #expect(!writeToPipe(ends[1], [4, 5, 6]))
        #expect(errno == EPIPE)
        close(ends[1])
        // The signal was taken, not left pending for the next unblock.
        var pending = sigset_t()
        sigpending(&pending)
        #expect(sigismember(&pending, SIGPIPE) == 0)
    }
}
