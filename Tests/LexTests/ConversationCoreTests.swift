import Foundation
import Lex
import Testing

@testable import LexStandIn

/// The stand-in's conversation rules as transcripts: input events in, actions out. Time is the
/// audio's own length (20 ms events of 8 kHz PCM) and the DTMF timer's generation.
@Suite("StartConversation stand-in rules")
struct ConversationCoreTests {
    typealias SC = StartConversation
    static let tone = ConversationReply.tone(milliseconds: 20, sampleRate: 8000)
    static let silence = [UInt8](repeating: 0, count: 320)

    static func configured(_ c: SC.ConfigurationEvent = .init(responseContentType: "audio/pcm")) -> (ConversationCore, [ConversationAction]) {
        var core = ConversationCore(settings: .init(), sessionId: "s1")
        let out = core.receive(.configuration(c))
        return (core, out)
    }

    static func audio(_ core: inout ConversationCore, _ frames: [UInt8], count: Int) -> [ConversationAction] {
        (0..<count).flatMap { core.receive(.audioInput(.init(audioChunk: frames, eventId: "a\($0)"))) }
    }

    @Test func speechEndsAfterTheConfiguredSilenceOfAudio() {
        var (core, configured) = Self.configured()
        #expect(configured.isEmpty)
        #expect(Self.audio(&core, Self.tone, count: 10).isEmpty)  // 200 ms of speech
        #expect(Self.audio(&core, Self.silence, count: 19).isEmpty)  // 380 ms: not yet 400
        let end = Self.audio(&core, Self.silence, count: 1)
        #expect(end == [.turn(ConversationTurn(inputMode: "Speech", heard: "stand-in heard 200 ms", speechMilliseconds: 200))])
        #expect(Self.audio(&core, Self.silence, count: 50).isEmpty)  // silence alone is no turn
    }

    @Test func quietAudioBelowTheThresholdIsNotSpeech() {
        var (core, _) = Self.configured()
        let quiet = ConversationReply.tone(milliseconds: 20, sampleRate: 8000, amplitude: 500)  // RMS about 354
        #expect(ConversationCore.rms(quiet) < 500)
        #expect(Self.audio(&core, quiet, count: 100).isEmpty)
    }

    @Test func welcomePromptIsTextThenAudioEndedByAnEmptyChunk() {
        let (core, out) = Self.configured(.init(responseContentType: "audio/pcm; sample-rate=8000",
                                                welcomeMessages: [.init(content: "Hi")]))
        #expect(out.first == .send(.textResponse(.init(messages: [.init(content: "Hi")], eventId: "RESPONSE-1"))))
        let chunks = out.dropFirst().compactMap { action -> [UInt8]? in
            if case .send(.audioResponse(let a)) = action { return a.audioChunk }
            return nil
        }
        #expect(chunks.map(\.count) == [1600, 1600, 1600, 1600, 1600, 0])  // 500 ms at 8 kHz in 100 ms chunks
        #expect(core.promptPlaying)
        #expect(core.responseSampleRate == 8000)
    }

