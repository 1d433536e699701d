import Audio
import Foundation
import Lex
import Testing
@testable import Connector

/// Streaming calls (`/conversation`) as transcripts of `CallStateMachine` in virtual time: the
/// caller's audio and DTMF out as stream actions, Lex's events in as `LexStreamInput`s.
@Suite struct StreamingCallTranscriptTests {
    static let route = CallRoute.v2Conversation(botId: "ABCDEFGHIJ", aliasId: "TSTALIASID", localeId: "en_US", sessionId: "caller-1")

    static func call(rate: Int = 16000, prompt: FallbackPrompt? = nil, configure: (inout LexmoConfiguration) -> Void = { _ in }) -> CallTranscript {
        CallTranscript(rate: rate, prompt: prompt, route: route, configure: configure)
    }

    /// `ms` of tone at `rate` (Lex's prompt audio).
    static func tone(ms: Int, rate: Int = 16000) -> [UInt8] {
        PCM.littleEndianBytes((0..<(rate / 1000 * ms)).map { Int16(8000 * sin(Double($0) * 2 * .pi * 440 / Double(rate))) })
    }

    static func intent(_ name: String, dialogAction: String = "ElicitSlot", attributes: [String: String]? = nil) -> StartConversation.IntentResultEvent {
        StartConversation.IntentResultEvent(
            inputMode: "Speech",
            sessionState: StartConversation.SessionState(
                dialogAction: StartConversation.DialogAction(type: dialogAction),
                intent: StartConversation.Intent(name: name, slots: ["Size": StartConversation.Slot(value: .init(interpretedValue: "large"))]),
                sessionAttributes: attributes))
    }

    @Test func theRouteMakesAStreamingCall() throws {
        let path = "/bots/ABCDEFGHIJ/botAliases/TSTALIASID/botLocales/en_US/sessions/caller-1/conversation"
        let route = try CallRoute.parse(path: path).get()
        #expect(route == Self.route)
        #expect(route.isStreaming && route.api == .v2 && route.sessionId == "caller-1")
        #expect(route.target == .v2(botId: "ABCDEFGHIJ", aliasId: "TSTALIASID", localeId: "en_US", sessionId: "caller-1"))
        #expect(try !CallRoute.parse(path: path.replacingOccurrences(of: "conversation", with: "utterance")).get().isStreaming)
        #expect(throws: RouteError.self) { try CallRoute.parse(path: path.replacingOccurrences(of: "ABCDEFGHIJ", with: "ABC")).get() }
    }

