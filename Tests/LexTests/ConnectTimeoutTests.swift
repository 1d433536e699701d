#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Lex
import Logging
import Testing

/// A listening socket that never accepts, with its accept queue filled: a
/// further connection attempt gets no SYN-ACK, so the client's connect hangs
/// until its connect timeout (Linux drops SYNs when the accept queue is full).
final class BlackHoleListener {
    let port: UInt16
    private var fds: [Int32] = []

    init?() {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { return nil }
        fds.append(listener)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 0) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        guard ok else { return nil }
        port = UInt16(bigEndian: address.sin_port)
        // Fill the accept queue (backlog 0 holds one; take a few to be sure),
        // each connect bounded by a non-blocking attempt.
        for _ in 0..<4 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { continue }
            fds.append(fd)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
    }

    deinit {
        for fd in fds { close(fd) }
    }
}

@Suite("Lex client connect timeout")
struct ConnectTimeoutTests {
    @Test("a connect that never completes times out per attempt and is retried")
    func connectTimeout() async throws {
        let hole = try #require(BlackHoleListener())
        var configuration = LexClientConfiguration(endpoints: LexEndpoints(both: "http://127.0.0.1:\(hole.port)"))
        configuration.connectTimeout = .milliseconds(300)
        configuration.requestTimeout = .seconds(20)
        configuration.maxAttempts = 2
        configuration.retry.baseDelay = 0.001
        let logs = CapturingLogHandler.Store()
        configuration.logger = Logger(label: "lex.test") { _ in CapturingLogHandler(store: logs) }
        let client = LexClient(configuration: configuration)
        let probe = Probe()
        probe.send(client, LexClientTests.v2(.text("hi")), LexClientTests.credentials)
        let error = try #require(await probe.result(timeout: 15)?.error)
        guard case .timeout(let what) = error else {
            Issue.record("got \(error)")
            return
        }
        #expect(what.hasPrefix("connect to http://127.0.0.1:\(hole.port)"))
        #expect(error.isRetryable)
        #expect(logs.all.filter { $0.contains("lex request retry") }.count == 1)
        #expect(probe.starts.isEmpty)
    }
}
