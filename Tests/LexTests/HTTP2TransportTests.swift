import Foundation
@testable import Lex
@testable import LexStandIn
import Logging
import Testing

/// The HTTP/2 streaming transport against the stand-in's nghttp2 server on real loopback
/// sockets: h2c and TLS, echo both ways, multiplexing, flow control, resets, GOAWAY, timeouts.
@Suite(.serialized) struct HTTP2TransportTests {
    private func tlsServer(http1Only: Bool = false, _ handler: @escaping HTTP2StandInServer.Handler) throws -> HTTP2StandInServer {
        let cert = TestCertificate.shared
        return try HTTP2StandInServer(tls: .init(certificatePath: cert.certificatePath, privateKeyPath: cert.keyPath, http1Only: http1Only), handler: handler)
    }

    private func tlsConfiguration() -> HTTP2ClientConfiguration {
        var c = HTTP2ClientConfiguration()
        c.caFilePath = TestCertificate.shared.certificatePath
        return c
    }

    /// 1,000 chunks of 320 bytes sent as fast as the send buffer allows; the server echoes each.
    private func echoThousandChunks(url: String, configuration: HTTP2ClientConfiguration) throws {
        let client = HTTP2Client(configuration: configuration)
        defer { client.shutdown() }
        let recorder = StreamRecorder()
        let stream = try client.open(url: url, headers: [HTTPField("content-type", "application/vnd.amazon.eventstream")],
                                     queue: recorder.queue, handlers: recorder.handlers)
        var sent: [UInt8] = []
        for i in 0..<1000 {
            let chunk = audioChunk(i)
            try recorder.send(stream, chunk)
            sent += chunk
        }
        stream.finish()
        #expect(recorder.waitEnd() == .some(nil))
        let r = recorder.received
        #expect(r.status == 200)
        #expect(r.body.count == 320_000)
        #expect(r.body == sent)
        #expect(r.trailers == [HTTPField("x-echo-bytes", "320000")])
        #expect(r.events == ["response", "trailers", "end"])
    }

    @Test func echoesAThousandChunksInOrderOverH2C() throws {
        let server = try HTTP2StandInServer(handler: HTTP2EchoHandler.handler)
        defer { server.stop() }
        try echoThousandChunks(url: "http://127.0.0.1:\(server.port)/bots/B/conversation", configuration: HTTP2ClientConfiguration())
    }

    @Test func echoesAThousandChunksInOrderOverTLS() throws {
        let server = try tlsServer(HTTP2EchoHandler.handler)
        defer { server.stop() }
        try echoThousandChunks(url: "https://localhost:\(server.port)/bots/B/conversation", configuration: tlsConfiguration())
    }

    @Test func verifiesTheServerCertificate() throws {
        let server = try tlsServer(HTTP2EchoHandler.handler)
        defer { server.stop() }
        let client = HTTP2Client()  // the system store does not trust the test certificate
        defer { client.shutdown() }
        let recorder = StreamRecorder()
        _ = try client.open(url: "https://localhost:\(server.port)/", headers: [], queue: recorder.queue, handlers: recorder.handlers)
        let end = recorder.waitEnd()
        guard case .some(.some(.tlsFailed(let host, let reason))) = end else {
            Issue.record("expected a TLS failure, got \(String(describing: end))")
            return
        }
        #expect(host == "localhost")
        #expect(reason.contains("certificate"))
    }

    @Test func verifiesTheServerHostName() throws {
        let other = TestCertificate.otherHost
        let server = try HTTP2StandInServer(tls: .init(certificatePath: other.certificatePath, privateKeyPath: other.keyPath),
                                            handler: HTTP2EchoHandler.handler)
        defer { server.stop() }
        var configuration = HTTP2ClientConfiguration()
        configuration.caFilePath = other.certificatePath  // trusted, but issued for lex.example
        let client = HTTP2Client(configuration: configuration)
        defer { client.shutdown() }
        let recorder = StreamRecorder()
        _ = try client.open(url: "https://localhost:\(server.port)/", headers: [], queue: recorder.queue, handlers: recorder.handlers)
        guard case .some(.some(.tlsFailed(_, let reason))) = recorder.waitEnd() else {
            Issue.record("expected a TLS failure")
            return
        }
        #expect(reason.contains("hostname mismatch"))
    }

