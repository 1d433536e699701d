import Audio
import Connector
import Foundation
import Lex
import LexStandIn
import Testing

/// Streaming calls end to end: a Vonage test client on `/conversation`, the connector, and the
/// stand-in speaking StartConversation over h2c (its shared port) or TLS (ALPN h2), checking
/// the opening signature and every chained event signature. Waits are bounded.
@Suite(.serialized) struct StreamingCallEndToEndTests {
    static let path = "/bots/ABCDEFGHIJ/botAliases/TSTALIASID/botLocales/en_US/sessions/caller-stream-1/conversation"
    static let secret = Harness.credentials.secretAccessKey.withRevealedValue { $0 }

    /// A harness whose V2 endpoint is the stand-in's TLS port (h2 by ALPN) or its shared port (h2c).
    static func connectorHarness(tls: Bool, _ standIn: (inout LexStandIn.Configuration) -> Void = { _ in }) throws -> Harness {
        let certificate = StreamingTestCertificate.shared
        return try Harness(standIn: { c in
            if tls { c.streaming.tls = .init(certificatePath: certificate.certificatePath, privateKeyPath: certificate.keyPath) }
            c.streaming.heartbeatIntervalSeconds = 1
            standIn(&c)
        }, withStandIn: { config, lex in
            guard tls, let port = lex.conversations.tlsPort else { return }
            config.lex.endpointV2 = "https://localhost:\(port)"
            config.lex.caFile = certificate.certificatePath
        })
    }

    /// `ms` of loud 440 Hz tone at `rate`: speech by the stand-in's energy rule.
    static func speech(ms: Int, rate: Int) -> [UInt8] {
        PCM.littleEndianBytes((0..<(rate / 1000 * ms)).map { Int16(8000 * sin(Double($0) * 2 * .pi * 440 / Double(rate))) })
    }

    static func frames(_ c: VonageTestClient) -> [(bytes: Int, at: Double)] { c.snapshot.frames }

    @Test(arguments: [(8000, false), (16000, false), (24000, false), (8000, true), (16000, true), (24000, true)])
    func everyTurnIsAnsweredInExactPacedFrames(rate: Int, tls: Bool) throws {
        let h = try Self.connectorHarness(tls: tls)
        defer { h.stop() }
        let lex = h.standIn.conversations
        lex.enqueue(.init(transcript: "first", audio: .tone(milliseconds: 400)),
                    .init(transcript: "second", audio: .tone(milliseconds: 600)))
        let client = try h.client(Self.path)
        client.sendStart(rate: rate, secret: Self.secret, extra: ["welcome_text": "hello"])
        #expect(client.wait { $0.texts.contains("ok") })
        let frameBytes = rate / 50 * 2
        // The welcome prompt (500 ms), then two turns of speech and silence.
        #expect(client.wait { $0.frames.count >= 25 }, "the welcome prompt plays")
        client.streamSilence(milliseconds: 200, rate: rate)
        client.stream(Self.speech(ms: 300, rate: rate) + [UInt8](repeating: 0, count: rate / 1000 * 2 * 600), rate: rate)
        #expect(client.wait { $0.frames.count >= 45 }, "the first turn's 400 ms prompt plays")
        client.streamSilence(milliseconds: 600, rate: rate)
        client.stream(Self.speech(ms: 300, rate: rate) + [UInt8](repeating: 0, count: rate / 1000 * 2 * 600), rate: rate)
        #expect(client.wait { $0.frames.count >= 75 })
        client.streamSilence(milliseconds: 800, rate: rate)
        let frames = Self.frames(client)
        #expect(frames.count == 75, "500 + 400 + 600 ms of prompts: exactly 75 frames at the call's rate")
        #expect(frames.allSatisfy { $0.bytes == frameBytes })
        // Paced: within a prompt no frame comes more than one frame early. Frame 0's own arrival
        // time jitters by the loop's wake-up and delivery (seen 0.1 ms late, which made frame i
        // look 19.97 ms after it): 5 ms of that jitter is allowed, far under a burst's 20 ms.
        for i in 1..<25 { #expect(frames[i].at - frames[0].at >= Double(i - 1) * 0.02 - 0.005, "frame \(i) of the welcome came early") }
        #expect(lex.waitUntil { $0.streams.first?.playbackCompletions == 3 }, "a completion per prompt, after its last frame")
        client.sendClose()
        #expect(lex.waitUntil { $0.streams.first?.endOfStream == true })
        let record = try #require(lex.streams.first)
        #expect(lex.streamCount == 1 && record.scheme == (tls ? "https" : "http"))
        #expect(record.signature == .valid && record.signatureFailure == nil && lex.signatureFailures == 0)
        #expect(record.verifiedSignatures == record.events.count + 1, "every event and the end of stream verified")
        #expect(record.disconnected && record.endOfStream)
        #expect(record.turns == ["first", "second"])
        #expect(record.largestAudioChunk == 320 && record.configuration?.welcomeMessages?.first?.content == "hello")
        #expect(record.configuration?.responseContentType == "audio/pcm; sample-rate=\(rate == 8000 ? 8000 : 16000)")
        #expect(record.headers.contains { $0.name == "x-amz-lex-conversation-mode" && $0.value == "AUDIO" })
        #expect(record.headers.contains { $0.name == "x-amz-security-token" })
        #expect(record.configuration?.sessionState?.sessionAttributes?["x-amz-lex:allow-interrupt:*:*"] == nil,
                "barge_in on (the default): the bot's per-prompt setting decides")
    }

