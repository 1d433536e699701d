import Foundation
import Lex

/// What the stand-in's conversation logic asks its shell to do.
enum ConversationAction: Sendable, Equatable {
    /// Send this event to the client.
    case send(StartConversation.OutputEvent)
    /// A turn ended: pick the scripted reply and hand it to `ConversationCore.answer`.
    case turn(ConversationTurn)
    /// End the stream with this fault.
    case fail(ConversationFault)
    /// Call `ConversationCore.dtmfTimerFired(generation:)` after this many milliseconds.
    case scheduleDTMFEnd(generation: Int, afterMilliseconds: Int)
}

/// One ended turn: what the caller said (by the stand-in's rules) and how.
struct ConversationTurn: Sendable, Equatable {
    /// `Speech`, `DTMF` or `Text` (`IntentResultEvent.inputMode`).
    var inputMode: String
    /// The digits or text; for speech `"stand-in heard N ms"`.
    var heard: String
    /// Speech length by the energy rule (0 for DTMF and text).
    var speechMilliseconds: Int
}

/// The stand-in's StartConversation logic, pure: input events in, actions out. Time enters
/// only as audio length (the energy rule counts milliseconds of 8 kHz audio) and as the DTMF
/// timer the shell runs. Rules (the stand-in's, not Lex's recogniser):
/// - the first event must be `ConfigurationEvent` (else ValidationException), once;
/// - speech: a chunk whose RMS is at least `rmsThreshold` is speech; the turn ends after
///   `endSilenceMilliseconds` of audio below it;
/// - DTMF: digits collect until `#` or `dtmfEndMilliseconds` after the last one;
/// - a prompt plays from its first audio event until `PlaybackCompletionEvent`; voice, DTMF or
///   text in that time interrupts it (`PlaybackInterruptionEvent`) when the prompt allows it.
struct ConversationCore: Sendable {
    struct Settings: Sendable, Equatable {
        var rmsThreshold: Double = 500
        var endSilenceMilliseconds = 400
        var dtmfEndMilliseconds = 1000
        /// Length of the welcome prompt's tone.
        var welcomeAudioMilliseconds = 500
    }

    let settings: Settings
    let sessionId: String
    private(set) var configured = false
    /// Sample rate of reply audio (`audio/pcm`, default 16 kHz).
    private(set) var responseSampleRate = 16_000
    private(set) var sessionAttributes: [String: String] = [:]
    private var requestAttributes: [String: String]?
    private var playbackDisabled = false
    /// A prompt was sent and its playback completion has not come.
    private(set) var promptPlaying = false
    private var promptInterruptible = false
    private var speaking = false
    private var speechMilliseconds = 0
    private var silenceMilliseconds = 0
    private var digits = ""
    private var dtmfGeneration = 0
    private var eventCounter = 0

    init(settings: Settings, sessionId: String) {
        self.settings = settings
        self.sessionId = sessionId
    }

