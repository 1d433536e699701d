import Dispatch
import Foundation
import Logging
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import WebSocketServer
import WebSocketTestClient

struct CloseEvent: Sendable, Equatable {
    var code: UInt16
    var reason: String
    var byPeer: Bool
}

/// Collects what handlers saw, and lets a test block (with a timeout) until it happened.
final class Recorder: Sendable {
    private let state = Mutex<(opened: Int, closes: [CloseEvent])>((0, []))
    private let openSignal = DispatchSemaphore(value: 0)
    private let closeSignal = DispatchSemaphore(value: 0)

    func opened() {
        state.withLock { $0.opened += 1 }
        openSignal.signal()
    }

    func closed(_ e: CloseEvent) {
        state.withLock { $0.closes.append(e) }
        closeSignal.signal()
    }

    var closes: [CloseEvent] { state.withLock { $0.closes } }

    /// Waits for the next close; nil after `timeout` seconds.
    func waitForClose(timeout: Double = 5) -> CloseEvent? {
        guard closeSignal.wait(timeout: .now() + timeout) == .success else { return nil }
        return state.withLock { $0.closes.first }
    }

    func waitForOpen(timeout: Double = 5) -> Bool { openSignal.wait(timeout: .now() + timeout) == .success }
}

/// Echoes every message and records the close.
final class EchoHandler: WebSocketHandler, @unchecked Sendable {
    let recorder: Recorder
    init(_ recorder: Recorder) { self.recorder = recorder }
    func webSocketDidOpen(_ connection: WebSocketConnection) { recorder.opened() }
    func webSocket(_ connection: WebSocketConnection, didReceiveText text: String) {
        if text == "ping me" { connection.sendPing(Array("server ping".utf8)); return }
        if text == "close me" { connection.close(code: WebSocketCloseCode(4000), reason: "as asked"); return }
        connection.sendText(text)
    }
    func webSocket(_ connection: WebSocketConnection, didReceiveBinary data: [UInt8]) { connection.sendBinary(data) }
    func webSocketDidClose(_ connection: WebSocketConnection, code: WebSocketCloseCode, reason: String, byPeer: Bool) {
        recorder.closed(CloseEvent(code: code.rawValue, reason: reason, byPeer: byPeer))
    }
}

/// Sends far more than the output queue may hold, as soon as the socket opens.
final class FloodHandler: WebSocketHandler, @unchecked Sendable {
    let recorder: Recorder
    private(set) var sent = 0
    init(_ recorder: Recorder) { self.recorder = recorder }
    func webSocketDidOpen(_ connection: WebSocketConnection) {
        recorder.opened()
        let chunk = [UInt8](repeating: 0x5A, count: 64 * 1024)
        // 64 MiB at most; the cap must cut this short long before.
        for _ in 0..<1024 where connection.isWebSocketOpen {
            connection.sendBinary(chunk)
            sent += chunk.count
        }
    }
    func webSocket(_ connection: WebSocketConnection, didReceiveText text: String) {}
    func webSocket(_ connection: WebSocketConnection, didReceiveBinary data: [UInt8]) {}
    func webSocketDidClose(_ connection: WebSocketConnection, code: WebSocketCloseCode, reason: String, byPeer: Bool) {
        recorder.closed(CloseEvent(code: code.rawValue, reason: reason, byPeer: byPeer))
    }
}

/// Keeps sending small messages from a timer on the connection's loop until the connection ends.
final class StreamHandler: WebSocketHandler, @unchecked Sendable {
    let recorder: Recorder
    private var timer: DispatchSourceTimer?
    init(_ recorder: Recorder) { self.recorder = recorder }
    func webSocketDidOpen(_ connection: WebSocketConnection) {
        recorder.opened()
        let t = DispatchSource.makeTimerSource(queue: connection.eventLoop.queue)
        t.schedule(deadline: .now(), repeating: .milliseconds(2))
        let payload = [UInt8](repeating: 1, count: 1024)
        t.setEventHandler { [weak connection] in connection?.sendBinary(payload) }
        t.resume()
        timer = t
    }
    func webSocket(_ connection: WebSocketConnection, didReceiveText text: String) {}
    func webSocket(_ connection: WebSocketConnection, didReceiveBinary data: [UInt8]) {}
    func webSocketDidClose(_ connection: WebSocketConnection, code: WebSocketCloseCode, reason: String, byPeer: Bool) {
        timer?.cancel()
        timer = nil
        recorder.closed(CloseEvent(code: code.rawValue, reason: reason, byPeer: byPeer))
    }
}

