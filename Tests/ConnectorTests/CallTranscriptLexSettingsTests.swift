import Audio
import Foundation
import Lex
import Logging
import Testing
@testable import Connector

/// Lex's own speech settings (`x-amz-lex:*` session attributes, README "Lex's own speech
/// settings") and the no-input timer, as transcripts in virtual time.
@Suite struct CallTranscriptLexSettingsTests {
    static let clear = #"text {"action":"clear"}"#

    /// A reply eliciting `slot` of `intent`, with these session attributes.
    static func eliciting(_ attributes: [String: String], intent: String = "OrderPizza", slot: String = "size") -> LexTurn {
        var t = CallTranscript.turn("Which size?", sessionAttributes: attributes)
        t.intentName = intent
        t.slotToElicit = slot
        t.dialogState = "ElicitSlot"
        return t
    }

    /// "yes", one second of silence, "no" (the clean 16 kHz fixture), then 300 ms more.
    static func yesPauseNo() throws -> [UInt8] {
        try Fixture.slice("speech16-clean.wav", from: 16000 - 4800, to: 22560)
            + [UInt8](repeating: 0, count: 32000)
            + Fixture.slice("speech16-clean.wav", from: 38560, to: 44000 + 4800)
    }

    /// "My account number is four five six seven." (2.9 s), with 300 ms before it.
    static func sentence() throws -> [UInt8] {
        try Fixture.slice("speech16-clean.wav", from: 60000 - 4800, to: 107040)
    }

    /// A call whose welcome turn got `reply` (a 100 ms prompt), played to its end: the
    /// clock stops on the tick that sent its last frame.
    static func afterPrompt(_ reply: LexTurn, start extra: [String: Any] = [:],
                            configure: (inout LexmoConfiguration) -> Void = { _ in }) -> CallTranscript {
        var call = CallTranscript(configure: configure)
        var fields = extra
        fields["welcome_text"] = "hi"
        _ = call.start(fields)
        _ = call.lexReply(ms: 100, reply)
        let lines = call.run(ms: 80)
        precondition(lines.last == "event playback_finished", "\(lines)")
        return call
    }

    /// The `utterance` events from index `from` of `call.all` on.
    static func utterances(_ call: CallTranscript, from: Int = 0) -> [UtteranceEnded] {
        call.all[from...].compactMap { if case .emit(.utterance(let u)) = $0 { u } else { nil } }
    }

    // MARK: - Audio

    @Test func endTimeoutKeepsAOneSecondPauseInsideTheNextUtteranceAndRevertsAfter() throws {
        var call = Self.afterPrompt(CallTranscript.turn(sessionAttributes: ["x-amz-lex:audio:end-timeout-ms": "1500"]))
        let lines = call.run(ms: 5000, pcm: try Self.yesPauseNo(), silence: true)
        #expect(lines == ["event utterance", "lex audio 16000"], "one utterance: the 1 s pause is inside it")
        let one = Self.utterances(call)
        #expect(one.count == 1 && one[0].durationMs > 3000 && one[0].reason == "silence", "\(one)")

        // The next reply no longer sets it: silence_time (400 ms) is back and the pause splits.
        _ = call.lexReply(ms: 100) + call.run(ms: 100)
        let mark = call.all.count
        let split = call.run(ms: 5000, pcm: try Self.yesPauseNo(), silence: true)
        #expect(split == ["event utterance", "lex audio 16000", "event utterance"], "two utterances; the second waits for Lex")
        let two = Self.utterances(call, from: mark)
        #expect(two.count == 2 && two.allSatisfy { $0.durationMs < 2000 }, "\(two)")
    }

    @Test func withoutTheSettingThePauseSplitsTheUtterance() throws {
        var call = Self.afterPrompt(CallTranscript.turn(sessionAttributes: ["unrelated": "1"]))
        #expect(call.run(ms: 5000, pcm: try Self.yesPauseNo(), silence: true) == ["event utterance", "lex audio 16000", "event utterance"])
    }

    @Test func theSlotFormOfTheNameWinsOverTheGlobalOne() throws {
        var call = Self.afterPrompt(Self.eliciting([
            "x-amz-lex:audio:end-timeout-ms": "300",
            "x-amz-lex:audio:end-timeout-ms:OrderPizza:size": "1500",
        ]))
        #expect(call.run(ms: 5000, pcm: try Self.yesPauseNo(), silence: true) == ["event utterance", "lex audio 16000"])
    }

    @Test(arguments: [true, false])
    func maxLengthCutsTheNextUtterances(set: Bool) throws {
        var call = Self.afterPrompt(CallTranscript.turn(sessionAttributes: set ? ["x-amz-lex:audio:max-length-ms": "1000"] : [:]))
        _ = call.run(ms: 5000, pcm: try Self.sentence(), silence: true)
        let cut = Self.utterances(call)
        if set {
            #expect(cut.count >= 2, "\(cut)")
            #expect(cut.first?.reason == "maximum_length" && cut.first?.durationMs == 1000, "\(cut)")
            #expect(cut.allSatisfy { $0.durationMs <= 1000 })
        } else {
            #expect(cut.count == 1 && cut[0].reason == "silence" && cut[0].durationMs > 2900, "\(cut)")
        }
    }