    @Test func bargeInOffForbidsInterruptionAndTheAttributesGoInTheConfiguration() throws {
        let h = try Self.connectorHarness(tls: false)
        defer { h.stop() }
        let lex = h.standIn.conversations
        let client = try h.client(Self.path)
        client.sendStart(rate: 16000, secret: Self.secret, extra: [
            "barge_in": false, "session_attributes": ["tier": "gold"], "request_attributes": ["channel": "phone"],
        ])
        #expect(client.wait { $0.texts.contains("ok") })
        #expect(lex.waitUntil { $0.streams.first?.configuration != nil })
        let configuration = try #require(lex.streams.first?.configuration)
        #expect(configuration.sessionState?.sessionAttributes == ["tier": "gold", "x-amz-lex:allow-interrupt:*:*": "false"])
        #expect(configuration.requestAttributes == ["channel": "phone"] && configuration.welcomeMessages == nil)
        client.sendClose()
        #expect(lex.waitUntil { $0.streams.first?.disconnected == true })
    }

    @Test func bargeInClearsAndDTMFReachesLexAsDTMFEvents() throws {
        let h = try Self.connectorHarness(tls: false)
        defer { h.stop() }
        let lex = h.standIn.conversations
        lex.enqueue(.init(transcript: "long", audio: .tone(milliseconds: 3000)))
        lex.setDefaultReply(.init(audio: .none))  // the speech that interrupts is a turn of its own: answered silently
        lex.setReply(forTranscript: "12", .init(transcript: "12", intentName: "Digits", audio: .tone(milliseconds: 200)))
        let client = try h.client(Self.path)
        client.sendStart(rate: 16000, secret: Self.secret)
        #expect(client.wait { $0.texts.contains("ok") })
        client.stream(Self.speech(ms: 300, rate: 16000) + [UInt8](repeating: 0, count: 32 * 600), rate: 16000)
        #expect(client.wait { $0.frames.count >= 10 }, "the long prompt plays")
        client.stream(Self.speech(ms: 200, rate: 16000), rate: 16000)
        #expect(client.wait { $0.texts.contains(#"{"action":"clear"}"#) }, "Lex interrupted the prompt: Vonage is told to clear")
        let afterClear = client.snapshot.frames.count
        client.streamSilence(milliseconds: 600, rate: 16000)
        #expect(client.snapshot.frames.count <= afterClear + 1, "no more of the long prompt")
        #expect(afterClear < 150)
        #expect(lex.waitUntil { $0.streams.first?.interruptions == ["VOICE_START_DETECTED"] })
        for d in ["1", "2", "#"] { client.sendDTMF(d) }
        #expect(lex.waitUntil { $0.streams.first?.dtmf == "12#" }, "each key a DTMFInputEvent")
        client.sendClose()
        #expect(lex.waitUntil { $0.streams.first?.disconnected == true })
        #expect(lex.signatureFailures == 0)
    }