    mutating func receive(_ event: StartConversation.InputEvent) -> [ConversationAction] {
        guard configured else {
            guard case .configuration(let c) = event else {
                return [.fail(.exception(.validation("The first event of the stream must be a ConfigurationEvent, not \(event.eventType)")))]
            }
            return configure(c)
        }
        switch event {
        case .configuration:
            return [.fail(.exception(.validation("ConfigurationEvent may be sent only once, as the first event")))]
        case .audioInput(let e):
            guard e.contentType == StartConversation.audioInputContentType || Self.mediaType(e.contentType) == Self.audioInputMediaType else {
                return [.fail(.exception(.validation("Unsupported audio content type \(e.contentType): send \(StartConversation.audioInputContentType)")))]
            }
            guard e.audioChunk.count % 2 == 0 else {
                return [.fail(.exception(.validation("Audio chunk of \(e.audioChunk.count) bytes is not whole 16-bit samples")))]
            }
            return audio(e.audioChunk, eventId: e.eventId)
        case .dtmfInput(let e):
            guard StartConversation.DTMFInputEvent.isValid(e.inputCharacter) else {
                return [.fail(.exception(.validation("Invalid DTMF input character \(e.inputCharacter): one of 0-9, A-D, # or *")))]
            }
            var out = interrupt("DTMF_START_DETECTED", causedBy: e.eventId)
            if e.inputCharacter == "#" {
                if !digits.isEmpty { out.append(endDTMF()) }
                return out
            }
            digits += e.inputCharacter
            dtmfGeneration += 1
            out.append(.scheduleDTMFEnd(generation: dtmfGeneration, afterMilliseconds: settings.dtmfEndMilliseconds))
            return out
        case .textInput(let e):
            return interrupt("TEXT_DETECTED", causedBy: e.eventId)
                + [.turn(ConversationTurn(inputMode: "Text", heard: e.text, speechMilliseconds: 0))]
        case .playbackCompletion:
            promptPlaying = false
            return []
        case .disconnection:
            return []
        }
    }

    /// The DTMF entry's timer: ends the entry unless a later digit restarted it.
    mutating func dtmfTimerFired(generation: Int) -> [ConversationAction] {
        guard generation == dtmfGeneration, !digits.isEmpty else { return [] }
        return [endDTMF()]
    }

    /// The events answering `turn` with `reply` (not a failing one: the shell fails the stream).
    mutating func answer(_ reply: ConversationReply, turn: ConversationTurn) -> [ConversationAction] {
        sessionAttributes.merge(reply.sessionAttributes) { _, new in new }
        let transcript = reply.transcript ?? turn.heard
        var slots: [String: StartConversation.Slot?] = [:]
        for (name, value) in reply.slots {
            slots[name] = StartConversation.Slot(value: .init(originalValue: value, interpretedValue: value))
        }
        let intent = StartConversation.Intent(name: reply.intentName, slots: slots, state: reply.intentState,
                                              confirmationState: "None")
        let state = StartConversation.SessionState(
            dialogAction: StartConversation.DialogAction(type: reply.dialogActionType, slotToElicit: reply.slotToElicit),
            intent: intent, sessionAttributes: sessionAttributes)
        var interpretation = StartConversation.Interpretation()
        interpretation.intent = intent
        interpretation.nluConfidence = .init(score: 1)
        var out: [ConversationAction] = [
            .send(.transcript(.init(transcript: transcript, eventId: nextEventId()))),
            .send(.intentResult(.init(inputMode: turn.inputMode, interpretations: [interpretation], sessionState: state,
                                      requestAttributes: requestAttributes, sessionId: sessionId, eventId: nextEventId()))),
        ]
        out += prompt(message: reply.message, audio: reply.audioBytes(sampleRate: responseSampleRate),
                      chunkMilliseconds: reply.chunkMilliseconds, allowInterrupt: reply.allowInterrupt)
        return out
    }

    // MARK: -

    private mutating func configure(_ c: StartConversation.ConfigurationEvent) -> [ConversationAction] {
        guard let rate = Self.responseRate(c.responseContentType) else {
            return [.fail(.exception(.validation("responseContentType \(c.responseContentType) is not served by the stand-in: use audio/pcm")))]
        }
        configured = true
        responseSampleRate = rate
        sessionAttributes = c.sessionState?.sessionAttributes ?? [:]
        requestAttributes = c.requestAttributes
        playbackDisabled = c.disablePlayback ?? false
        let welcome = (c.welcomeMessages ?? []).compactMap(\.content)
        guard !welcome.isEmpty else { return [] }
        let audio = ConversationReply.tone(milliseconds: settings.welcomeAudioMilliseconds, sampleRate: rate)
        return prompt(message: welcome.joined(separator: " "), audio: audio, chunkMilliseconds: 100, allowInterrupt: true)
    }

