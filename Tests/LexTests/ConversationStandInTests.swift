#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Lex
import LexStandIn
import Testing

/// The stand-in's StartConversation against a client made of the codec, the event signer and
/// `HTTP2Client`, over h2c (the stand-in's shared HTTP/1.1 port) and TLS. Waits are bounded.
@Suite("StartConversation stand-in", .serialized)
struct ConversationStandInTests {
    typealias SC = StartConversation

    static func standIn(tls: Bool = false, _ tweak: (inout LexStandIn.Configuration) -> Void = { _ in }) throws -> LexStandIn {
        var c = LexStandIn.Configuration(credentials: [ConversationTestClient.credentials])
        c.streaming.heartbeatIntervalSeconds = 0
        if tls {
            c.streaming.tls = .init(certificatePath: TestCertificate.shared.certificatePath,
                                    privateKeyPath: TestCertificate.shared.keyPath)
        }
        tweak(&c)
        return try LexStandIn(configuration: c)
    }

    static func client(tls: Bool = false) -> HTTP2Client {
        var c = HTTP2ClientConfiguration()
        if tls { c.caFilePath = TestCertificate.shared.certificatePath }
        return HTTP2Client(configuration: c)
    }

    /// One turn by speech: transcript, intent, text, the reply audio at `rate` ended by an empty chunk.
    func speechTurn(tls: Bool, responseContentType: String, rate: Int) throws {
        let lex = try Self.standIn(tls: tls)
        defer { lex.stop() }
        let http2 = Self.client(tls: tls)
        defer { http2.shutdown() }
        lex.conversations.enqueue(.init(transcript: "book a room", intentName: "BookRoom", slots: ["nights": "2"],
                                        message: "For how many people?", dialogActionType: "ElicitSlot",
                                        slotToElicit: "people", sessionAttributes: ["step": "1"],
                                        audio: .tone(milliseconds: 300)))
        let base = tls ? "https://localhost:\(lex.conversations.tlsPort!)" : lex.baseURL
        let call = try ConversationTestClient(client: http2, baseURL: base, sessionId: "speech-1")
        try call.configure(responseContentType: responseContentType, sessionAttributes: ["caller": "447700900000"])
        try call.speak()
        #expect(call.waitForPrompts(1))
        #expect(call.responseStatus == 200)
        #expect(call.failure == nil)
        let types = call.events.map(\.eventType)
        #expect(Array(types.prefix(3)) == ["TranscriptEvent", "IntentResultEvent", "TextResponseEvent"])
        #expect(types.dropFirst(3).allSatisfy { $0 == "AudioResponseEvent" })
        guard case .transcript(let t)? = call.events.first, case .intentResult(let intent) = call.events[1] else {
            Issue.record("no transcript/intent: \(types)")
            return
        }
        #expect(t.transcript == "book a room")
        #expect(intent.inputMode == "Speech")
        #expect(intent.sessionId == "speech-1")
        #expect(intent.sessionState?.dialogAction?.type == "ElicitSlot")
        #expect(intent.sessionState?.dialogAction?.slotToElicit == "people")
        #expect(intent.sessionState?.intent?.name == "BookRoom")
        #expect(intent.sessionState?.intent?.slots?["nights"]??.value?.interpretedValue == "2")
        #expect(intent.sessionState?.sessionAttributes == ["caller": "447700900000", "step": "1"])
        #expect(call.audio.bytes == rate * 2 * 300 / 1000)
        if case .audioResponse(let a) = call.events[3] { #expect(a.contentType == "audio/pcm; sample-rate=\(rate)") }
        try call.hangUp()
        #expect(lex.conversations.waitUntil { $0.streams.first?.endOfStream == true })
        let record = try #require(lex.conversations.streams.first)
        #expect(record.signature == .valid)
        #expect(record.scheme == (tls ? "https" : "http"))
        #expect(record.signatureFailure == nil)
        // configuration + 15 speech + 25 silence + disconnection + end of stream
        #expect(record.verifiedSignatures == 1 + 15 + 25 + 1 + 1)
        #expect(record.audioEvents == 40)
        #expect(record.largestAudioChunk == 320)
        #expect(record.disconnected)
        #expect(record.turns == ["book a room"])
        #expect(record.sent["AudioResponseEvent"] == call.events("AudioResponseEvent").count)
        #expect(call.waitForEnd())
    }

    @Test func speechTurnOverH2C() throws {
        try speechTurn(tls: false, responseContentType: "audio/pcm", rate: 16_000)
    }

    @Test func speechTurnOverTLSAt8kHz() throws {
        try speechTurn(tls: true, responseContentType: "audio/pcm; sample-rate=8000", rate: 8000)
    }

    @Test func http1AndStreamingShareThePort() throws {
        let lex = try Self.standIn()
        defer { lex.stop() }
        let http2 = Self.client()
        defer { http2.shutdown() }
        let call = try ConversationTestClient(client: http2, baseURL: lex.baseURL, sessionId: "shared")
        try call.configure()
        try call.speak()
        #expect(call.waitForPrompts(1))
        // An HTTP/1.1 request on the same port while the HTTP/2 connection is open.
        let reply = Self.http1Post(port: lex.port, path: "/events/shared", body: "{}")
        #expect(reply.hasPrefix("HTTP/1.1 200"))
        #expect(lex.conversations.streamCount == 1)
        #expect(lex.requests.map(\.path) == ["/events/shared"])
    }

    /// One HTTP/1.1 POST on a fresh connection; the reply's first 200 bytes.
    static func http1Post(port: UInt16, path: String, body: String) -> String {
        guard let fd = connectToLoopback(port: port) else { return "connect failed" }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let text = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        let request = Array(text.utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }  // no SIGPIPE if the stand-in has gone
        var buffer = [UInt8](repeating: 0, count: 200)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : ""
    }

    @Test func dtmfEntryIsATurnWithTheDigitsAsTranscript() throws {
        let lex = try Self.standIn()
        defer { lex.stop() }
        let http2 = Self.client()
        defer { http2.shutdown() }
        lex.conversations.setReply(forTranscript: "1234", .init(intentName: "CheckBalance", message: "Your balance is 3 pounds"))
        let call = try ConversationTestClient(client: http2, baseURL: lex.baseURL, sessionId: "dtmf-1")
        try call.configure()
        try call.dtmf("1234#")
        #expect(call.waitForPrompts(1))
        guard case .transcript(let t)? = call.events.first, case .intentResult(let intent) = call.events[1] else {
            Issue.record("no transcript/intent: \(call.events.map(\.eventType))")
            return
        }
        #expect(t.transcript == "1234")
        #expect(intent.inputMode == "DTMF")
        #expect(intent.sessionState?.intent?.name == "CheckBalance")
        #expect(lex.conversations.streams.first?.dtmf == "1234#")
        #expect(lex.conversations.streams.first?.count(of: "DTMFInputEvent") == 5)
    }

    @Test func voiceBeforePlaybackCompletionInterruptsTheWelcomePrompt() throws {
        let lex = try Self.standIn()
        defer { lex.stop() }
        let http2 = Self.client()
        defer { http2.shutdown() }
        let call = try ConversationTestClient(client: http2, baseURL: lex.baseURL, sessionId: "barge-1")
        try call.configure(welcome: "Welcome to the bank")
        #expect(call.waitForPrompts(1))
        #expect(call.events.first == .textResponse(.init(messages: [.init(content: "Welcome to the bank")], eventId: "RESPONSE-1")))
        try call.sendAudio(milliseconds: 60, tone: true)
        #expect(call.wait { !$0.events("PlaybackInterruptionEvent").isEmpty })
        guard case .playbackInterruption(let p)? = call.events("PlaybackInterruptionEvent").first else { return }
        #expect(p.eventReason == "VOICE_START_DETECTED")
        #expect(p.causedByEventId == "c-1")
        // The same speech goes on to a turn; its prompt, completed, is not interrupted by the next turn.
        try call.sendAudio(milliseconds: 500, tone: false)
        #expect(call.waitForPrompts(2))
        try call.send(.playbackCompletion(.init(eventId: call.nextEventId())))
        try call.speak()
        #expect(call.waitForPrompts(3))
        #expect(call.events("PlaybackInterruptionEvent").count == 1)
        #expect(lex.conversations.streams.first?.interruptions == ["VOICE_START_DETECTED"])
        #expect(lex.conversations.streams.first?.playbackCompletions == 1)
    }

    @Test func dtmfInterruptsAndAPromptMayForbidIt() throws {
        let lex = try Self.standIn()
        defer { lex.stop() }
        let http2 = Self.client()
        defer { http2.shutdown() }
        lex.conversations.enqueue(.init(message: "Please listen carefully", allowInterrupt: false), .init(message: "Next"))
        let call = try ConversationTestClient(client: http2, baseURL: lex.baseURL, sessionId: "barge-2")
        try call.configure()
        try call.speak()
        #expect(call.waitForPrompts(1))
        try call.dtmf("5#")  // the prompt does not allow interruption: no event, but a turn
        #expect(call.waitForPrompts(2))
        #expect(call.events("PlaybackInterruptionEvent").isEmpty)
        try call.dtmf("6")
        #expect(call.wait { !$0.events("PlaybackInterruptionEvent").isEmpty })
        guard case .playbackInterruption(let p)? = call.events("PlaybackInterruptionEvent").first else { return }
        #expect(p.eventReason == "DTMF_START_DETECTED")
    }

    @Test(arguments: ConversationFault.allExceptions)
    func streamFailureAtOpeningReachesTheClient(_ fault: ConversationFault) throws {
        let lex = try Self.standIn()
        defer { lex.stop() }
        let http2 = Self.client()
        defer { http2.shutdown() }
        lex.conversations.enqueueStreamFailures(fault)
        let call = try ConversationTestClient(client: http2, baseURL: lex.baseURL, sessionId: "fault")
        // The stand-in fails the stream at its opening, without waiting for the configuration:
        // by the time that is sent, the stream may be over already.
        do { try call.configure() } catch let error as HTTP2Error where error == .streamClosed {}
        #expect(call.waitForEnd())
        guard case .exception(let expected) = fault else { return }
        #expect(call.events == [.exception(expected)])
        #expect(call.end == .some(nil))
        #expect(lex.conversations.streams.first?.fault == fault)
    }

    @Test func turnFailureResetAndGoAwayReachTheClient() throws {
        let lex = try Self.standIn()
        defer { lex.stop() }
        let http2 = Self.client()
        defer { http2.shutdown() }
        lex.conversations.enqueue(.failing(.throttling), .failing(.reset(.internalError)))
        let throttled = try ConversationTestClient(client: http2, baseURL: lex.baseURL, sessionId: "t1")
        try throttled.configure()
        try throttled.speak()
        #expect(throttled.waitForEnd())
        #expect(throttled.events == [.exception(.throttling("Rate exceeded"))])

        let reset = try ConversationTestClient(client: http2, baseURL: lex.baseURL, sessionId: "t2")
        try reset.configure()
        try reset.speak()
        #expect(reset.waitForEnd())
        #expect(reset.end == .some(.streamReset(.internalError)))

        lex.conversations.enqueueStreamFailures(.goAway(.enhanceYourCalm))
        let refused = try ConversationTestClient(client: http2, baseURL: lex.baseURL, sessionId: "t3")
        #expect(refused.waitForEnd())
        guard case .goAway(let code, _)?? = refused.end else {
            Issue.record("expected GOAWAY, got \(String(describing: refused.end)); stand-in: \(lex.conversations.streams.map(\.summary)); client: \(http2.statistics)")
            return
        }
        #expect(code == .enhanceYourCalm)
    }

    @Test func slowAnswerStillAnswers() throws {
        let lex = try Self.standIn()
        defer { lex.stop() }
        let http2 = Self.client()
        defer { http2.shutdown() }
        lex.conversations.enqueue(ConversationReply(message: "Sorry for the wait").delayed(by: 300))
        let call = try ConversationTestClient(client: http2, baseURL: lex.baseURL, sessionId: "slow")
        try call.configure()
        try call.speak()
        try call.hangUp()  // the client's END_STREAM does not cut the pending answer
        #expect(call.waitForPrompts(1))
        #expect(call.waitForEnd())
        #expect(call.end == .some(nil))
    }

    @Test func badChainedSignatureEndsTheStreamWithAccessDenied() throws {
        let lex = try Self.standIn()
        defer { lex.stop() }
        let http2 = Self.client()
        defer { http2.shutdown() }
        let call = try ConversationTestClient(client: http2, baseURL: lex.baseURL, sessionId: "sig")
        try call.configure()
        try call.send(.audioInput(.init(audioChunk: [UInt8](repeating: 0, count: 320))), corrupt: true)
        #expect(call.waitForEnd())
        guard case .exception(.accessDenied(let message))? = call.events.last else {
            Issue.record("expected AccessDeniedException, got \(call.events)")
            return
        }
        #expect(message.contains("signed event 1"))
        #expect(lex.conversations.signatureFailures == 1)
        #expect(lex.conversations.verifiedSignatures == 1)
        #expect(lex.conversations.streams.first?.audioEvents == 0)
    }

    @Test func badOpeningSignatureIsRefusedWith403() throws {
        let lex = try Self.standIn()
        defer { lex.stop() }
        let http2 = Self.client()
        defer { http2.shutdown() }
        let wrong = AWSCredentials(accessKeyId: ConversationTestClient.credentials.accessKeyId, secretAccessKey: "wrong")
        let call = try ConversationTestClient(client: http2, baseURL: lex.baseURL, sessionId: "sig0", credentials: wrong)
        #expect(call.waitForEnd())
        #expect(call.responseStatus == 403)
        #expect(String(decoding: call.responseBody, as: UTF8.self).contains("signature we calculated does not match"))
        let notStreaming = try ConversationTestClient(client: http2, baseURL: lex.baseURL, sessionId: "sig1",
                                                      contentSHA256: SigV4Payload.unsignedPayloadLiteral)
        #expect(notStreaming.waitForEnd())
        #expect(notStreaming.responseStatus == 403)
        #expect(lex.conversations.streams.map(\.status) == [403, 403])
    }

    @Test func configurationMustComeFirst() throws {
        let lex = try Self.standIn()
        defer { lex.stop() }
        let http2 = Self.client()
        defer { http2.shutdown() }
        let call = try ConversationTestClient(client: http2, baseURL: lex.baseURL, sessionId: "order")
        try call.dtmf("1")
        #expect(call.waitForEnd())
        guard case .exception(.validation(let message))? = call.events.last else {
            Issue.record("expected ValidationException, got \(call.events)")
            return
        }
        #expect(message.contains("ConfigurationEvent"))
    }

    @Test func secondStreamOnTheSameSessionConflicts() throws {
        let lex = try Self.standIn()
        defer { lex.stop() }
        let http2 = Self.client()
        defer { http2.shutdown() }
        let first = try ConversationTestClient(client: http2, baseURL: lex.baseURL, sessionId: "same")
        try first.configure()
        #expect(lex.conversations.waitUntil { $0.streams.first?.configuration != nil })
        let second = try ConversationTestClient(client: http2, baseURL: lex.baseURL, sessionId: "same")
        #expect(second.waitForEnd())
        guard case .exception(.conflict)? = second.events.last else {
            Issue.record("expected ConflictException, got \(second.events)")
            return
        }
        #expect(first.end == nil)
    }

    @Test func aStreamEndedByAFaultFreesItsSessionAtOnce() throws {
        let lex = try Self.standIn()
        defer { lex.stop() }
        let http2 = Self.client()
        defer { http2.shutdown() }
        lex.conversations.enqueueStreamFailures(.throttling)
        let first = try ConversationTestClient(client: http2, baseURL: lex.baseURL, sessionId: "again")
        #expect(first.wait { !$0.events.isEmpty })  // the exception; the client has not closed its side
        let second = try ConversationTestClient(client: http2, baseURL: lex.baseURL, sessionId: "again")
        try second.configure()
        try second.speak()
        #expect(second.waitForPrompts(1))
        #expect(lex.conversations.streams.map { $0.fault } == [.throttling, nil])
    }

    @Test func heartbeatsAndMaximumLifetime() throws {
        let lex = try Self.standIn {
            $0.streaming.heartbeatIntervalSeconds = 0.05
            $0.streaming.maxStreamLifetimeSeconds = 0.5
        }
        defer { lex.stop() }
        let http2 = Self.client()
        defer { http2.shutdown() }
        let call = try ConversationTestClient(client: http2, baseURL: lex.baseURL, sessionId: "life")
        try call.configure()
        #expect(call.waitForEnd())
        #expect(call.end == .some(nil))
        #expect(!call.events("HeartbeatEvent").isEmpty)
        #expect(lex.conversations.streams.first?.lifetimeExpired == true)
    }
}