/// Routes `/refuse` to a 404, `/flood` and `/stream` to their handlers, everything else to echo;
/// answers the plain path `/custom`.
final class TestRoutes: WebSocketServerDelegate {
    let recorder = Recorder()
    func route(upgrade request: HTTPRequest, connection: WebSocketConnection) -> WebSocketRoute {
        switch request.path {
        case "/refuse": return .respond(.text(.notFound, "no such room\n"))
        case "/flood": return .upgrade(FloodHandler(recorder))
        case "/stream": return .upgrade(StreamHandler(recorder))
        default: return .upgrade(EchoHandler(recorder))
        }
    }
    func respond(to request: HTTPRequest, connection: WebSocketConnection) -> HTTPResponse? {
        request.path == "/custom" ? .text(.ok, "custom") : nil
    }
}

/// Starts a server on an ephemeral loopback port, runs `body`, then stops it.
func withServer(host: String = "127.0.0.1", _ configure: (inout WebSocketServerConfiguration) -> Void = { _ in },
                _ body: (WebSocketServer, TestRoutes) throws -> Void) throws {
    var config = WebSocketServerConfiguration()
    config.host = host
    config.port = 0
    config.eventLoopCount = 2
    config.closeTimeout = .seconds(1)
    configure(&config)
    let routes = TestRoutes()
    var logger = Logger(label: "test.ws")
    logger.logLevel = .critical
    let server = WebSocketServer(configuration: config, delegate: routes, logger: logger)
    try server.start()
    #expect(server.port > 0)
    defer {
        let done = DispatchSemaphore(value: 0)
        server.stop(drainTimeout: .zero) { done.signal() }
        _ = done.wait(timeout: .now() + 10)
    }
    try body(server, routes)
}

func closeCode(_ frame: WebSocketFrame) -> UInt16? {
    guard frame.opcode == .close, frame.payload.count >= 2 else { return nil }
    return UInt16(frame.payload[0]) << 8 | UInt16(frame.payload[1])
}

@Suite("Server over loopback", .serialized)
struct IntegrationTests {
    @Test func upgradeThenEchoThenPeerClose() throws {
        try withServer { server, routes in
            let c = try TestClient(port: server.port)
            let r = try c.upgrade(path: "/echo")
            #expect(r.status == 101)
            #expect(r.headers["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
            #expect(r.headers["upgrade"]?.lowercased() == "websocket")
            #expect(routes.recorder.waitForOpen())

            c.sendFrame(.text, Array("hello ✓".utf8))
            #expect(try c.readFrame() == WebSocketFrame(opcode: .text, payload: Array("hello ✓".utf8)))
            let big = (0..<70_000).map { UInt8(truncatingIfNeeded: $0) }
            c.sendFrame(.binary, big)
            #expect(try c.readFrame() == WebSocketFrame(opcode: .binary, payload: big))
            c.sendFrame(.text, Array("frag".utf8), fin: false)
            c.sendFrame(.continuation, Array("mented".utf8))
            #expect(try c.readFrame() == WebSocketFrame(opcode: .text, payload: Array("fragmented".utf8)))

            // Close handshake started by the peer: our 1000 comes back, then EOF.
            c.sendFrame(.close, [0x03, 0xE8] + Array("bye".utf8))
            let close = try c.readFrame()
            #expect(closeCode(close) == 1000)
            #expect(try c.atEOF())
            #expect(routes.recorder.waitForClose() == CloseEvent(code: 1000, reason: "bye", byPeer: true))
        }
    }

    @Test func framesInTheSamePacketAsTheUpgradeAreProcessed() throws {
        try withServer { server, _ in
            let c = try TestClient(port: server.port)
            let frame = FrameEncoder.frame(.text, Array("early".utf8), maskKey: (1, 2, 3, 4))
            let r = try c.upgrade(trailing: frame)
            #expect(r.status == 101)
            #expect(try c.readFrame() == WebSocketFrame(opcode: .text, payload: Array("early".utf8)))
        }
    }