    @Test func anInvalidValueIsLoggedOnceByKeyAndTheCallsOwnSettingStays() throws {
        var call = Self.afterPrompt(CallTranscript.turn(sessionAttributes: ["x-amz-lex:audio:end-timeout-ms": "soon"]))
        let logs = call.all.compactMap { action -> (Logger.Message, Logger.Metadata)? in
            if case .log(.info, let m, let meta) = action, "\(m)".contains("ignored invalid Lex speech settings") { (m, meta) } else { nil }
        }
        #expect(logs.count == 1)
        #expect(logs.first?.1["keys"] == "x-amz-lex:audio:end-timeout-ms")
        #expect(!call.all.contains { if case .log(_, let m, let meta) = $0 { "\(m) \(meta)".contains("soon") } else { false } }, "values are not logged")
        #expect(call.run(ms: 5000, pcm: try Self.yesPauseNo(), silence: true).filter { $0 == "event utterance" }.count == 2)
    }

    // MARK: - DTMF

    @Test func dtmfEndCharacterDeletionCharacterAndRevert() {
        var call = Self.afterPrompt(CallTranscript.turn(sessionAttributes: [
            "x-amz-lex:dtmf:end-character": "*", "x-amz-lex:dtmf:deletion-character": "D",
        ]))
        #expect(call.dtmf("4") + call.dtmf("#") + call.dtmf("2") == ["event dtmf", "event dtmf", "event dtmf"], "# is a digit now")
        #expect(call.dtmf("D") == ["event dtmf"], "D clears 4#2 and sends nothing")
        #expect(call.dtmf("9") + call.dtmf("*") == ["event dtmf", "event dtmf", "lex text 9"])
        // The next reply sets nothing: # ends the input again, * is a digit.
        _ = call.lexReply(ms: 100) + call.run(ms: 100)
        #expect(call.dtmf("*") + call.dtmf("D") + call.dtmf("#") == ["event dtmf", "event dtmf", "event dtmf", "lex text *D"])
    }

    @Test func dtmfMaxLengthEndsInputAtOnce() {
        var call = Self.afterPrompt(CallTranscript.turn(sessionAttributes: ["x-amz-lex:dtmf:max-length": "3"]))
        #expect(call.dtmf("1") + call.dtmf("2") == ["event dtmf", "event dtmf"])
        #expect(call.dtmf("3") == ["event dtmf", "lex text 123"])
    }

    @Test func dtmfEndTimeoutReplacesTheCallsPauseAndReverts() {
        var call = Self.afterPrompt(CallTranscript.turn(sessionAttributes: ["x-amz-lex:dtmf:end-timeout-ms": "500"]))
        #expect(call.dtmf("7") == ["event dtmf"])
        #expect(call.run(ms: 480) == [])
        #expect(call.run(ms: 20) == ["lex text 7"], "500 ms, not dtmf_timeout_ms (2000)")
        _ = call.lexReply(ms: 100) + call.run(ms: 100)
        #expect(call.dtmf("8") == ["event dtmf"])
        #expect(call.run(ms: 1980) == [])
        #expect(call.run(ms: 20) == ["lex text 8"], "back to dtmf_timeout_ms")
    }

    // MARK: - Barge-in

