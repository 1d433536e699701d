import Audio
import Foundation
import Lex
import Testing
@testable import Connector

/// The call's behaviour (README "What happens during a call") as transcripts in virtual time:
/// inputs in, actions out, no sockets and no sleeps.
@Suite struct CallTranscriptTests {
    static let clear = #"text {"action":"clear"}"#

    @Test func welcomeTextGoesToLexFirstAndItsReplyPlaysFrameByFrame() {
        var call = CallTranscript()
        #expect(call.start(["welcome_text": "hello"]) == ["started", "text ok", "event call_started", "lex text hello"])
        // The first frame goes out with the first bytes; the rest one per 20 ms tick.
        #expect(call.lexReply(ms: 300) == ["event playback_started", "frame", "event lex_turn"])
        #expect(call.run(ms: 20) == ["frame"])
        #expect(call.run(ms: 400).compacted == ["frame×13", "event playback_finished"])
        #expect(call.all.allSatisfy { if case .sendFrame(let f) = $0 { f.count == 640 } else { true } })
    }

    @Test(arguments: [8000, 24000])
    func repliesAreResampledToTheCallRateWithTheirExactLength(rate: Int) {
        var call = CallTranscript(rate: rate)
        _ = call.start(["welcome_text": "hello"])
        let lines = call.lexReply(ms: 300) + call.run(ms: 400)
        #expect(lines.frames == 15, "300 ms is 15 frames at any rate: the resampler's filter delay is skipped")
        #expect(call.all.allSatisfy { if case .sendFrame(let f) = $0 { f.count == rate / 50 * 2 } else { true } })
    }

    @Test func bargeInClearsPlaybackAndSendsTheSpeech() throws {
        var call = CallTranscript()
        _ = call.start(["welcome_text": "hi", "barge_in": true])
        _ = call.lexReply(ms: 6000)
        #expect(call.run(ms: 100).compacted == ["frame×5"])
        let lines = call.run(ms: 2000, pcm: try Speech.yes(), silence: true)
        let clear = try #require(lines.firstIndex(of: Self.clear))
        #expect(lines[clear + 1] == "event playback_interrupted")
        #expect(Array(lines[..<clear]).frames > 0, "the reply played until the caller spoke")
        #expect(Array(lines[clear...]).frames == 0, "nothing of the first reply plays after the clear")
        #expect(Array(lines[clear...]).compacted == [Self.clear, "event playback_interrupted", "event utterance", "lex audio 16000"])
        let interrupted = call.all.compactMap { if case .emit(.playbackInterrupted(let p)) = $0 { p.remainingMs } else { nil } }
        #expect(interrupted.count == 1 && interrupted[0] > 4000, "most of the 6 s reply was dropped: \(interrupted)")
    }

    @Test func bargeInOffKeepsPlayingWhileTheCallerSpeaks() throws {
        var call = CallTranscript()
        _ = call.start(["welcome_text": "hi", "barge_in": false])
        _ = call.lexReply(ms: 6000)
        let lines = call.run(ms: 2000, pcm: try Speech.yes(), silence: true)
        #expect(!lines.contains(Self.clear))
        #expect(lines.frames == 100, "one frame on every tick of the 2 s")
        #expect(lines.filter { !$0.hasPrefix("frame") } == ["event utterance", "lex audio 16000"])
    }

    @Test func speechWhileLexWorksIsQueuedAndSentNext() throws {
        var call = CallTranscript()
        _ = call.start(["welcome_text": "hi"])
        let lines = call.run(ms: 2000, pcm: try Speech.yes(), silence: true)
        #expect(lines == ["event utterance"], "queued behind the welcome turn")
        #expect(call.lexCompleted(.success(CallTranscript.turn())) == ["event lex_turn", "lex audio 16000"])
    }

    @Test func queueOverflowDropsTheOldestAndSaysSo() {
        var call = CallTranscript { $0.call.maxQueuedUtterances = 1 }
        _ = call.start(["welcome_text": "hi"])
        #expect(call.dtmf("1") + call.dtmf("#") == ["event dtmf", "event dtmf"])
        #expect(call.dtmf("2") + call.dtmf("#") == ["event dtmf", "event dtmf", "event error"])
        #expect(call.all.contains { if case .emit(.error(let e)) = $0 { e.kind == "queue_overflow" && e.retryable == nil } else { false } })
        #expect(call.counts.contains(.utterance(.dropped)))
        #expect(call.lexCompleted(.success(CallTranscript.turn())) == ["event lex_turn", "lex text 2"], "the newest input went, the oldest was dropped")
    }

    @Test func dtmfEndsWithHashOrWithThePause() {
        var call = CallTranscript()
        _ = call.start()
        #expect(call.dtmf("4") + call.dtmf("2") == ["event dtmf", "event dtmf"])
        #expect(call.dtmf("#") == ["event dtmf", "lex text 42"])
        #expect(call.lexCompleted(.success(CallTranscript.turn())) == ["event lex_turn"])
        #expect(call.dtmf("7") == ["event dtmf"])
        #expect(call.run(ms: 1980) == [], "dtmf_timeout_ms (2000) has not passed")
        #expect(call.run(ms: 20) == ["lex text 7"])
        #expect(call.dtmf("x") == [], "not a DTMF key: ignored")
        #expect(call.counts.contains(.badInput(.dtmf)))
    }