    @Test func pingAndPongOnTheWire() throws {
        try withServer { server, _ in
            let c = try TestClient(port: server.port)
            #expect(try c.upgrade().status == 101)
            c.sendFrame(.ping, Array("are you there".utf8))
            #expect(try c.readFrame() == WebSocketFrame(opcode: .pong, payload: Array("are you there".utf8)))
            // A server ping, answered by our pong (which the server takes silently), then echo still works.
            c.sendFrame(.text, Array("ping me".utf8))
            #expect(try c.readFrame() == WebSocketFrame(opcode: .ping, payload: Array("server ping".utf8)))
            c.sendFrame(.pong, Array("server ping".utf8))
            c.sendFrame(.text, Array("still here".utf8))
            #expect(try c.readFrame() == WebSocketFrame(opcode: .text, payload: Array("still here".utf8)))
        }
    }

    @Test func serverInitiatedCloseCompletesWithThePeersClose() throws {
        try withServer { server, routes in
            let c = try TestClient(port: server.port)
            #expect(try c.upgrade().status == 101)
            c.sendFrame(.text, Array("close me".utf8))
            let close = try c.readFrame()
            #expect(closeCode(close) == 4000)
            #expect(close.payload.dropFirst(2).elementsEqual("as asked".utf8))
            // Data sent before our close reply is discarded; then the handshake completes.
            c.sendFrame(.text, Array("late".utf8))
            c.sendFrame(.close, [0x0F, 0xA0])
            #expect(try c.atEOF())
            #expect(routes.recorder.waitForClose() == CloseEvent(code: 4000, reason: "as asked", byPeer: false))
        }
    }

    @Test func plainRoutes() throws {
        try withServer { server, _ in
            let ping = try TestClient(port: server.port).get("/ping")
            #expect(ping.status == 200)
            #expect(ping.text == "ok")
            #expect(ping.headers["content-type"]?.hasPrefix("text/plain") == true)

            let health = try TestClient(port: server.port).get("/health")
            #expect(health.status == 200)
            #expect(health.headers["content-type"] == "application/json")
            #expect(health.text.contains("\"status\":\"ok\""))
            let json = try JSONSerialization.jsonObject(with: Data(health.body)) as? [String: Any]
            #expect(json?["status"] as? String == "ok")

            let head = try TestClient(port: server.port).get("/ping", method: "HEAD")
            #expect(head.status == 200 && head.headers["content-length"] == "2")

            #expect(try TestClient(port: server.port).get("/custom").text == "custom")
            #expect(try TestClient(port: server.port).get("/nowhere").status == 404)
            #expect(try TestClient(port: server.port).get("/", method: "GET").status == 404)
            let post = try TestClient(port: server.port).get("/ping", method: "POST")
            #expect(post.status == 405)
            #expect(post.headers["allow"] != nil)
        }
    }

    @Test func plainResponsesCloseTheConnection() throws {
        try withServer { server, _ in
            let c = try TestClient(port: server.port)
            #expect(try c.get("/ping").headers["connection"] == "close")
            #expect(try c.atEOF())
        }
    }