    /// The prompt eliciting the slot plays whole while the caller talks when Lex says
    /// `allow-interrupt` false for it; true or nothing keeps the call's barge-in.
    @Test(arguments: ["false", "true", nil] as [String?])
    func allowInterruptForTheElicitedSlot(value: String?) throws {
        var call = CallTranscript()
        _ = call.start(["welcome_text": "hi", "barge_in": true])
        let attributes = value.map { ["x-amz-lex:allow-interrupt:OrderPizza:size": $0, "x-amz-lex:allow-interrupt:*:*": "true"] } ?? [:]
        _ = call.lexReply(ms: 3000, Self.eliciting(attributes))
        let lines = call.run(ms: 2000, pcm: try Speech.yes(), silence: true) + call.run(ms: 1500, silence: true)
        if value == "false" {
            #expect(!lines.contains(Self.clear))
            #expect(lines.frames == 149, "every frame of the 3 s prompt played (the first went with the reply)")
            #expect(lines.filter { !$0.hasPrefix("frame") } == ["event utterance", "lex audio 16000", "event playback_finished"],
                    "the speech is still heard and sent")
        } else {
            let clear = try #require(lines.firstIndex(of: Self.clear))
            #expect(Array(lines[clear...]).frames == 0)
            #expect(lines.frames < 149)
            #expect(lines.contains("lex audio 16000"))
        }
    }

    /// Lex's response head carries the attributes: a prompt still streaming in (its turn not
    /// complete) is already held whole.
    @Test func allowInterruptFromTheResponseHeadHoldsWhileTheReplyStreams() throws {
        var call = CallTranscript()
        _ = call.start(["welcome_text": "hi", "barge_in": true])
        #expect(call.lexStarted(Self.eliciting(["x-amz-lex:allow-interrupt:OrderPizza:size": "false"])) == [])
        #expect(call.lexAudio(CallTranscript.tone(ms: 3000)) == ["event playback_started", "frame"])
        let lines = call.run(ms: 2000, pcm: try Speech.yes(), silence: true)
        #expect(!lines.contains(Self.clear), "not interrupted, though the turn is not complete")
        #expect(lines.frames == 100)
        #expect(lines.contains("event utterance"))
    }

    @Test func allowInterruptTrueBargesInWhenTheCallHasItOff() throws {
        var call = CallTranscript()
        _ = call.start(["welcome_text": "hi", "barge_in": false])
        _ = call.lexReply(ms: 3000, Self.eliciting(["x-amz-lex:allow-interrupt:*:size": "true"]))
        #expect(call.run(ms: 2000, pcm: try Speech.yes(), silence: true).contains(Self.clear))
    }

    // MARK: - No input

    @Test func noInputTextReachesLexAfterLexsStartTimeout() {
        var call = Self.afterPrompt(CallTranscript.turn(sessionAttributes: ["x-amz-lex:audio:start-timeout-ms": "3000"]))
        #expect(call.eventNames.last == "playback_finished")
        #expect(call.run(ms: 2980, silence: true) == [])
        #expect(call.run(ms: 20, silence: true) == ["event no_input", "lex text no input"])
        #expect(call.all.contains { if case .emit(.noInput(let n)) = $0 { n.timeoutMs == 3000 } else { false } })
        #expect(call.lexCompleted(.success(CallTranscript.turn())) == ["event lex_turn"])
        #expect(call.all.contains { if case .emit(.lexTurn(let t)) = $0 { t.input == "no_input" } else { false } })
        // That reply set nothing and no_input_timeout_ms is 0: no timer any more.
        #expect(call.run(ms: 10_000, silence: true) == [])
    }

    @Test func theConfiguredTimeoutAndTextAreUsedWhenLexSetsNone() {
        var call = Self.afterPrompt(CallTranscript.turn()) {
            $0.call.noInputTimeout = .milliseconds(2000)
            $0.call.noInputText = "silence"
        }
        #expect(call.run(ms: 1980, silence: true) == [])
        #expect(call.run(ms: 20, silence: true) == ["event no_input", "lex text silence"])
        // The bot re-prompts; the timer starts again after that prompt has played.
        #expect(call.lexReply(ms: 200).compacted == ["event playback_started", "frame", "event lex_turn"])
        #expect(call.run(ms: 180).compacted == ["frame×9", "event playback_finished"])
        #expect(call.run(ms: 1980, silence: true) == [])
        #expect(call.run(ms: 20, silence: true) == ["event no_input", "lex text silence"])
    }

    @Test func theTimerStartsOnlyOnceThePromptHasPlayed() {
        var call = CallTranscript { $0.call.noInputTimeout = .milliseconds(1000) }
        _ = call.start(["welcome_text": "hi"])
        _ = call.lexReply(ms: 2000)
        let lines = call.run(ms: 2960, silence: true).compacted
        #expect(lines == ["frame×99", "event playback_finished"], "nothing while it plays, nor 1 s after its start")
        #expect(call.run(ms: 20, silence: true) == ["event no_input", "lex text no input"], "1 s after its last frame")
    }

    @Test func speechBeforeTheTimeoutCancelsIt() throws {
        var call = Self.afterPrompt(CallTranscript.turn(sessionAttributes: ["x-amz-lex:audio:start-timeout-ms": "1500"]))
        #expect(call.run(ms: 2000, pcm: try Speech.yes(), silence: true) == ["event utterance", "lex audio 16000"])
        #expect(call.run(ms: 5000, silence: true) == [], "Lex works on the speech; no no-input text")
        #expect(!call.eventNames.contains("no_input"))
    }

    @Test func aDigitBeforeTheTimeoutCancelsIt() {
        var call = Self.afterPrompt(CallTranscript.turn(sessionAttributes: ["x-amz-lex:audio:start-timeout-ms": "1000"]))
        _ = call.run(ms: 500, silence: true)
        #expect(call.dtmf("5") == ["event dtmf"])
        #expect(call.run(ms: 2000, silence: true) == ["lex text 5"], "the digit went after the DTMF pause, no no-input text")
        #expect(!call.eventNames.contains("no_input"))
    }

    @Test func noTimerWhenNothingSetsOne() {
        var call = Self.afterPrompt(CallTranscript.turn())
        #expect(call.run(ms: 20_000, silence: true) == [], "no_input_timeout_ms is 0 by default")
    }
}
