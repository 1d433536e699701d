import Foundation
import Lex

/// How a StartConversation stream on the stand-in goes wrong, when scripted to.
public enum ConversationFault: Sendable, Hashable, CustomStringConvertible {
    /// An exception event (`:message-type` exception, `{"message": ...}`), then END_STREAM.
    case exception(StartConversation.Exception)
    /// RST_STREAM with this code (the stream dies without an event).
    case reset(HTTP2ErrorCode)
    /// GOAWAY with this code on the stream's connection, refusing this stream; the connection closes.
    case goAway(HTTP2ErrorCode)
    /// The opening request answered with this HTTP status and a JSON `{"message": ...}` body,
    /// with `x-amzn-errortype` when `errorType` is set (a proxy or load balancer sends none).
    /// Only as an opening failure (`enqueueStreamFailures`); after the opening, a reset.
    case status(Int, errorType: String?)

    public static let throttling = ConversationFault.exception(.throttling("Rate exceeded"))
    public static let internalServer = ConversationFault.exception(.internalServer("An internal error occurred"))
    public static let badGateway = ConversationFault.exception(.badGateway("The bot's Lambda function failed"))
    public static let dependencyFailed = ConversationFault.exception(
        .dependencyFailed("Invalid Lambda Response: the fulfillment code hook failed"))
    public static let conflict = ConversationFault.exception(
        .conflict("Another conversation is already open on this bot alias and session id"))
    public static let accessDenied = ConversationFault.exception(
        .accessDenied("User: arn:aws:iam::123456789012:user/test is not authorized to perform: lex:StartConversation"))
    public static let validation = ConversationFault.exception(.validation("Invalid event"))
    public static let resourceNotFound = ConversationFault.exception(.resourceNotFound("Could not find the bot alias"))

    /// Every exception fault above, for tests that walk them all.
    public static let allExceptions: [ConversationFault] = [
        .throttling, .internalServer, .badGateway, .dependencyFailed, .conflict, .accessDenied, .validation,
        .resourceNotFound,
    ]

    public var description: String {
        switch self {
        case .exception(let e): return e.type
        case .reset(let code): return "RST_STREAM \(code)"
        case .goAway(let code): return "GOAWAY \(code)"
        case .status(let code, let type): return "HTTP \(code)" + (type.map { " \($0)" } ?? "")
        }
    }
}

/// What the streaming stand-in answers to one turn (the caller's speech ended, a DTMF entry,
/// a text input) or plays as a welcome prompt. Hand it to `ConversationStandIn.setDefaultReply`,
/// `setReply(forTranscript:)` or `enqueue`.
public struct ConversationReply: Sendable, Equatable {
    /// The reply's audio, generated at the rate the configuration's `responseContentType` asks.
    public enum Audio: Sendable, Equatable {
        /// A 440 Hz sine of this length.
        case tone(milliseconds: Int)
        /// These exact bytes (16-bit LE PCM, sent as they are, whatever the rate).
        case bytes([UInt8])
        /// No audio events at all (a text-only turn).
        case none
    }

    /// `TranscriptEvent.transcript`. nil: the digits for DTMF, the text for text input, and
    /// `"stand-in heard N ms"` for speech (N the speech length by the energy rule).
    public var transcript: String?
    public var intentName: String
    /// Slot name to interpreted value.
    public var slots: [String: String]
    /// `TextResponseEvent` message (nil: no text response event).
    public var message: String?
    /// `sessionState.dialogAction.type`: ElicitIntent, ElicitSlot, ConfirmIntent, Close, Delegate.
    public var dialogActionType: String
    public var slotToElicit: String?
    /// `sessionState.intent.state`: InProgress, Fulfilled, ReadyForFulfillment, Failed.
    public var intentState: String
    /// Merged over the session's attributes (the configuration's, then earlier replies').
    public var sessionAttributes: [String: String]
    public var audio: Audio
    /// Audio per `AudioResponseEvent`, in milliseconds (the last is shorter; an empty one follows).
    public var chunkMilliseconds: Int
    /// Whether the caller's voice or DTMF may interrupt this prompt before its playback completion.
    public var allowInterrupt: Bool
    /// Wait before the first event of the answer (a slow Lex), in milliseconds.
    public var delayMilliseconds: Int
    /// Instead of answering: fail the stream so.
    public var failure: ConversationFault?

    public init(transcript: String? = nil, intentName: String = "StandInIntent", slots: [String: String] = [:],
                message: String? = "Hello from the stand-in", dialogActionType: String = "ElicitIntent",
                slotToElicit: String? = nil, intentState: String = "InProgress", sessionAttributes: [String: String] = [:],
                audio: Audio = .tone(milliseconds: 500), chunkMilliseconds: Int = 100, allowInterrupt: Bool = true,
                delayMilliseconds: Int = 0, failure: ConversationFault? = nil) {
        self.transcript = transcript
        self.intentName = intentName
        self.slots = slots
        self.message = message
        self.dialogActionType = dialogActionType
        self.slotToElicit = slotToElicit
        self.intentState = intentState
        self.sessionAttributes = sessionAttributes
        self.audio = audio
        self.chunkMilliseconds = max(1, chunkMilliseconds)
        self.allowInterrupt = allowInterrupt
        self.delayMilliseconds = max(0, delayMilliseconds)
        self.failure = failure
    }

    /// A reply that fails the stream with `fault` at its turn.
    public static func failing(_ fault: ConversationFault) -> ConversationReply {
        ConversationReply(failure: fault)
    }

    /// The same reply, `milliseconds` late.
    public func delayed(by milliseconds: Int) -> ConversationReply {
        var copy = self
        copy.delayMilliseconds = max(0, milliseconds)
        return copy
    }

    /// Dialog action Close with intent state Fulfilled and `nexmo-close` set: the call's last turn.
    public static func goodbye(_ message: String = "Goodbye") -> ConversationReply {
        ConversationReply(message: message, dialogActionType: "Close", intentState: "Fulfilled",
                          sessionAttributes: ["nexmo-close": "true"])
    }

    /// The PCM bytes at `sampleRate` (16-bit LE mono).
    func audioBytes(sampleRate: Int) -> [UInt8] {
        switch audio {
        case .none: return []
        case .bytes(let b): return b
        case .tone(let ms): return ConversationReply.tone(milliseconds: ms, sampleRate: sampleRate)
        }
    }

    /// A 440 Hz sine of `milliseconds` at `sampleRate`, 16-bit LE, amplitude 8000.
    public static func tone(milliseconds: Int, sampleRate: Int, hertz: Double = 440, amplitude: Double = 8000) -> [UInt8] {
        let samples = max(0, milliseconds) * sampleRate / 1000
        var out = [UInt8]()
        out.reserveCapacity(samples * 2)
        for i in 0..<samples {
            let v = Int16(amplitude * sin(2 * Double.pi * hertz * Double(i) / Double(sampleRate)))
            out.append(UInt8(truncatingIfNeeded: v))
            out.append(UInt8(truncatingIfNeeded: v >> 8))
        }
        return out
    }
}
