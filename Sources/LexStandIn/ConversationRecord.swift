import Foundation
import Lex

/// One StartConversation stream as the stand-in saw it: what it received (decoded), what it
/// sent, how it ended. Read them with `ConversationStandIn.streams`.
public struct ConversationRecord: Sendable {
    /// 1, 2, 3... in opening order over the stand-in's life.
    public var sequence: Int
    public var botId: String
    public var aliasId: String
    public var localeId: String
    public var sessionId: String
    /// Request headers (no pseudo-headers), in order.
    public var headers: HTTPFields
    /// `https` (TLS) or `http` (h2c).
    public var scheme: String
    /// The opening request's SigV4 check.
    public var signature: LexStandIn.RecordedRequest.SignatureCheck
    /// Status of the response HEADERS (200, or the refusal's).
    public var status: Int
    /// Chained event signatures that verified.
    public var verifiedSignatures = 0
    /// Why a chained signature was refused (the stream then ended with AccessDeniedException).
    public var signatureFailure: String?
    /// Every input event, decoded, in arrival order.
    public var events: [StartConversation.InputEvent] = []
    public var configuration: StartConversation.ConfigurationEvent?
    /// Audio received: events, bytes, the largest chunk.
    public var audioEvents = 0
    public var audioBytes = 0
    public var largestAudioChunk = 0
    /// DTMF characters received, in order.
    public var dtmf = ""
    public var texts: [String] = []
    public var playbackCompletions = 0
    public var disconnected = false
    /// The signed empty message that ends the event stream arrived.
    public var endOfStream = false
    /// The client's END_STREAM arrived.
    public var clientEnded = false
    /// The stream closed (by either side), with its RST_STREAM code (NO_ERROR for a clean close).
    public var closed: HTTP2ErrorCode?
    /// Events sent, by `:event-type`; exceptions by `:exception-type`.
    public var sent: [String: Int] = [:]
    /// Transcripts answered, in order (one per turn).
    public var turns: [String] = []
    /// CLOCK_MONOTONIC nanoseconds (`LexStandIn.monotonicNanoseconds`) when each answer's first
    /// event was sent, in order.
    public var answeredAt: [UInt64] = []
    /// `PlaybackInterruptionEvent` reasons sent, in order.
    public var interruptions: [String] = []
    /// The fault the stream ended with, when it did (scripted, or a refusal of bad input).
    public var fault: ConversationFault?
    /// The stand-in's maximum stream lifetime ran out and it ended the stream.
    public var lifetimeExpired = false

    /// One line for logs and tools: ids, checks, counts, how it ended (no secret: the
    /// signature check's reason names no key).
    public var summary: String {
        let check: String
        switch signature {
        case .valid: check = "valid"
        case .missing: check = "missing"
        case .invalid(let why): check = "invalid (\(why.prefix(100)))"
        }
        var fields = ["conversation \(sequence):", "session=\(sessionId)", "scheme=\(scheme)", "status=\(status)",
                      "signature=\(check)", "chained=\(verifiedSignatures)", "audio=\(audioEvents) events/\(audioBytes) B",
                      "dtmf=\"\(dtmf)\"", "turns=\(turns.count)", "interruptions=\(interruptions.count)",
                      "playback_completions=\(playbackCompletions)", "disconnected=\(disconnected)",
                      "end_of_stream=\(endOfStream)"]
        if let signatureFailure { fields.append("chain_failure=\"\(signatureFailure)\"") }
        if let fault { fields.append("fault=\"\(fault)\"") }
        if lifetimeExpired { fields.append("lifetime_expired") }
        fields.append("closed=\(closed.map { "\($0)" } ?? "open")")
        return fields.joined(separator: " ")
    }

    /// Events of one `:event-type`, e.g. `"DTMFInputEvent"`.
    public func count(of eventType: String) -> Int {
        events.reduce(0) { $0 + ($1.eventType == eventType ? 1 : 0) }
    }
}