    @Test func voiceInterruptsOnlyBeforePlaybackCompletion() {
        var (core, _) = Self.configured(.init(responseContentType: "audio/pcm", welcomeMessages: [.init(content: "Hi")]))
        let first = Self.audio(&core, Self.tone, count: 1)
        #expect(first == [.send(.playbackInterruption(.init(eventReason: "VOICE_START_DETECTED", causedByEventId: "a0",
                                                               eventId: "RESPONSE-8")))])
        #expect(!core.promptPlaying)
        var (again, _) = Self.configured(.init(responseContentType: "audio/pcm", welcomeMessages: [.init(content: "Hi")]))
        #expect(again.receive(.playbackCompletion(.init())).isEmpty)
        #expect(Self.audio(&again, Self.tone, count: 1).isEmpty)
    }

    @Test func sessionAttributeCanForbidInterruption() {
        var (core, _) = Self.configured(.init(responseContentType: "audio/pcm",
                                              sessionState: .init(sessionAttributes: ["x-amz-lex:allow-interrupt:*:*": "false"]),
                                              welcomeMessages: [.init(content: "Hi")]))
        #expect(Self.audio(&core, Self.tone, count: 1).isEmpty)
    }

    @Test func dtmfEndsWithHashOrItsTimer() {
        var (core, _) = Self.configured()
        #expect(core.receive(.dtmfInput(.init(inputCharacter: "4"))) == [.scheduleDTMFEnd(generation: 1, afterMilliseconds: 1000)])
        #expect(core.receive(.dtmfInput(.init(inputCharacter: "2"))) == [.scheduleDTMFEnd(generation: 2, afterMilliseconds: 1000)])
        #expect(core.dtmfTimerFired(generation: 1).isEmpty)  // a later digit restarted it
        #expect(core.dtmfTimerFired(generation: 2) == [.turn(.init(inputMode: "DTMF", heard: "42", speechMilliseconds: 0))])
        _ = core.receive(.dtmfInput(.init(inputCharacter: "7")))
        #expect(core.receive(.dtmfInput(.init(inputCharacter: "#"))) == [.turn(.init(inputMode: "DTMF", heard: "7", speechMilliseconds: 0))])
        #expect(core.receive(.dtmfInput(.init(inputCharacter: "#"))).isEmpty)  // an empty entry is no turn
    }

    @Test func protocolErrorsAreValidationFaults() {
        var fresh = ConversationCore(settings: .init(), sessionId: "s")
        guard case .fail(.exception(.validation))? = fresh.receive(.textInput(.init(text: "hi"))).first else {
            Issue.record("an event before the configuration must fail")
            return
        }
        var (core, _) = Self.configured()
        let wrongRate = SC.AudioInputEvent(audioChunk: Self.tone, contentType: "audio/lpcm; sample-rate=16000; sample-size-bits=16; channel-count=1; is-big-endian=false")
        guard case .fail(.exception(.validation(let m)))? = core.receive(.audioInput(wrongRate)).first else {
            Issue.record("16 kHz input must fail")
            return
        }
        #expect(m.contains("sample-rate=16000"))
        guard case .fail(.exception(.validation))? = core.receive(.configuration(.init(responseContentType: "audio/pcm"))).first else {
            Issue.record("a second configuration must fail")
            return
        }
        var mpeg = ConversationCore(settings: .init(), sessionId: "s")
        guard case .fail(.exception(.validation))? = mpeg.receive(.configuration(.init(responseContentType: "audio/mpeg"))).first else {
            Issue.record("a non-PCM reply type must fail")
            return
        }
    }

    @Test(arguments: [
        SC.AudioInputEvent(audioChunk: [0, 1, 2, 0xFF, 0xFE], eventId: "c-1"),
        SC.AudioInputEvent(audioChunk: [7, 8], eventId: nil),
        SC.AudioInputEvent(audioChunk: [7, 8], eventId: "c-2", clientTimestampMillis: 1_700_000_000_000),
        SC.AudioInputEvent(audioChunk: [], contentType: "audio/lpcm; sample-rate=16000", eventId: "q\"uote"),
    ])
    func audioInputDecodesTheSameByEitherPath(_ event: SC.AudioInputEvent) throws {
        let decoded = try SC.InputEvent(message: SC.InputEvent.audioInput(event).message())
        #expect(decoded == .audioInput(event))
    }

    @Test func answerCarriesIntentStateAndMergedAttributes() {
        var (core, _) = Self.configured(.init(responseContentType: "audio/pcm", sessionState: .init(sessionAttributes: ["a": "1"])))
        let out = core.answer(.init(transcript: nil, intentName: "Bye", message: nil, dialogActionType: "Close", intentState: "Fulfilled",
                                    sessionAttributes: ["nexmo-close": "true"], audio: .none),
                              turn: .init(inputMode: "Text", heard: "bye", speechMilliseconds: 0))
        #expect(out.count == 2)
        #expect(out.first == .send(.transcript(.init(transcript: "bye", eventId: "RESPONSE-1"))))
        guard case .send(.intentResult(let r))? = out.last else { return }
        #expect(r.inputMode == "Text")
        #expect(r.sessionState?.dialogAction?.type == "Close")
        #expect(r.sessionState?.intent?.state == "Fulfilled")
        #expect(r.sessionState?.sessionAttributes == ["a": "1", "nexmo-close": "true"])
        #expect(!core.promptPlaying)  // no audio, no prompt to interrupt
    }
}