    private mutating func prompt(message: String?, audio: [UInt8], chunkMilliseconds: Int, allowInterrupt: Bool) -> [ConversationAction] {
        var out: [ConversationAction] = []
        if let message {
            out.append(.send(.textResponse(.init(messages: [.init(content: message)], eventId: nextEventId()))))
        }
        guard !audio.isEmpty else { return out }
        let contentType = "audio/pcm; sample-rate=\(responseSampleRate)"
        let chunk = max(2, responseSampleRate * 2 * chunkMilliseconds / 1000 / 2 * 2)
        var offset = 0
        while offset < audio.count {
            let end = min(audio.count, offset + chunk)
            out.append(.send(.audioResponse(.init(audioChunk: Array(audio[offset..<end]), contentType: contentType, eventId: nextEventId()))))
            offset = end
        }
        out.append(.send(.audioResponse(.init(audioChunk: [], contentType: contentType, eventId: nextEventId()))))
        promptPlaying = !playbackDisabled
        promptInterruptible = allowInterrupt && sessionAttributes.first {
            $0.key.hasPrefix("x-amz-lex:allow-interrupt") && $0.value.lowercased() == "false"
        } == nil
        return out
    }

    private mutating func audio(_ chunk: [UInt8], eventId: String?) -> [ConversationAction] {
        let milliseconds = chunk.count / 16  // 8 kHz, 2 bytes a sample
        if Self.rms(chunk) >= settings.rmsThreshold {
            silenceMilliseconds = 0
            speechMilliseconds += milliseconds
            if !speaking {
                speaking = true
                return interrupt("VOICE_START_DETECTED", causedBy: eventId)
            }
            return []
        }
        guard speaking else { return [] }
        silenceMilliseconds += milliseconds
        guard silenceMilliseconds >= settings.endSilenceMilliseconds else { return [] }
        let heard = speechMilliseconds
        speaking = false
        speechMilliseconds = 0
        silenceMilliseconds = 0
        return [.turn(ConversationTurn(inputMode: "Speech", heard: "stand-in heard \(heard) ms", speechMilliseconds: heard))]
    }

    private mutating func interrupt(_ reason: String, causedBy: String?) -> [ConversationAction] {
        guard promptPlaying, promptInterruptible else { return [] }
        promptPlaying = false
        return [.send(.playbackInterruption(.init(eventReason: reason, causedByEventId: causedBy, eventId: nextEventId())))]
    }

    private mutating func endDTMF() -> ConversationAction {
        let entry = digits
        digits = ""
        dtmfGeneration += 1
        return .turn(ConversationTurn(inputMode: "DTMF", heard: entry, speechMilliseconds: 0))
    }

    private mutating func nextEventId() -> String {
        eventCounter += 1
        return "RESPONSE-\(eventCounter)"
    }

    /// Root mean square of 16-bit little-endian samples.
    static func rms(_ pcm: [UInt8]) -> Double {
        let n = pcm.count / 2
        guard n > 0 else { return 0 }
        var sum = 0.0
        for i in 0..<n {
            let v = Double(Int16(bitPattern: UInt16(pcm[2 * i]) | UInt16(pcm[2 * i + 1]) << 8))
            sum += v * v
        }
        return (sum / Double(n)).squareRoot()
    }

    /// `audio/pcm` (16 kHz, as Lex's RecognizeUtterance) or `audio/pcm; sample-rate=N`; nil for others.
    static func responseRate(_ contentType: String) -> Int? {
        let parts = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard parts.first == "audio/pcm" else { return nil }
        for p in parts.dropFirst() where p.hasPrefix("sample-rate=") {
            guard let rate = Int(p.dropFirst("sample-rate=".count)), [8000, 16000, 24000, 48000].contains(rate) else { return nil }
            return rate
        }
        return 16_000
    }

    static let audioInputMediaType = mediaType(StartConversation.audioInputContentType)

    static func mediaType(_ value: String) -> String {
        value.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.joined(separator: ";")
    }
}
