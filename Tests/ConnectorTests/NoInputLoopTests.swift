import Audio
import Foundation
import Lex
import Testing
@testable import Connector

/// A bot cannot make a call send Lex requests in a loop: with `x-amz-lex:audio:start-timeout-ms`
/// of 1 ms (or `[call] no_input_timeout_ms` of 1) and a bot that answers at once with no audio,
/// the no-input text goes at most once per `TurnCapture.minimumNoInputTimeout`.
@Suite struct NoInputLoopTests {
    /// Runs `seconds` of silence against a bot that answers every input at once, without
    /// audio, with these attributes; returns the number of Lex requests made.
    static func requests(seconds: Int, attributes: [String: String], configure: (inout LexmoConfiguration) -> Void = { _ in }) -> Int {
        var call = CallTranscript(configure: configure)
        _ = call.start(["welcome_text": "hi"])
        var sent = 1
        _ = call.lexCompleted(.success(CallTranscript.turn(sessionAttributes: attributes)))
        for _ in 0..<(seconds * 50) {
            let lines = call.run(ms: 20, silence: true)
            if lines.contains(where: { $0.hasPrefix("lex ") }) {
                sent += 1
                _ = call.lexCompleted(.success(CallTranscript.turn(sessionAttributes: attributes)))
            }
        }
        return sent
    }

    @Test(arguments: ["1", "2", "19", "20", "999"])
    func aTinyLexStartTimeoutDoesNotHammerLex(value: String) {
        let n = Self.requests(seconds: 10, attributes: ["x-amz-lex:audio:start-timeout-ms": value])
        #expect(n <= 11, "\(n) requests in 10 s: at most the welcome text and one no-input text a second")
        #expect(n >= 9, "the no-input text still goes, once a second")
    }

    @Test func aTinyConfiguredTimeoutDoesNotHammerLex() {
        let n = Self.requests(seconds: 10, attributes: [:]) { $0.call.noInputTimeout = .milliseconds(1) }
        #expect(n <= 11, "\(n) requests in 10 s")
        #expect(n >= 9)
    }

    @Test func aLongerTimeoutIsKeptAsItIs() {
        let n = Self.requests(seconds: 10, attributes: ["x-amz-lex:audio:start-timeout-ms": "2500"])
        #expect(n == 1 + 3, "every 2.52 s (the timer starts on the tick after the reply) in 10 s")
    }
}

/// A bot's `x-amz-lex:*` settings at their extremes: the call goes on taking speech and keys.
@Suite struct AbsurdLexSettingsTests {
    @Test(arguments: [
        ["x-amz-lex:audio:end-timeout-ms": "1", "x-amz-lex:audio:max-length-ms": "1000000000000",
         "x-amz-lex:audio:start-timeout-ms": "99999999999999999999", "x-amz-lex:dtmf:end-timeout-ms": "1",
         "x-amz-lex:dtmf:max-length": "0", "x-amz-lex:dtmf:end-character": "", "x-amz-lex:allow-interrupt": ""],
        ["x-amz-lex:audio:end-timeout-ms": "-5", "x-amz-lex:audio:max-length-ms": "-1",
         "x-amz-lex:audio:start-timeout-ms": "1e3", "x-amz-lex:dtmf:end-timeout-ms": "9223372036854775807",
         "x-amz-lex:dtmf:max-length": "1024", "x-amz-lex:dtmf:deletion-character": "\u{0}", "x-amz-lex:allow-interrupt": "TRUE "],
        ["x-amz-lex:audio:end-timeout-ms": "2147483647", "x-amz-lex:audio:max-length-ms": "1",
         "x-amz-lex:audio:start-timeout-ms": "2147483648", "x-amz-lex:dtmf:end-timeout-ms": "0"],
    ])
    func theCallGoesOn(attributes: [String: String]) throws {
        var call = CallTranscript()
        _ = call.start(["welcome_text": "hi"])
        _ = call.lexReply(ms: 100, CallTranscript.turn(sessionAttributes: attributes))
        _ = call.run(ms: 200, silence: true)
        let speech = call.run(ms: 20_000, pcm: try Speech.yes(), silence: true)
        #expect(speech.contains("lex audio 16000"), "\(speech.compacted)")
        _ = call.lexCompleted(.success(CallTranscript.turn()))
        _ = call.dtmf("5")
        let keys = call.dtmf("#") + call.run(ms: 10_000, silence: true)
        #expect(keys.contains("lex text 5"), "\(keys.compacted)")
        #expect(!call.all.contains { if case .close = $0 { true } else { false } })
    }
}

/// The same on a real socket against the stand-in: a bot that sets a 1 ms start timeout and
/// answers every input at once with no audio.
@Suite struct NoInputLoopCallTests {
    @Test func aBotAnsweringAtOnceGetsAtMostOneNoInputASecond() throws {
        let h = try Harness()
        defer { h.stop() }
        h.standIn.setDefaultReply(.init(message: "Say something.", sessionAttributes: ["x-amz-lex:audio:start-timeout-ms": "1"], audio: .none))
        let c = try h.client()
        let opened = Date()
        c.sendStart(rate: 16000, secret: ConversationTests.secret, extra: ["welcome_text": "hi"])
        #expect(h.standIn.waitUntil(timeout: 10) { _ in h.lexRequests().count >= 3 }, "the no-input text goes")
        let elapsed = Date().timeIntervalSince(opened)
        let n = h.lexRequests().count
        // welcome, then one no-input text per second at most.
        #expect(elapsed >= 1.9, "\(n) requests after \(elapsed) s")
        #expect(h.lexRequests().dropFirst().allSatisfy { $0.inputText == "no input" })
        c.sendClose()
    }
}
