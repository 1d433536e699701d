#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import Lex
import LexStandIn
import Testing

/// Relays TCP connections accepted on [::1] to 127.0.0.1:`target` (the stand-in listens on IPv4
/// only), one thread per connection, so a client can reach it through an IPv6 literal.
final class IPv6Relay: @unchecked Sendable {
    let port: UInt16
    private let listener: Int32

    init?(to target: UInt16) {
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_addr = in6addr_loopback
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 64) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else {
            close(fd)
            return nil
        }
        listener = fd
        port = UInt16(bigEndian: address.sin6_port)
        Thread {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { return }
                Thread { Self.relay(client, to: target) }.start()
            }
        }.start()
    }

    /// Stops accepting (the descriptor stays open: the accepting thread may still be in accept).
    func stop() { shutdown(listener, Int32(SHUT_RDWR)) }

    private static func relay(_ client: Int32, to target: UInt16) {
        defer { close(client) }
        guard let server = connectToLoopback(port: target) else { return }
        defer { close(server) }
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        var fds = [pollfd(fd: client, events: Int16(POLLIN), revents: 0), pollfd(fd: server, events: Int16(POLLIN), revents: 0)]
        while poll(&fds, 2, 30_000) > 0 {
            for (from, to) in [(0, 1), (1, 0)] where fds[from].revents != 0 {
                let n = recv(fds[from].fd, &buffer, buffer.count, 0)
                if n <= 0 { return }
                var sent = 0
                while sent < n {
                    // MSG_NOSIGNAL: a peer that has gone must not end the test process.
                    let m = buffer.withUnsafeBytes { send(fds[to].fd, $0.baseAddress! + sent, n - sent, Int32(MSG_NOSIGNAL)) }
                    if m <= 0 { return }
                    sent += m
                }
            }
        }
    }
}

/// `HTTP2Client`'s connect path: names that do not resolve, IPv6 literals, many streams to a new
/// origin at once, shutdown while a resolution runs, a client let go while callers still use
/// its streams. Each stream ends with a typed error or success, and the client (held by its
/// thread and by a resolution in flight) is released once both are done.
@Suite(.serialized) struct HTTP2ConnectPathTests {
    /// Opens a stream and returns its recorder (the stream ends on its own: no body is sent).
    private func open(_ client: HTTP2Client, _ url: String) throws -> (HTTP2Stream, StreamRecorder) {
        let recorder = StreamRecorder()
        let stream = try client.open(url: url, headers: [], queue: recorder.queue, handlers: recorder.handlers)
        return (stream, recorder)
    }

    /// Whether `error` is how a connect to `host` may fail: refused or unresolvable, or not
    /// done within the connect timeout (a resolver that does not answer).
    private func isConnectError(_ error: HTTP2Error?, host: String) -> Bool {
        switch error {
        case .connectFailed(let h, _, _)?: return h == host
        case .timeout(.connect)?: return true
        default: return false
        }
    }

    @Test func aNameThatDoesNotResolveEndsTheStreamWithConnectFailed() throws {
        var configuration = HTTP2ClientConfiguration()
        configuration.connectTimeout = 5
        weak var released: HTTP2Client?
        try {
            let client = HTTP2Client(configuration: configuration)
            released = client
            let (_, recorder) = try open(client, "http://nonexistent.invalid:1/")
            let end = recorder.waitEnd(seconds: 20)
            #expect(end != nil, "the stream ended")
            #expect(isConnectError(end ?? nil, host: "nonexistent.invalid"), "got \(String(describing: end))")
            #expect(eventually { client.statistics == HTTP2Client.Statistics() }, "the failed connection left the pool")
            client.shutdown()
        }()
        #expect(eventually(seconds: 30) { released == nil }, "the client (its thread, its resolution) let go")
    }

    @Test func manyStreamsToANameThatDoesNotResolveAllEndTyped() throws {
        var configuration = HTTP2ClientConfiguration()
        configuration.connectTimeout = 5
        let client = HTTP2Client(configuration: configuration)
        defer { client.shutdown() }
        let recorders = try (0..<250).map { _ in try open(client, "http://nonexistent.invalid:1/").1 }
        for (i, r) in recorders.enumerated() {
            let end = r.waitEnd(seconds: 20)
            #expect(isConnectError(end ?? nil, host: "nonexistent.invalid"), "stream \(i): \(String(describing: end))")
        }
        #expect(eventually { client.statistics == HTTP2Client.Statistics() })
    }

    @Test func anIPv6LiteralReachesTheServer() throws {
        let server = try HTTP2StandInServer(handler: HTTP2EchoHandler.handler)
        defer { server.stop() }
        guard let relay = IPv6Relay(to: server.port) else {
            Issue.record("no IPv6 loopback on this machine: [::1] cannot be tested")
            return
        }
        defer { relay.stop() }
        let client = HTTP2Client()
        defer { client.shutdown() }
        let (stream, recorder) = try open(client, "http://[::1]:\(relay.port)/bots/B/conversation")
        try recorder.send(stream, audioChunk(0))
        stream.finish()
        #expect(recorder.waitEnd() == .some(nil))
        #expect(recorder.received.status == 200)
        #expect(recorder.received.body == audioChunk(0))
    }

    @Test func anIPv6LiteralWithNothingListeningIsConnectFailed() throws {
        guard let relay = IPv6Relay(to: 1) else {
            Issue.record("no IPv6 loopback on this machine: [::1] cannot be tested")
            return
        }
        let port = relay.port
        relay.stop()  // nothing accepts on [::1]:port now: connect is refused
        let client = HTTP2Client()
        defer { client.shutdown() }
        let (_, recorder) = try open(client, "http://[::1]:\(port)/")
        let end = recorder.waitEnd(seconds: 20)
        guard case .connectFailed(let host, let p, _)?? = end else {
            Issue.record("got \(String(describing: end))")
            return
        }
        #expect(host == "::1" && p == Int(port))
    }