    @Test func multiplexesAHundredStreamsOnOneConnection() throws {
        let server = try HTTP2StandInServer(handler: HTTP2EchoHandler.handler)
        defer { server.stop() }
        let client = HTTP2Client()
        defer { client.shutdown() }
        let recorders = (0..<100).map { _ in StreamRecorder() }
        let streams = try recorders.map {
            try client.open(url: "http://127.0.0.1:\(server.port)/s", headers: [], queue: $0.queue, handlers: $0.handlers)
        }
        for round in 0..<10 {
            for (i, stream) in streams.enumerated() { try recorders[i].send(stream, audioChunk(round * 100 + i)) }
        }
        #expect(client.statistics == HTTP2Client.Statistics(connections: 1, streams: 100))
        streams.forEach { $0.finish() }
        for (i, r) in recorders.enumerated() {
            #expect(r.waitEnd() == .some(nil))
            #expect(r.received.body == (0..<10).flatMap { audioChunk($0 * 100 + i) })
        }
        #expect(server.connectionsAccepted == 1)
    }

    @Test func opensOneConnectionPerStreamWhenConfigured() throws {
        let server = try HTTP2StandInServer(handler: HTTP2EchoHandler.handler)
        defer { server.stop() }
        var configuration = HTTP2ClientConfiguration()
        configuration.maxStreamsPerConnection = 1
        let client = HTTP2Client(configuration: configuration)
        defer { client.shutdown() }
        let recorders = (0..<3).map { _ in StreamRecorder() }
        let streams = try recorders.map { try client.open(url: "http://127.0.0.1:\(server.port)/s", headers: [], queue: $0.queue, handlers: $0.handlers) }
        for (i, s) in streams.enumerated() {
            try s.send(audioChunk(i))
            s.finish()
        }
        for r in recorders { #expect(r.waitEnd() == .some(nil)) }
        #expect(server.connectionsAccepted == 3)
    }

    /// The client's handlers are stalled (their queue suspended) while the server has 10 MB to
    /// send: the server stops at the client's stream window and the client holds at most one
    /// window of unconsumed bytes. Resumed, every byte arrives in order.
    @Test func flowControlBoundsWhatASlowReaderBuffers() throws {
        let total = 10 << 20
        let payload = (0..<total).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ ($0 >> 16)) }
        let serverStream = Box<HTTP2ServerStream>()
        let server = try HTTP2StandInServer { stream in
            serverStream.set(stream)
            stream.respond(status: 200)
            stream.send(payload)
            stream.finish()
        }
        defer { server.stop() }
        var configuration = HTTP2ClientConfiguration()
        configuration.streamWindowBytes = 64 * 1024
        let client = HTTP2Client(configuration: configuration)
        defer { client.shutdown() }
        let recorder = StreamRecorder()
        recorder.queue.suspend()
        let stream = try client.open(url: "http://127.0.0.1:\(server.port)/big", headers: [], queue: recorder.queue, handlers: recorder.handlers)
        stream.finish()
        // The server has used the whole window and the client holds exactly that, no more.
        #expect(eventually { serverStream.value?.remoteWindow == 0 && stream.bufferedInboundBytes >= 64 * 1024 })
        #expect(stream.bufferedInboundBytes == 64 * 1024)
        #expect((serverStream.value?.bufferedOutboundBytes ?? 0) > total - 2 * 64 * 1024)
        recorder.queue.resume()
        #expect(recorder.waitEnd() == .some(nil))
        #expect(recorder.received.body == payload)
    }

    @Test func aResponseBeforeTheRequestEndsEndsTheStream() throws {
        let server = try HTTP2StandInServer { stream in
            stream.respond(status: 403, headers: [HTTPField("x-amzn-errortype", "AccessDeniedException")])
            stream.send(Array("{}".utf8))
            stream.finish()
        }
        defer { server.stop() }
        let client = HTTP2Client()
        defer { client.shutdown() }
        let recorder = StreamRecorder()
        let stream = try client.open(url: "http://127.0.0.1:\(server.port)/", headers: [], queue: recorder.queue, handlers: recorder.handlers)
        try stream.send(audioChunk(0))
        #expect(recorder.waitEnd() == .some(nil))
        #expect(recorder.received.status == 403)
        #expect(recorder.received.body == Array("{}".utf8))
        #expect(throws: HTTP2Error.streamClosed) { try stream.send(audioChunk(1)) }
    }

    @Test func serverResetIsATypedError() throws {
        let server = try HTTP2StandInServer { stream in
            stream.respond(status: 200)
            stream.onData = { _ in stream.reset(.enhanceYourCalm) }
        }
        defer { server.stop() }
        let client = HTTP2Client()
        defer { client.shutdown() }
        let recorder = StreamRecorder()
        let stream = try client.open(url: "http://127.0.0.1:\(server.port)/", headers: [], queue: recorder.queue, handlers: recorder.handlers)
        try stream.send(audioChunk(0))
        #expect(recorder.waitEnd() == .some(.streamReset(.enhanceYourCalm)))
        #expect(throws: HTTP2Error.streamClosed) { try stream.send(audioChunk(1)) }
    }

    @Test func goAwayIsATypedError() throws {
        let server = try HTTP2StandInServer { stream in stream.goAway(.internalError) }
        defer { server.stop() }
        let client = HTTP2Client()
        defer { client.shutdown() }
        let recorder = StreamRecorder()
        _ = try client.open(url: "http://127.0.0.1:\(server.port)/", headers: [], queue: recorder.queue, handlers: recorder.handlers)
        #expect(recorder.waitEnd() == .some(.goAway(errorCode: .internalError, lastStreamID: 0)))
        #expect(eventually { client.statistics == HTTP2Client.Statistics() })
    }

    @Test func cancelResetsTheStream() throws {
        let closed = Box<HTTP2ErrorCode>()
        let server = try HTTP2StandInServer { stream in
            stream.respond(status: 200)
            stream.onClose = { closed.set($0) }
        }
        defer { server.stop() }
        let client = HTTP2Client()
        defer { client.shutdown() }
        let recorder = StreamRecorder()
        let stream = try client.open(url: "http://127.0.0.1:\(server.port)/", headers: [], queue: recorder.queue, handlers: recorder.handlers)
        #expect(eventually { recorder.received.status == 200 })
        stream.cancel()
        #expect(recorder.waitEnd() == .some(.cancelled))
        #expect(eventually { closed.value == .cancel })
    }

    @Test func keepalivePingsHoldAnIdleStreamOpen() throws {
        let server = try HTTP2StandInServer { $0.respond(status: 200) }
        defer { server.stop() }
        var configuration = HTTP2ClientConfiguration()
        configuration.pingInterval = 0.05
        configuration.pingTimeout = 10
        let client = HTTP2Client(configuration: configuration)
        defer { client.shutdown() }
        let recorder = StreamRecorder()
        let stream = try client.open(url: "http://127.0.0.1:\(server.port)/", headers: [], queue: recorder.queue, handlers: recorder.handlers)
        #expect(eventually { server.pingsReceived >= 3 })
        #expect(recorder.received.events == ["response"])
        #expect(client.statistics == HTTP2Client.Statistics(connections: 1, streams: 1))
        stream.cancel()
        #expect(recorder.waitEnd() == .some(.cancelled))
    }

    @Test func anIdleConnectionIsReusedThenClosed() throws {
        let server = try HTTP2StandInServer(handler: HTTP2EchoHandler.handler)
        defer { server.stop() }
        var configuration = HTTP2ClientConfiguration()
        configuration.idleConnectionTimeout = 1
        let client = HTTP2Client(configuration: configuration)
        defer { client.shutdown() }
        for i in 0..<2 {
            let recorder = StreamRecorder()
            let stream = try client.open(url: "http://127.0.0.1:\(server.port)/", headers: [], queue: recorder.queue, handlers: recorder.handlers)
            try stream.send(audioChunk(i))
            stream.finish()
            #expect(recorder.waitEnd() == .some(nil))
        }
        #expect(server.connectionsAccepted == 1)
        #expect(eventually { client.statistics == HTTP2Client.Statistics() })
    }

    @Test func anUnacknowledgedPingFailsTheConnection() throws {
        var settings = HTTP2StandInServer.Settings()
        settings.acknowledgesPings = false
        let server = try HTTP2StandInServer(settings: settings) { $0.respond(status: 200) }
        defer { server.stop() }
        var configuration = HTTP2ClientConfiguration()
        configuration.pingInterval = 0.05
        configuration.pingTimeout = 0.2
        let client = HTTP2Client(configuration: configuration)
        defer { client.shutdown() }
        let recorder = StreamRecorder()
        _ = try client.open(url: "http://127.0.0.1:\(server.port)/", headers: [], queue: recorder.queue, handlers: recorder.handlers)
        #expect(recorder.waitEnd() == .some(.timeout(.pingAcknowledgement)))
        #expect(recorder.received.events == ["response", "end"])
    }

    @Test func aPeerThatNeverAnswersTimesOut() throws {
        let peer = SilentPeer()
        defer { peer.stop() }
        // Each case has one short bound and one long, so a loaded machine cannot swap them.
        var silentHTTP = HTTP2ClientConfiguration()
        silentHTTP.responseTimeout = 0.3
        silentHTTP.connectTimeout = 10
        let client = HTTP2Client(configuration: silentHTTP)
        defer { client.shutdown() }
        let h2c = StreamRecorder()
        _ = try client.open(url: "http://127.0.0.1:\(peer.port)/", headers: [], queue: h2c.queue, handlers: h2c.handlers)
        #expect(h2c.waitEnd() == .some(.timeout(.responseHeaders)))
        var silentTLS = HTTP2ClientConfiguration()
        silentTLS.responseTimeout = 10
        silentTLS.connectTimeout = 0.3
        let tlsClient = HTTP2Client(configuration: silentTLS)
        defer { tlsClient.shutdown() }
        let tls = StreamRecorder()
        _ = try tlsClient.open(url: "https://127.0.0.1:\(peer.port)/", headers: [], queue: tls.queue, handlers: tls.handlers)
        #expect(tls.waitEnd() == .some(.timeout(.connect)))
    }

    /// Bytes that are not HTTP/2 (a bad SETTINGS frame, then noise) end in a typed error.
    @Test func garbageFromThePeerIsATypedError() throws {
        var noise: [UInt8] = [0, 0, 5, 4, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5]  // SETTINGS of length 5: FRAME_SIZE_ERROR
        noise += (0..<4000).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
        let peer = SilentPeer(greeting: noise)
        defer { peer.stop() }
        let client = HTTP2Client()
        defer { client.shutdown() }
        let recorder = StreamRecorder()
        _ = try client.open(url: "http://127.0.0.1:\(peer.port)/", headers: [], queue: recorder.queue, handlers: recorder.handlers)
        guard case .some(.some(let error)) = recorder.waitEnd() else {
            Issue.record("expected an error")
            return
        }
        switch error {
        case .connectionClosed, .goAway: break
        default: Issue.record("unexpected \(error)")
        }
    }

    @Test func anHTTP1OnlyServerIsAClearError() throws {
        let http1 = try LoopbackHTTPServer { _, _ in false }
        defer { http1.stop() }
        let client = HTTP2Client(configuration: tlsConfiguration())
        defer { client.shutdown() }
        let h2c = StreamRecorder()
        _ = try client.open(url: "http://127.0.0.1:\(http1.port)/", headers: [], queue: h2c.queue, handlers: h2c.handlers)
        #expect(h2c.waitEnd() == .some(.notHTTP2(host: "127.0.0.1", peerSaid: "HTTP/1.1 400 Bad Request")))

        let tlsServer = try tlsServer(http1Only: true, HTTP2EchoHandler.handler)
        defer { tlsServer.stop() }
        let tls = StreamRecorder()
        _ = try client.open(url: "https://localhost:\(tlsServer.port)/", headers: [], queue: tls.queue, handlers: tls.handlers)
        #expect(tls.waitEnd() == .some(.noH2InALPN(host: "localhost", negotiated: nil)))
    }

    @Test func noSecretInAnyLogLine() throws {
        let signature = "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        let token = "FQoGZXIvYXdzEXAMPLETOKEN"
        let store = CapturingLogHandler.Store()
        var configuration = HTTP2ClientConfiguration()
        configuration.logger = Logger(label: "test") { _ in CapturingLogHandler(store: store) }
        let client = HTTP2Client(configuration: configuration)
        defer { client.shutdown() }
        let headers: HTTPFields = [HTTPField("authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261130/us-east-1/lex/aws4_request, " + signature),
                                   HTTPField("x-amz-security-token", token)]
        let tls = try tlsServer(HTTP2EchoHandler.handler)  // untrusted: the client's TLS fails
        defer { tls.stop() }
        let goAway = try HTTP2StandInServer { stream in stream.goAway(.internalError) }
        defer { goAway.stop() }
        for url in ["https://localhost:\(tls.port)/", "http://127.0.0.1:\(goAway.port)/", "http://127.0.0.1:1/"] {
            let recorder = StreamRecorder()
            _ = try client.open(url: url, headers: headers, queue: recorder.queue, handlers: recorder.handlers)
            #expect(recorder.waitEnd() != nil)
        }
        let lines = store.all
        #expect(!lines.isEmpty)
        #expect(!lines.contains { $0.contains(signature) || $0.contains(token) })
        #expect(headers.map(\.description) == ["authorization: <redacted>", "x-amz-security-token: <redacted>"])
    }

    @Test func splitsURLsIntoOriginAndPath() throws {
        let lex = try HTTP2URL("https://runtime-v2-lex.us-east-1.amazonaws.com/bots/B/botAliases/A/botLocales/en_US/sessions/s%3A1/conversation")
        #expect(lex.secure && lex.port == 443 && lex.authority == "runtime-v2-lex.us-east-1.amazonaws.com")
        #expect(lex.path == "/bots/B/botAliases/A/botLocales/en_US/sessions/s%3A1/conversation")
        let local = try HTTP2URL("http://127.0.0.1:8080?x=1")
        #expect(!local.secure && local.authority == "127.0.0.1:8080" && local.path == "/?x=1")
        let v6 = try HTTP2URL("http://[::1]:9000/p")
        #expect(v6.host == "::1" && v6.authority == "[::1]:9000")
        #expect(throws: HTTP2Error.invalidURL("https:///nohost")) { try HTTP2URL("https:///nohost") }
    }

    @Test func refusesBadInputWithTypedErrors() throws {
        var configuration = HTTP2ClientConfiguration()
        configuration.sendBufferLimit = 1000
        let client = HTTP2Client(configuration: configuration)
        defer { client.shutdown() }
        #expect(throws: HTTP2Error.invalidURL("ftp://x/")) {
            _ = try client.open(url: "ftp://x/", headers: [], queue: .main, handlers: HTTP2StreamHandlers(onEnd: { _ in }))
        }
        let peer = SilentPeer()
        defer { peer.stop() }
        let recorder = StreamRecorder()
        let stream = try client.open(url: "http://127.0.0.1:\(peer.port)/", headers: [], queue: recorder.queue, handlers: recorder.handlers)
        #expect(throws: HTTP2Error.sendBufferFull(limit: 1000)) { try stream.send([UInt8](repeating: 0, count: 1001)) }
        stream.finish()
        #expect(throws: HTTP2Error.streamClosed) { try stream.send([1]) }
        let refused = StreamRecorder()
        _ = try client.open(url: "http://127.0.0.1:1/", headers: [], queue: refused.queue, handlers: refused.handlers)
        guard case .some(.some(.connectFailed(_, let port, _))) = refused.waitEnd() else {
            Issue.record("expected a connect failure")
            return
        }
        #expect(port == 1)
    }
}

final class Box<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T?
    func set(_ value: T) { lock.withLock { stored = value } }
    var value: T? { lock.withLock { stored } }
}