    @Test func nexmoCloseClosesAfterTheLastFrame() {
        var call = CallTranscript()
        _ = call.start(["welcome_text": "bye"])
        #expect(call.lexReply(ms: 400, CallTranscript.turn("Bye.", sessionAttributes: ["nexmo-close": "true"]))
            == ["event playback_started", "frame", "event lex_turn"])
        #expect(call.run(ms: 400).compacted == ["frame×19", "event playback_finished", "close 1000 conversation ended", "event call_ended", "release"])
        #expect(call.run(ms: 100) == [], "nothing after the end")
    }

    @Test(arguments: [true, false])
    func aFinalDialogStateClosesOnlyWithCloseOnFinal(closeOnFinal: Bool) {
        var call = CallTranscript { $0.call.closeOnFinal = closeOnFinal }
        _ = call.start(["welcome_text": "order"])
        _ = call.lexReply(ms: 200, CallTranscript.turn("Done.", final: true))
        let lines = call.run(ms: 300).compacted
        #expect(lines == (closeOnFinal
            ? ["frame×9", "event playback_finished", "close 1000 conversation ended", "event call_ended", "release"]
            : ["frame×9", "event playback_finished"]))
    }

    @Test func lexFailureWithoutAPromptIsReportedAndTheCallGoesOn() {
        var call = CallTranscript()
        _ = call.start(["welcome_text": "hi"])
        #expect(call.lexCompleted(.failure(.service(status: 500, type: "InternalFailureException", message: "boom"))) == ["event error"])
        #expect(call.counts.contains(.error(.lex)) && call.counts.contains(.lexRequest(api: .v2, status: .http(500))))
        #expect(call.all.contains { if case .emit(.error(let e)) = $0 { e.kind == "lex" && e.retryable == true } else { false } })
        #expect(call.run(ms: 200) == [])
        #expect(call.dtmf("5") + call.dtmf("#") == ["event dtmf", "event dtmf", "lex text 5"], "the call is still up")
    }

    @Test func lexFailurePlaysTheFallbackPrompt() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("callsm-prompt-\(UUID().uuidString).wav")
        defer { try? FileManager.default.removeItem(at: url) }
        try WAV(sampleRate: 16000, samples: PCM.samples(littleEndian: CallTranscript.tone(ms: 200))).write(to: url)
        var call = CallTranscript(prompt: try FallbackPrompt(path: url.path))
        _ = call.start(["welcome_text": "hi"])
        #expect(call.lexCompleted(.failure(.timeout("request deadline"))) == ["event error", "event playback_started", "frame"])
        #expect(call.run(ms: 300).compacted == ["frame×9", "event playback_finished"])
    }

    @Test func noStartMessageInTimeCloses1008() {
        var call = CallTranscript()
        #expect(call.audio([UInt8](repeating: 0, count: 640)) == [], "audio before the start message is held")
        #expect(call.run(ms: 980) == [])
        let reason = "no valid start message within 1000 ms"
        #expect(call.run(ms: 20) == [#"text {"event":"error","reason":"\#(reason)"}"#, "close 1008 \(reason)", "release"])
        #expect(call.counts.contains(.badInput(.startTimeout)))
    }

    @Test func audioBeforeTheStartMessageIsHeldAndHeard() throws {
        var call = CallTranscript()
        let yes = try Speech.yesCut()
        for i in stride(from: 0, to: yes.count - 640, by: 640) { #expect(call.audio(Array(yes[i..<(i + 640)])) == []) }
        #expect(call.start() == ["started", "text ok", "event call_started"])
        #expect(call.run(ms: 600, silence: true) == ["event utterance", "lex audio 16000"])
    }

    @Test func idleTimeoutClosesACallWithoutAudio() {
        var call = CallTranscript { $0.call.idleTimeout = .seconds(2) }
        _ = call.start()
        #expect(call.run(ms: 3000, silence: true) == [], "audio keeps it up")
        #expect(call.run(ms: 2000) == [])
        #expect(call.run(ms: 20) == ["close 1000 idle timeout: no audio for 2 s", "event call_ended", "release"])
        #expect(call.counts.contains(.error(.idleTimeout)))
    }

    @Test func maximumDurationEndsTheCall() {
        var call = CallTranscript { $0.call.maxDuration = .seconds(3) }
        _ = call.start()
        #expect(call.run(ms: 3000, silence: true) == [])
        #expect(call.run(ms: 20, silence: true) == ["close 1000 maximum call duration reached", "event call_ended", "release"])
    }

    @Test func hangUpWhileLexWorksCancelsTheTurn() {
        var call = CallTranscript()
        _ = call.start(["welcome_text": "hi"])
        _ = call.dtmf("1")
        #expect(call.peerCloses() == ["cancel lex", "event call_ended", "release"])
        #expect(call.lexAudio(CallTranscript.tone(ms: 100)) == [], "late Lex input after the end is ignored")
        let ended = call.all.compactMap { if case .emit(.callEnded(let e)) = $0 { e } else { nil } }
        #expect(ended.count == 1)
        #expect(ended.first?.byCaller == true && ended.first?.dtmfDigits == 1 && ended.first?.code == 1000)
    }

    @Test func aWrongFrameSizeCloses1003() {
        var call = CallTranscript()
        _ = call.start()
        let reason = "invalid audio frame of 3 bytes: expected 640 (16-bit PCM, 20 ms)"
        #expect(call.audio([1, 2, 3]) == [#"text {"event":"error","reason":"\#(reason)"}"#, "close 1003 \(reason)", "event call_ended", "release"])
        #expect(call.audio([UInt8](repeating: 0, count: 640)) == [])
    }

    @Test func missingCredentialsCloses1008WithTheReason() {
        var call = CallTranscript()
        let lines = call.text(#"{"event":"websocket:connected","content-type":"audio/l16;rate=16000"}"#)
        #expect(lines.count == 3)
        #expect(lines.first?.contains("aws_key is missing") == true)
        #expect(lines.dropFirst().first?.hasPrefix("close 1008 invalid start message: aws_key is missing") == true)
        #expect(call.counts.contains(.badInput(.credentials)))
    }

    @Test func aReplySlowerThanRealTimePausesAndResumes() {
        var call = CallTranscript()
        _ = call.start(["welcome_text": "hi"])
        #expect(call.lexAudio(CallTranscript.tone(ms: 60)) == ["event playback_started", "frame"])
        #expect(call.run(ms: 100).compacted == ["frame×2"], "then silent: the reply is not complete")
        #expect(call.lexAudio(CallTranscript.tone(ms: 40)) == ["event playback_started", "frame"], "more audio starts playback again")
        #expect(call.lexCompleted(.success(CallTranscript.turn())) == ["event lex_turn"])
        #expect(call.run(ms: 40).compacted == ["frame", "event playback_finished"])
    }

    /// A whole recorded conversation at each call rate: one Lex request per spoken utterance
    /// at the Lex rate, and every reply frame of the exact size and count.
    @Test(arguments: [("speech16-clean.wav", 16000, 3), ("speech16-clean.wav", 24000, 3), ("speech8-clean.wav", 8000, 5)])
    func aWholeConversationAtEachRate(fixture: String, rate: Int, utterances: Int) throws {
        var (pcm, fixtureRate) = try Fixture.pcm(fixture)
        if fixtureRate != rate { pcm = try Fixture.resample(pcm, from: fixtureRate, to: rate) }
        var call = CallTranscript(rate: rate)
        _ = call.start(["barge_in": false])
        let frameBytes = rate / 50 * 2
        var requests: [String] = []
        var frames = 0
        for offset in stride(from: 0, to: pcm.count + 50 * frameBytes, by: frameBytes) {
            let lines = offset < pcm.count ? call.run(ms: 20, pcm: Array(pcm[offset..<min(offset + frameBytes, pcm.count)])) : call.run(ms: 20, silence: true)
            frames += lines.frames
            for request in lines where request.hasPrefix("lex ") {
                requests.append(request)
                frames += call.lexReply(ms: 480).frames
            }
        }
        frames += call.run(ms: 2000, silence: true).frames
        #expect(requests == Array(repeating: "lex audio \(rate == 8000 ? 8000 : 16000)", count: utterances))
        #expect(frames == utterances * 24, "480 ms of reply is 24 frames at any rate")
        #expect(call.all.allSatisfy { if case .sendFrame(let f) = $0 { f.count == frameBytes } else { true } })
        #expect(call.eventNames.filter { $0 == "utterance" }.count == utterances)
        #expect(call.eventNames.filter { $0 == "lex_turn" }.count == utterances)
    }

    @Test func playbackStartedBetweenTicksKeepsToTheTickGrid() {
        var call = CallTranscript()
        _ = call.start(["welcome_text": "hi"])
        _ = call.run(ms: 20)
        call.advance(ms: 13)
        #expect(call.lexReply(ms: 100) == ["event playback_started", "frame", "event lex_turn"])
        call.advance(ms: 7)
        #expect(call.tick() == ["frame"], "frame 1 goes with the next tick, 7 ms later, not a tick after")
        #expect(call.run(ms: 60).compacted == ["frame×3", "event playback_finished"])
        #expect(!call.counts.contains { if case .framesLate = $0 { true } else { false } })
    }

    @Test func aStalledLoopCountsLateFramesAndResumesWithoutABurst() {
        var call = CallTranscript()
        _ = call.start(["welcome_text": "hi"])
        _ = call.lexReply(ms: 1000)
        #expect(call.run(ms: 40).compacted == ["frame×2"])
        call.advance(ms: 200)
        #expect(call.tick() == ["frame"], "one frame, not ten")
        #expect(call.counts.contains(.framesLate(9)))
        #expect(call.run(ms: 40).compacted == ["frame×2"], "then one per tick again")
    }
}
