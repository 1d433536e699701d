import Audio
import Lex
import Logging
import WebSocketServer

/// What `CallStateMachine` asks its shell (`CallSession`) to do. The shell runs them in order
/// and does nothing else: it holds no call logic. The two large payloads are boxed (`indirect`)
/// so that an action stays small: every call keeps a buffer of them.
enum CallAction: Sendable {
    /// The start message was accepted: open the Lex conversation and the event sink for these
    /// settings (before any other action of the call needs them).
    indirect case started(CallSettings)
    /// A TEXT frame to Vonage (`ok`, `{"action":"clear"}`, an error event).
    case sendText(String)
    /// One 20 ms BINARY frame of the reply, at the call's rate.
    case sendFrame([UInt8])
    /// Begin a Lex turn for this input (at most one is open at a time).
    case sendToLex(LexInput, sessionAttributes: [String: String])
    /// Abandon the open Lex turn: no reply input for it may follow.
    case cancelLex
    /// Streaming calls: one `AudioInputEvent` of 8 kHz 16-bit LE PCM (`StreamingInbound.chunkBytes`).
    case streamAudio([UInt8])
    /// Streaming calls: one `DTMFInputEvent` (`0-9`, `A-D`, `*`, `#`).
    case streamDTMF(String)
    /// Streaming calls: a `PlaybackCompletionEvent` (the prompt's last frame has been sent).
    case streamPlaybackCompleted
    /// Streaming calls: open a new stream on the same session id (after a retryable fault),
    /// configured with these session attributes; the caller's audio goes on to it.
    case reopenStream(sessionAttributes: [String: String])
    /// Streaming calls: send a `DisconnectionEvent` and the signed end of stream, wait a bounded
    /// time for Lex to end its side, then let the stream go.
    case endStream
    /// A webhook event (dropped by the shell when the call has no `webhook_url`).
    indirect case emit(CallEvent)
    case count(CallMetric)
    /// `[debug] record_dir`: write these samples as a WAV named after the call.
    case record(samples: [Int16], rate: Int, kind: Recording)
    case log(Logger.Level, Logger.Message, Logger.Metadata = [:])
    /// Close the WebSocket with this code and reason (RFC 6455 section 5.5.1).
    case close(WebSocketCloseCode, reason: String)
    /// The call is over: let go of its resources (pacer, per-client count). Always last.
    case release

    enum Recording: String, Sendable { case utterance, reply }
}

/// The metrics a call counts (`ConnectorMetrics` names them for Prometheus).
enum CallMetric: Sendable, Equatable {
    /// The call started (calls_total, calls_active).
    case callStarted
    /// Frames of reply audio sent since the last tick.
    case framesPlayed(Int)
    /// Frames sent (or skipped) after their due time since the last tick.
    case framesLate(Int)
    /// Audio messages received since the last tick.
    case framesReceived(Int)
    case utterance(ConnectorMetrics.UtteranceOutcome)
    /// A completed Lex request: the HTTP status, or `error` when none came.
    case lexRequest(api: LexAPI, status: ConnectorMetrics.LexRequestStatus)
    case error(ConnectorMetrics.ErrorKind)
    case badInput(ConnectorMetrics.BadInput)
    /// From sending a Lex request to its completion.
    case lexLatency(Duration)
    /// From the end of an utterance to libcurl starting to send its request.
    case speechToRequest(Duration)
    /// From a reply's first body bytes at the Lex client to its first frame to the caller.
    case replyToFirstFrame(Duration)
    /// Streaming calls: a stream failed, by `LexStreamFault.metricType`.
    case streamError(String)
    /// Streaming calls: a stream was reopened after a retryable fault.
    case streamReopened
    /// Streaming calls: from a prompt's first audio chunk on the call's loop to its first frame out.
    case promptToFirstFrame(Duration)
}
