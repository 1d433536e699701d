import Lex

/// What a streaming conversation (one Lex V2 StartConversation stream per call) tells the
/// call, as inputs of `CallStateMachine.lexStream(_:at:)`. `StreamingConversation` maps Lex's
/// events to these on the call's event loop; heartbeats stay in the conversation.
enum LexStreamInput: Sendable, Equatable {
    /// `AudioResponseEvent`: the next bytes of a prompt, 16-bit LE PCM at `sampleRate` (the
    /// chunk's `contentType` `sample-rate` parameter, else 16000). An empty chunk ends the prompt.
    case audio([UInt8], sampleRate: Int)
    /// `PlaybackInterruptionEvent`: the caller spoke (or pressed a key, or typed) over the
    /// prompt and the bot allows it: stop playing. `reason` is Lex's `eventReason`
    /// (`DTMF_START_DETECTED`, `TEXT_DETECTED`, `VOICE_START_DETECTED`).
    case interrupted(reason: String)
    /// `TranscriptEvent`: what Lex heard.
    case transcript(String)
    /// `IntentResultEvent`: the interpretation and the new session state.
    case intent(StartConversation.IntentResultEvent)
    /// `TextResponseEvent`: the bot's messages, in order.
    case text([StartConversation.Message])
    /// The stream failed: an exception in it, a reset, a transport failure.
    case failed(LexStreamFault)
    /// Lex ended its side of the stream without an exception.
    case ended
}

/// Why a StartConversation stream failed. `isRetryable` decides whether the call reopens the
/// stream on the same session id (once) or gives up (1011, or `[call] fallback_prompt`).
enum LexStreamFault: Sendable, Equatable, CustomStringConvertible {
    /// An exception in the stream (`:message-type` exception), or an HTTP error status at the
    /// opening (mapped to the exception of that status).
    case exception(StartConversation.Exception)
    /// The stream or its connection went away: RST_STREAM, GOAWAY, connection closed, a
    /// timeout, bytes that are not an event stream. `reason` says which.
    case reset(String)
    /// Lex ended the stream while the conversation was not over: its lifetime ran out.
    case lifetimeEnded

    /// Throttling, internal, bad gateway, dependency failures, resets and the end of the
    /// stream's lifetime may succeed on a new stream; access, not found, validation and
    /// conflict will not.
    var isRetryable: Bool {
        switch self {
        case .exception(let e): e.isRetryable
        case .reset, .lifetimeEnded: true
        }
    }

    /// The `lexconnector_stream_errors_total{type}` dimension.
    var metricType: String {
        switch self {
        case .exception(let e): e.type
        case .reset: "reset"
        case .lifetimeEnded: "lifetime_ended"
        }
    }

    var description: String {
        switch self {
        case .exception(let e): e.description
        case .reset(let reason): "the Lex stream was reset: \(reason)"
        case .lifetimeEnded: "Lex ended the stream before the conversation was over"
        }
    }
}