    @Test func startsWithoutATurnAndStreamsEachFrameAt8kHz() {
        var call = Self.call(rate: 8000)
        #expect(call.start(["welcome_text": "hi"]) == ["started", "text ok", "event call_started"],
                "the welcome text goes in the stream's configuration, not as a turn")
        let lines = call.run(ms: 1000, silence: true)
        #expect(lines == Array(repeating: "stream audio 320", count: 50), "one 20 ms AudioInputEvent per 8 kHz frame")
    }

    @Test(arguments: [16000, 24000])
    func widebandCallsAreDownsampledTo8kHzIn320ByteChunks(rate: Int) {
        var call = Self.call(rate: rate)
        _ = call.start()
        let lines = call.run(ms: 2000, silence: true)
        #expect(lines.allSatisfy { $0 == "stream audio 320" })
        #expect((98...100).contains(lines.count), "2 s of audio is 100 chunks of 20 ms, less the filter's delay: \(lines.count)")
        #expect(call.counts.contains(.framesReceived(1)))
    }

    @Test(arguments: [(8000, 8000), (8000, 16000), (16000, 16000), (24000, 16000)])
    func aPromptPlaysPacedAndItsCompletionFollowsTheLastFrame(callRate: Int, lexRate: Int) {
        var call = Self.call(rate: callRate)
        _ = call.start()
        var lines = call.lexStream(.audio(Self.tone(ms: 200, rate: lexRate), sampleRate: lexRate))
        #expect(lines.prefix(2) == ["event playback_started", "frame"], "the first chunk plays at once")
        lines += call.lexStream(.audio([], sampleRate: lexRate))
        lines += call.run(ms: 400)
        #expect(lines.compacted == ["event playback_started", "frame×10", "event playback_finished", "stream playback completed"],
                "200 ms of prompt is exactly 10 frames at the call's rate, then the completion")
        #expect(call.counts.contains(.promptToFirstFrame(.zero)))
    }

    @Test func theCompletionWaitsForTheLastFrameNotTheEndOfThePrompt() {
        var call = Self.call()
        _ = call.start()
        _ = call.lexStream(.audio(Self.tone(ms: 100), sampleRate: 16000))
        #expect(call.lexStream(.audio([], sampleRate: 16000)) == [], "the end of the prompt came; 80 ms still to play")
        #expect(call.run(ms: 60).compacted == ["frame×3"])
        #expect(call.run(ms: 20) == ["frame", "event playback_finished", "stream playback completed"])
    }

    @Test func anInterruptionClearsAndNoCompletionFollows() {
        var call = Self.call()
        _ = call.start()
        _ = call.lexStream(.audio(Self.tone(ms: 1000), sampleRate: 16000))
        _ = call.lexStream(.audio([], sampleRate: 16000))
        #expect(call.run(ms: 200).compacted == ["frame×10"])
        #expect(call.lexStream(.interrupted(reason: "VOICE_START_DETECTED")) == [#"text {"action":"clear"}"#, "event playback_interrupted"])
        #expect(call.run(ms: 1000) == [], "nothing more plays and Lex gets no completion for an interrupted prompt")
        #expect(call.all.contains { if case .emit(.playbackInterrupted(let p)) = $0 { p.remainingMs == 780 } else { false } })
    }

    @Test func dtmfGoesToLexAsItIsPressed() {
        var call = Self.call()
        _ = call.start()
        #expect(call.dtmf("5") == ["event dtmf", "stream dtmf 5"])
        #expect(call.dtmf("#") == ["event dtmf", "stream dtmf #"], "no local collection: the bot's own DTMF settings apply")
        #expect(call.dtmf("x") == [])
        #expect(call.counts.contains(.badInput(.dtmf)))
    }

    @Test func aHangUpSendsTheDisconnection() {
        var call = Self.call()
        _ = call.start()
        _ = call.lexStream(.audio(Self.tone(ms: 500), sampleRate: 16000))
        #expect(call.peerCloses() == ["stream end", "event call_ended", "release"])
        #expect(call.lexStream(.audio(Self.tone(ms: 20), sampleRate: 16000)) == [], "late events after the end are ignored")
    }

    @Test func transcriptIntentAndTextBecomeOneLexTurn() throws {
        var call = Self.call()
        _ = call.start()
        #expect(call.lexStream(.transcript("a large pizza")) == [])
        #expect(call.lexStream(.intent(Self.intent("OrderPizza"))) == [])
        #expect(call.lexStream(.text([StartConversation.Message(content: "Which crust?")])) == [])
        #expect(call.lexStream(.audio(Self.tone(ms: 40), sampleRate: 16000)).prefix(1) == ["event lex_turn"])
        let turn = try #require(call.all.compactMap { if case .emit(.lexTurn(let t)) = $0 { t } else { nil } }.first)
        #expect(turn.customerTranscript == "a large pizza" && turn.botTranscript == "Which crust?" && turn.intent == "OrderPizza")
        #expect(turn.slots == ["Size": "large"] && turn.dialogState == "ElicitSlot" && turn.inputMode == "Speech" && turn.input == "stream")
    }

    @Test func nexmoCloseClosesAfterTheLastFrameOfThePromptAfterIt() {
        var call = Self.call()
        _ = call.start()
        _ = call.lexStream(.intent(Self.intent("Goodbye", dialogAction: "Close", attributes: ["nexmo-close": "true"])))
        _ = call.lexStream(.audio(Self.tone(ms: 100), sampleRate: 16000))
        _ = call.lexStream(.audio([], sampleRate: 16000))
        #expect(call.run(ms: 100).compacted == ["frame×4", "event playback_finished", "stream playback completed",
                                                "close 1000 conversation ended", "stream end", "event call_ended", "release"],
                "the turn was reported when its prompt began")
    }

    @Test func aCloseWithoutAPromptClosesAfterTheGrace() {
        var call = Self.call { $0.call.closeOnFinal = true }
        _ = call.start()
        _ = call.lexStream(.intent(Self.intent("Goodbye", dialogAction: "Close")))
        #expect(call.run(ms: 1480) == [])
        #expect(call.run(ms: 20) == ["close 1000 conversation ended", "event lex_turn", "stream end", "event call_ended", "release"])
    }

    @Test func aDialogCloseIsOnlyFinalWithCloseOnFinal() {
        var call = Self.call()
        _ = call.start()
        _ = call.lexStream(.intent(Self.intent("Goodbye", dialogAction: "Close")))
        #expect(!call.run(ms: 3000).contains { $0.hasPrefix("close") })
    }

    // MARK: - Faults

    @Test(arguments: [LexStreamFault.exception(.throttling("slow down")), .exception(.internalServer("")), .exception(.badGateway("")),
                      .exception(.dependencyFailed("")), .reset("stream reset (RST_STREAM CANCEL)"), .lifetimeEnded])
    func aRetryableFaultReopensOnceThenCloses1011(fault: LexStreamFault) {
        var call = Self.call()
        _ = call.start()
        #expect(call.lexStream(.failed(fault)) == ["event error"])
        #expect(call.run(ms: 180, silence: true) == [], "the caller's audio is held while Lex lets go of the session")
        #expect(call.dtmf("7") == ["event dtmf"])
        let reopened = call.run(ms: 20, silence: true)
        #expect(reopened.first == "stream reopen")
        #expect(reopened.dropFirst().filter { $0 == "stream audio 320" }.count >= 8 && reopened.contains("stream dtmf 7"),
                "the held audio and keys go first on the new stream: \(reopened)")
        #expect(call.run(ms: 100, silence: true).allSatisfy { $0 == "stream audio 320" })
        let lines = call.lexStream(.failed(fault))
        let reason = fault.description
        #expect(lines == ["event error", "stream end", "text \(CallEnd.errorMessage(reason))", "close 1011 \(reason)", "event call_ended", "release"])
        #expect(call.counts.filter { $0 == .streamReopened }.count == 1)
        #expect(call.counts.filter { $0 == .streamError(fault.metricType) }.count == 2)
    }

    @Test func anEventFromLexBetweenFaultsAllowsAnotherReopen() {
        var call = Self.call()
        _ = call.start()
        #expect(call.lexStream(.failed(.reset("connection closed"))) == ["event error"])
        #expect(call.run(ms: 200) == ["stream reopen"])
        _ = call.lexStream(.transcript("hello"))
        #expect(call.lexStream(.failed(.exception(.throttling("")))) == ["event error"])
        #expect(call.run(ms: 200) == ["stream reopen"])
    }

    @Test func heldAudioIsBounded() {
        var call = Self.call(rate: 8000)
        _ = call.start()
        _ = call.lexStream(.failed(.reset("connection closed")))
        call.advance(ms: 5000)  // a stalled loop: no tick for 5 s, audio keeps coming
        for _ in 0..<250 { _ = call.audio([UInt8](repeating: 1, count: 320)) }
        let lines = call.tick()
        #expect(lines.first == "stream reopen")
        #expect(lines.filter { $0 == "stream audio 320" }.count == StreamingCall.maxHeldAudioChunks, "3 s held, the oldest dropped")
    }

    @Test func lexEndingTheStreamIsItsLifetimeRunningOut() {
        var call = Self.call()
        _ = call.start()
        #expect(call.lexStream(.ended) == ["event error"])
        #expect(call.run(ms: 200) == ["stream reopen"])
        #expect(call.counts.contains(.streamError("lifetime_ended")))
    }

    @Test(arguments: [StartConversation.Exception.accessDenied("no"), .resourceNotFound("no bot"), .validation("bad"), .conflict("in use")])
    func aFaultThatWillRepeatCloses1011AtOnce(exception: StartConversation.Exception) {
        var call = Self.call()
        _ = call.start()
        let lines = call.lexStream(.failed(.exception(exception)))
        #expect(lines.first == "event error" && lines.contains("stream end") && lines.contains { $0.hasPrefix("close 1011 Lex stream exception \(exception.type)") })
        #expect(!lines.contains("stream reopen"))
    }

    @Test func aFaultPlaysTheFallbackPromptThenCloses() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("stream-prompt-\(UUID().uuidString).wav")
        defer { try? FileManager.default.removeItem(at: url) }
        try WAV(sampleRate: 16000, samples: PCM.samples(littleEndian: Self.tone(ms: 200))).write(to: url)
        var call = Self.call(prompt: try FallbackPrompt(path: url.path))
        _ = call.start()
        #expect(call.lexStream(.failed(.exception(.accessDenied("denied")))) == ["event error", "stream end", "event playback_started", "frame"])
        #expect(call.run(ms: 100, silence: true).compacted == ["frame×5"], "the caller's audio goes nowhere now")
        #expect(call.run(ms: 100).compacted == ["frame×4", "event playback_finished", "close 1000 conversation ended", "event call_ended", "release"])
    }
}

@Suite struct StreamingConversationTests {
    @Test func theReplyRateComesFromEachChunk() {
        #expect(StreamingConversation.sampleRate(contentType: "audio/pcm; sample-rate=8000") == 8000)
        #expect(StreamingConversation.sampleRate(contentType: "audio/pcm") == 16000, "documented: audio/pcm is 16 kHz")
        #expect(StreamingConversation.sampleRate(contentType: nil) == 16000)
        #expect(StreamingConversation.sampleRate(contentType: "audio/pcm; sample-rate=3") == 16000)
        #expect(StreamingConversation.responseContentType(rate: StreamingConversation.replyRate(callRate: 8000)) == "audio/pcm; sample-rate=8000")
        #expect(StreamingConversation.replyRate(callRate: 24000) == 16000)
    }

    @Test func anErrorStatusStandsForItsException() {
        #expect(StreamingConversation.exceptionType(status: 403) == "AccessDeniedException")
        #expect(StreamingConversation.exceptionType(status: 429) == "ThrottlingException")
        #expect(StreamingConversation.exceptionType(status: 503) == "InternalServerException")
        #expect(StartConversation.Exception(type: StreamingConversation.exceptionType(status: 409), message: "").isRetryable == false)
    }
}