    @Test func aSecondStreamingCallOnTheSameSessionIsRefused409() throws {
        let h = try Self.connectorHarness(tls: false)
        defer { h.stop() }
        let first = try h.client(Self.path)
        first.sendStart(rate: 8000, secret: Self.secret)
        #expect(first.wait { $0.texts.contains("ok") })
        let second = try h.client(Self.path)
        #expect(second.httpStatus == 409)
        let other = try h.client(Self.path.replacingOccurrences(of: "caller-stream-1", with: "caller-stream-2"))
        #expect(other.httpStatus == 101, "another session id is fine")
        first.sendClose()
        #expect(first.wait { $0.eof || $0.closeCode != nil })
        var third: VonageTestClient?
        for _ in 0..<100 {
            let c = try h.client(Self.path)
            if c.httpStatus == 101 { third = c; break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(third != nil, "the session is free once the first call ended")
    }

    @Test func aThrottledStreamIsReopenedOnTheSameSession() throws {
        let h = try Self.connectorHarness(tls: false)
        defer { h.stop() }
        let lex = h.standIn.conversations
        lex.enqueueStreamFailures(.throttling)
        lex.enqueue(.init(transcript: "after", audio: .tone(milliseconds: 200)))
        let client = try h.client(Self.path)
        client.sendStart(rate: 8000, secret: Self.secret, extra: ["webhook_url": h.webhookURL])
        #expect(client.wait { $0.texts.contains("ok") })
        #expect(lex.waitUntil { $0.streamCount == 2 }, "reopened once")
        client.stream(Self.speech(ms: 300, rate: 8000) + [UInt8](repeating: 0, count: 16 * 600), rate: 8000)
        let answered = client.wait { $0.frames.count >= 10 }
        let diagnostics = answered ? "" : "; streams: " + lex.streams.map { "\($0.sequence) status \($0.status) fault \(String(describing: $0.fault)) turns \($0.turns) audio events \($0.audioEvents)" }.joined(separator: ", ")
            + "; log: " + h.logs.all.filter { $0.contains("lex stream") || $0.contains("closing") }.joined(separator: " | ")
        #expect(answered, "the reopened stream answers\(diagnostics)")
        #expect(lex.streams.map(\.sessionId) == ["caller-stream-1", "caller-stream-1"])
        client.sendClose()
        #expect(lex.waitUntil { $0.streams.last?.disconnected == true })
        let metrics = String(decoding: h.connector.metrics.exposition(), as: UTF8.self)
        #expect(metrics.contains("lexconnector_stream_reopens_total 1"))
        #expect(metrics.contains(#"lexconnector_stream_errors_total{type="ThrottlingException"} 1"#))
        #expect(metrics.contains(#"lexconnector_stream_events_total{direction="out",type="ConfigurationEvent"} 2"#))
        #expect(metrics.contains(#"lexconnector_stream_events_total{direction="in",type="AudioResponseEvent"}"#))
        #expect(metrics.contains("lexconnector_prompt_to_first_frame_seconds_count"))
    }

    @Test func aFaultThatRepeatsCloses1011() throws {
        let h = try Self.connectorHarness(tls: false)
        defer { h.stop() }
        h.standIn.conversations.enqueueStreamFailures(.accessDenied)
        let client = try h.client(Self.path)
        client.sendStart(rate: 16000, secret: Self.secret)
        #expect(client.wait { $0.closeCode != nil })
        #expect(client.snapshot.closeCode == 1011)
        #expect(client.snapshot.texts.contains { $0.contains("AccessDeniedException") })
    }
}

/// A self-signed certificate for `localhost`, made at test time with the openssl CLI.
struct StreamingTestCertificate {
    let directory: String
    var certificatePath: String { directory + "/cert.pem" }
    var keyPath: String { directory + "/key.pem" }

    static let shared: StreamingTestCertificate = {
        let dir = NSTemporaryDirectory() + "lexconnector-stream-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                       "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem", "-days", "1", "-subj", "/CN=localhost",
                       "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]
        p.standardError = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        try? p.run()
        p.waitUntilExit()
        return StreamingTestCertificate(directory: dir)
    }()
}
