/// The webhook events of a call, one `Encodable` type per event of the README's event table
/// (README "Events"; `CallEventsREADMETests` holds the two together). Field names are the
/// coding keys (snake_case, as the README writes them); an optional field left nil is omitted.
/// `EventSink` adds the envelope every event carries (`event`, `sequence`, `timestamp`,
/// `call_id`, `session_id`, `service`, `client_id`).
public protocol CallEventBody: Encodable, Sendable, Equatable {
    /// The `event` field's value.
    static var name: String { get }
}

/// `call_started`: the start message was accepted.
public struct CallStarted: CallEventBody {
    public static let name = "call_started"
    /// The call's sample rate in Hz (8000, 16000 or 24000).
    public var rate: Int
    /// `v1` (PostContent) or `v2` (RecognizeUtterance).
    public var api: String
    /// The AWS region the call's Lex requests go to.
    public var region: String
    enum CodingKeys: String, CodingKey, CaseIterable { case rate, api, region }
}

/// `utterance`: the caller's speech was cut into an utterance that goes to Lex.
public struct UtteranceEnded: CallEventBody {
    public static let name = "utterance"
    public var durationMs: Int
    /// `silence` or `maximum_length`.
    public var reason: String
    enum CodingKeys: String, CodingKey, CaseIterable { case durationMs = "duration_ms", reason }
}

/// `lex_turn`: Lex answered one input.
public struct LexTurnCompleted: CallEventBody {
    public static let name = "lex_turn"
    public var customerTranscript: String
    public var botTranscript: String
    public var intent: String
    public var slots: [String: String]
    public var dialogState: String
    /// V2 `x-amz-lex-input-mode` (`Speech`, `Text`, `DTMF`); omitted for V1.
    public var inputMode: String?
    /// From sending the request to its completion, in milliseconds.
    public var latencyMs: Int
    /// What the input was: `speech`, `dtmf`, `welcome` or `no_input`.
    public var input: String
    enum CodingKeys: String, CodingKey, CaseIterable { case customerTranscript = "customer_transcript", botTranscript = "bot_transcript", intent, slots, dialogState = "dialog_state", inputMode = "input_mode", latencyMs = "latency_ms", input }
}

/// `playback_started`: a reply began to play from silence.
public struct PlaybackStarted: CallEventBody {
    public static let name = "playback_started"
}

/// `playback_finished`: the last frame of the replies queued so far was sent.
public struct PlaybackFinished: CallEventBody {
    public static let name = "playback_finished"
    /// Frames sent since playback started.
    public var frames: Int
    enum CodingKeys: String, CodingKey, CaseIterable { case frames }
}

/// `playback_interrupted`: barge-in dropped the rest of the reply.
public struct PlaybackInterrupted: CallEventBody {
    public static let name = "playback_interrupted"
    /// Playing time of the audio dropped, in milliseconds.
    public var remainingMs: Int
    enum CodingKeys: String, CodingKey, CaseIterable { case remainingMs = "remaining_ms" }
}

/// `dtmf`: the caller pressed a key.
public struct DTMFPressed: CallEventBody {
    public static let name = "dtmf"
    /// One of `0123456789*#ABCD`.
    public var digit: String
    enum CodingKeys: String, CodingKey, CaseIterable { case digit }
}

/// `no_input`: a prompt played and the caller said nothing (no speech, no DTMF key) for the
/// start timeout (`[call] no_input_timeout_ms`, or Lex's `x-amz-lex:audio:start-timeout-ms`);
/// `[call] no_input_text` goes to Lex as text.
public struct NoInput: CallEventBody {
    public static let name = "no_input"
    /// The start timeout that passed, in milliseconds.
    public var timeoutMs: Int
    enum CodingKeys: String, CodingKey, CaseIterable { case timeoutMs = "timeout_ms" }
}

/// `error`: something failed and the call goes on.
public struct CallError: CallEventBody {
    public static let name = "error"
    /// `lex` or `queue_overflow`.
    public var kind: String
    public var message: String
    /// For `lex`: whether the same request may succeed when sent again.
    public var retryable: Bool?
    enum CodingKeys: String, CodingKey, CaseIterable { case kind, message, retryable }
}

/// `call_ended`: the WebSocket closed.
public struct CallEnded: CallEventBody {
    public static let name = "call_ended"
    /// The WebSocket close code (RFC 6455 section 7.4).
    public var code: Int
    public var reason: String
    /// Whether the caller's side (Vonage) closed the socket.
    public var byCaller: Bool
    /// From the start message to the end, in seconds.
    public var durationSeconds: Double
    public var utterances: Int
    public var lexTurns: Int
    public var lexErrors: Int
    public var framesPlayed: Int
    public var bargeIns: Int
    public var dtmfDigits: Int
    enum CodingKeys: String, CodingKey, CaseIterable { case code, reason, byCaller = "by_caller", durationSeconds = "duration_s", utterances, lexTurns = "lex_turns", lexErrors = "lex_errors", framesPlayed = "frames_played", bargeIns = "barge_ins", dtmfDigits = "dtmf_digits" }
}

/// Any one of the events, as the state machine emits it.
public enum CallEvent: Sendable, Equatable {
    case callStarted(CallStarted)
    case utterance(UtteranceEnded)
    case lexTurn(LexTurnCompleted)
    case playbackStarted(PlaybackStarted)
    case playbackFinished(PlaybackFinished)
    case playbackInterrupted(PlaybackInterrupted)
    case dtmf(DTMFPressed)
    case noInput(NoInput)
    case error(CallError)
    case callEnded(CallEnded)

    /// The event's body and its `event` name.
    public var body: any CallEventBody {
        switch self {
        case .callStarted(let b): b
        case .utterance(let b): b
        case .lexTurn(let b): b
        case .playbackStarted(let b): b
        case .playbackFinished(let b): b
        case .playbackInterrupted(let b): b
        case .dtmf(let b): b
        case .noInput(let b): b
        case .error(let b): b
        case .callEnded(let b): b
        }
    }

    public var name: String { type(of: body).name }
}