    /// 250 streams opened at once from 5 threads to an origin named `localhost` (a resolution
    /// on a thread of its own per connection; ::1 first, refused, then 127.0.0.1): every one
    /// answered, on at most 3 connections (100 streams each at most).
    @Test func manyStreamsToANewOriginAtOnce() throws {
        let server = try HTTP2StandInServer(handler: HTTP2EchoHandler.handler)
        defer { server.stop() }
        let client = HTTP2Client()
        defer { client.shutdown() }
        let opened = NSLock()
        nonisolated(unsafe) var streams: [(HTTP2Stream, StreamRecorder)] = []
        let group = DispatchGroup()
        for _ in 0..<5 {
            group.enter()
            Thread {
                defer { group.leave() }
                for _ in 0..<50 {
                    guard let s = try? self.open(client, "http://localhost:\(server.port)/") else { continue }
                    s.0.finish()
                    opened.withLock { streams.append(s) }
                }
            }.start()
        }
        #expect(group.wait(timeout: .now() + 30) == .success)
        let all = opened.withLock { streams }
        #expect(all.count == 250)
        for (i, (_, recorder)) in all.enumerated() {
            #expect(recorder.waitEnd() == .some(nil), "stream \(i)")
            #expect(recorder.received.status == 200, "stream \(i)")
        }
        // 3 when all 250 are open at once; fewer when early ones end before the last are placed.
        #expect((1...3).contains(server.connectionsAccepted), "\(server.connectionsAccepted) connections for 250 streams")
    }

    /// Shutdown while the name is being resolved: the stream ends (stopped, or failed if the
    /// resolver was quicker), and the client goes once the resolution is back.
    @Test func shutdownWhileAResolutionIsInFlight() throws {
        weak var released: HTTP2Client?
        var recorders: [StreamRecorder] = []
        for round in 0..<20 {
            try {
                let client = HTTP2Client()
                released = client
                let host = round % 2 == 0 ? "nonexistent.invalid" : "localhost"
                recorders.append(try open(client, "http://\(host):1/").1)
                client.shutdown()
                #expect(throws: HTTP2Error.clientStopped) { try client.open(url: "http://\(host):1/", headers: [], queue: .main, handlers: .init { _ in }) }
            }()
            #expect(eventually(seconds: 30) { released == nil }, "round \(round): the client let go")
        }
        for (round, r) in recorders.enumerated() {
            let end = r.waitEnd(seconds: 20)
            let typed: Bool
            switch end {
            case .some(.clientStopped?), .some(.connectFailed?): typed = true
            default: typed = false
            }
            #expect(typed, "round \(round): \(String(describing: end))")
        }
    }

    /// Callers go on sending, finishing and cancelling on their streams while the client shuts
    /// down and its last reference goes: every call returns (a typed error at most), every
    /// stream ends once, and the client is released.
    @Test func aClientLetGoRightAfterShutdownWhileCallersStillPost() throws {
        let server = try HTTP2StandInServer(handler: HTTP2EchoHandler.handler)
        defer { server.stop() }
        for round in 0..<10 {
            weak var released: HTTP2Client?
            var streams: [(HTTP2Stream, StreamRecorder)] = []
            let stop = DispatchSemaphore(value: 0)
            let callers = DispatchGroup()
            try {
                let client = HTTP2Client()
                released = client
                streams = try (0..<20).map { _ in try open(client, "http://127.0.0.1:\(server.port)/") }
                #expect(eventually { streams.allSatisfy { $0.1.received.status == 200 } }, "round \(round): answered")
                for (i, (stream, _)) in streams.enumerated() {
                    callers.enter()
                    Thread {
                        defer { callers.leave() }
                        var n = 0
                        while stop.wait(timeout: .now()) != .success {
                            _ = try? stream.send(audioChunk(n))
                            if n % 50 == 49 && i % 4 == 0 { stream.cancel() }
                            if n % 70 == 69 && i % 4 == 1 { stream.finish() }
                            n += 1
                        }
                        stream.cancel()
                    }.start()
                }
                client.shutdown()
            }()
            #expect(eventually(seconds: 30) { released == nil }, "round \(round): the client let go")
            for _ in 0..<20 { stop.signal() }
            #expect(callers.wait(timeout: .now() + 30) == .success, "round \(round): every caller returned")
            for (i, (stream, recorder)) in streams.enumerated() {
                let end = recorder.waitEnd()
                #expect(end != nil, "round \(round), stream \(i) ended")
                #expect(recorder.received.events.filter { $0 == "end" }.count == 1)
                #expect(throws: HTTP2Error.streamClosed) { try stream.send([1]) }
            }
        }
    }

    /// A port outside 1...65535 is refused as an invalid URL: getaddrinfo would take 70000 as
    /// 70000 mod 65536 (4464) and the client would connect to a port nobody named.
    @Test func aPortOutOfRangeIsAnInvalidURL() throws {
        for url in ["http://127.0.0.1:70000/", "http://127.0.0.1:65536/", "https://localhost:0/", "http://[::1]:99999/"] {
            #expect(throws: HTTP2Error.invalidURL(url)) { try HTTP2URL(url) }
        }
        #expect(try HTTP2URL("http://127.0.0.1:65535/").port == 65535)
    }
}