    @Test func badRequestsGetTheirStatusOnTheWire() throws {
        try withServer { server, _ in
            let c1 = try TestClient(port: server.port)
            c1.send("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n")
            #expect(try c1.readResponse().status == 400)
            #expect(try c1.atEOF())

            let c2 = try TestClient(port: server.port)
            c2.send("GET / HTTP/1.1\r\nX: " + String(repeating: "v", count: 17_000) + "\r\n\r\n")
            #expect(try c2.readResponse().status == 431)

            let c3 = try TestClient(port: server.port)
            c3.send("GET /" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\n\r\n")
            #expect(try c3.readResponse().status == 414)

            let c4 = try TestClient(port: server.port)
            c4.send("GET / HTTP/2.0\r\n\r\n")
            #expect(try c4.readResponse().status == 505)

            let c5 = try TestClient(port: server.port)
            c5.send("POST /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
            #expect(try c5.readResponse().status == 413)
        }
    }

    @Test func upgradeRefusals() throws {
        try withServer { server, _ in
            let v = try TestClient(port: server.port).upgrade(version: "8")
            #expect(v.status == 426)
            #expect(v.headers["sec-websocket-version"] == "13")

            #expect(try TestClient(port: server.port).upgrade(key: "short").status == 400)
            #expect(try TestClient(port: server.port).upgrade(path: "/refuse").status == 404)

            let post = try TestClient(port: server.port)
            post.send("POST / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            #expect(try post.readResponse().status == 405)
        }
    }

    @Test func unmaskedFrameGetsClose1002ThenEOF() throws {
        try withServer { server, routes in
            let c = try TestClient(port: server.port)
            #expect(try c.upgrade().status == 101)
            c.send(FrameEncoder.frame(.text, Array("unmasked".utf8)))
            let close = try c.readFrame()
            #expect(closeCode(close) == 1002)
            #expect(try c.atEOF())
            #expect(routes.recorder.waitForClose()?.code == 1002)
            #expect(server.counterSnapshot.violations[.protocolViolation(.protocolError)] == 1)
        }
    }

    @Test func invalidUTF8GetsClose1007() throws {
        try withServer { server, _ in
            let c = try TestClient(port: server.port)
            #expect(try c.upgrade().status == 101)
            c.sendFrame(.text, [0x61, 0xFF])
            #expect(closeCode(try c.readFrame()) == 1007)
            #expect(try c.atEOF())
        }
    }

    @Test func oversizedMessageGetsClose1009() throws {
        try withServer({ $0.maxMessageBytes = 1000 }) { server, _ in
            let c = try TestClient(port: server.port)
            #expect(try c.upgrade().status == 101)
            // Only the header of a 1 GiB frame.
            c.send([0x82, 0xFF, 0, 0, 0, 0, 0x40, 0, 0, 0, 1, 2, 3, 4])
            #expect(closeCode(try c.readFrame()) == 1009)
            #expect(try c.atEOF())
        }
    }

    @Test func handshakeTimeoutIs408ThenEOF() throws {
        try withServer({ $0.handshakeTimeout = .milliseconds(300) }) { server, _ in
            let c = try TestClient(port: server.port)
            c.send("GET / HTTP/1.1\r\nHost: slow")  // never finished
            let r = try c.readResponse()
            #expect(r.status == 408)
            #expect(try c.atEOF())
            // A silent client is cut off too.
            let silent = try TestClient(port: server.port)
            #expect(try silent.readResponse().status == 408)
            #expect(server.counterSnapshot.violations[.handshakeTimeout] == 2)
        }
    }

    @Test func fullServerAnswers503() throws {
        try withServer({ $0.maxWebSocketConnections = 1 }) { server, routes in
            let first = try TestClient(port: server.port)
            #expect(try first.upgrade().status == 101)
            #expect(routes.recorder.waitForOpen())
            let second = try TestClient(port: server.port).upgrade()
            #expect(second.status == 503)
            #expect(second.headers["retry-after"] != nil)
            // Plain routes still answer.
            #expect(try TestClient(port: server.port).get("/ping").status == 200)
            // Once the first closes, a new upgrade is accepted.
            first.sendFrame(.close, [0x03, 0xE8])
            _ = try first.readFrame()
            #expect(try first.atEOF())
            #expect(routes.recorder.waitForClose() != nil)
            first.close()
            var status = 0
            // The server counts the socket down on its loop once it reads our FIN; until then
            // the slot is taken, so retry (a bounded number of times) while it answers 503.
            for _ in 0..<50 {
                status = try TestClient(port: server.port).upgrade().status
                if status == 101 { break }
            }
            #expect(status == 101)
        }
    }

    @Test func outputQueueCapClosesTheSocket() throws {
        try withServer({ $0.maxOutputQueueBytes = 256 * 1024 }) { server, routes in
            let c = try TestClient(port: server.port, receiveBufferBytes: 4096)
            #expect(try c.upgrade(path: "/flood").status == 101)
            // We do not read; the handler's sends pile up and the server cuts us off.
            let close = try #require(routes.recorder.waitForClose())
            #expect(close.code == 1006)
            #expect(close.reason == "output queue overflow")
            #expect(server.counterSnapshot.violations[.outputQueueOverflow] == 1)
            // The socket is closed: reading drains what the kernel held, then EOF, well
            // short of the 64 MiB the handler tried to send.
            let received = try c.readUntilEOF()
            #expect(received < 16 << 20)
        }
    }

    @Test func peerVanishingWhileTheServerWritesIsAClose() throws {
        try withServer { server, routes in
            let c = try TestClient(port: server.port)
            #expect(try c.upgrade(path: "/stream").status == 101)
            #expect(routes.recorder.waitForOpen())
            _ = try c.readFrame()
            c.close()  // the server keeps writing into a closed socket: EPIPE, never SIGPIPE
            let close = try #require(routes.recorder.waitForClose())
            #expect(close.code == 1006)
            #expect(try TestClient(port: server.port).get("/ping").status == 200)
        }
    }

    @Test func peerClosingWithEchoesInFlightDoesNotRaiseSIGPIPE() throws {
        // Three messages in one packet, then close(): the first echo makes the client's kernel
        // answer with a reset, so the next echo's write fails with EPIPE. With a plain write()
        // that raised SIGPIPE and killed the process. The test runner may inherit SIGPIPE as
        // ignored, which would hide that, so restore the default action for this test.
        let previous = signal(SIGPIPE, SIG_DFL)
        defer { signal(SIGPIPE, previous) }
        try withServer { server, routes in
            for round in 0..<5 {
                let c = try TestClient(port: server.port)
                #expect(try c.upgrade().status == 101)
                var wire: [UInt8] = []
                for _ in 0..<3 { wire += FrameEncoder.frame(.binary, [UInt8](repeating: 7, count: 1000), maskKey: (9, 8, 7, 6)) }
                c.send(wire)
                c.close()
                #expect(routes.recorder.waitForClose() != nil, "round \(round)")
            }
            #expect(try TestClient(port: server.port).get("/ping").status == 200)
        }
    }

    @Test func stopDrainsThenClosesWith1001() throws {
        var config = WebSocketServerConfiguration()
        config.host = "127.0.0.1"
        config.port = 0
        config.eventLoopCount = 1
        config.closeTimeout = .seconds(1)
        let routes = TestRoutes()
        defer { withExtendedLifetime(routes) {} }  // the server holds its delegate weakly
        var logger = Logger(label: "test.ws")
        logger.logLevel = .critical
        let server = WebSocketServer(configuration: config, delegate: routes, logger: logger)
        try server.start()

        // A plain HTTP client connects and sends all but the end of its head...
        let plain = try TestClient(port: server.port)
        plain.send("GET /health HTTP/1.1\r\nHost: x\r\n")
        // ...before a WebSocket client: once that one has its 101, the first was accepted too.
        let ws = try TestClient(port: server.port)
        #expect(try ws.upgrade().status == 101)
        #expect(routes.recorder.waitForOpen())

        let stopped = DispatchSemaphore(value: 0)
        server.stop(drainTimeout: .seconds(1)) { stopped.signal() }
        #expect(server.isDraining)

        // While draining, /health says so with a 503.
        plain.send("\r\n")
        let health = try plain.readResponse()
        #expect(health.status == 503)
        #expect(health.text.contains("\"status\":\"draining\""))
        #expect(health.text.contains("\"websockets\":1"))

        // The open WebSocket still works during the drain...
        ws.sendFrame(.text, Array("during drain".utf8))
        #expect(try ws.readFrame() == WebSocketFrame(opcode: .text, payload: Array("during drain".utf8)))
        #expect(stopped.wait(timeout: .now()) == .timedOut)
        // ...then gets 1001 when the drain time is over.
        let close = try ws.readFrame()
        #expect(closeCode(close) == 1001)
        ws.sendFrame(.close, [0x03, 0xE9])
        #expect(try ws.atEOF())
        #expect(stopped.wait(timeout: .now() + 5) == .success)
        #expect(routes.recorder.closes.first?.code == 1001)
        #expect(server.openSockets == 0)
        // New connections are refused.
        #expect(throws: TestClientError.self) { _ = try TestClient(port: server.port) }
    }

    @Test func ipv6Loopback() throws {
        // Skip quietly where the host has no IPv6 loopback.
        let probe = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        var a = sockaddr_in6()
        a.sin6_family = sa_family_t(AF_INET6)
        a.sin6_addr = in6addr_loopback
        let bound = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(probe, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } } == 0
        Glibc.close(probe)
        guard bound else { return }

        try withServer(host: "::1") { server, _ in
            #expect(server.addresses == ["[::1]:\(server.port)"])
            let c = try TestClient(host: "::1", port: server.port)
            #expect(try c.upgrade().status == 101)
            c.sendFrame(.binary, [1, 2, 3])
            #expect(try c.readFrame() == WebSocketFrame(opcode: .binary, payload: [1, 2, 3]))
            #expect(try TestClient(host: "::1", port: server.port).get("/ping").text == "ok")
        }
    }
}
