import Foundation

extension StartConversation {
    /// `HeartbeatEvent`: the stream is still open.
    public struct HeartbeatEvent: Sendable, Hashable, Codable {
        /// `RESPONSE-N`, N counting Lex's events in the session from 1.
        public var eventId: String?
        public init(eventId: String? = nil) { self.eventId = eventId }
    }

    /// `TranscriptEvent`: what Lex heard.
    public struct TranscriptEvent: Sendable, Hashable, Codable {
        public var transcript: String?
        public var eventId: String?
        public init(transcript: String?, eventId: String? = nil) {
            self.transcript = transcript
            self.eventId = eventId
        }
    }

    /// `IntentResultEvent`: the interpretations and the new session state.
    /// `inputMode` is `Text`, `Speech` or `DTMF`.
    public struct IntentResultEvent: Sendable, Hashable, Codable {
        public struct RecognizedBotMember: Sendable, Hashable, Codable {
            public var botId: String
            public var botName: String?
        }
        public var inputMode: String?
        public var interpretations: [Interpretation]?
        public var sessionState: SessionState?
        public var requestAttributes: [String: String]?
        public var sessionId: String?
        public var eventId: String?
        public var recognizedBotMember: RecognizedBotMember?

        public init(inputMode: String? = nil, interpretations: [Interpretation]? = nil, sessionState: SessionState? = nil,
                    requestAttributes: [String: String]? = nil, sessionId: String? = nil, eventId: String? = nil) {
            self.inputMode = inputMode
            self.interpretations = interpretations
            self.sessionState = sessionState
            self.requestAttributes = requestAttributes
            self.sessionId = sessionId
            self.eventId = eventId
        }
    }

    /// `TextResponseEvent`: the messages of the reply, in order.
    public struct TextResponseEvent: Sendable, Hashable, Codable {
        public var messages: [Message]?
        public var eventId: String?
        public init(messages: [Message]?, eventId: String? = nil) {
            self.messages = messages
            self.eventId = eventId
        }
    }

    /// `AudioResponseEvent`: a chunk of the reply's audio in the
    /// configuration's `responseContentType`; an empty chunk ends the prompt.
    public struct AudioResponseEvent: Sendable, Hashable, Codable {
        public var audioChunk: [UInt8]
        public var contentType: String?
        public var eventId: String?

        public init(audioChunk: [UInt8], contentType: String? = nil, eventId: String? = nil) {
            self.audioChunk = audioChunk
            self.contentType = contentType
            self.eventId = eventId
        }

        enum CodingKeys: String, CodingKey { case audioChunk, contentType, eventId }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            audioChunk = try decodeBase64(c, .audioChunk) ?? []
            contentType = try c.decodeIfPresent(String.self, forKey: .contentType)
            eventId = try c.decodeIfPresent(String.self, forKey: .eventId)
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(Data(audioChunk).base64EncodedString(), forKey: .audioChunk)
            try c.encodeIfPresent(contentType, forKey: .contentType)
            try c.encodeIfPresent(eventId, forKey: .eventId)
        }
    }

    /// `PlaybackInterruptionEvent`: stop playing the prompt. `eventReason` is
    /// `DTMF_START_DETECTED`, `TEXT_DETECTED` or `VOICE_START_DETECTED`.
    public struct PlaybackInterruptionEvent: Sendable, Hashable, Codable {
        public var eventReason: String?
        /// The client's event (audio, DTMF or text) that caused it.
        public var causedByEventId: String?
        public var eventId: String?

        public init(eventReason: String?, causedByEventId: String? = nil, eventId: String? = nil) {
            self.eventReason = eventReason
            self.causedByEventId = causedByEventId
            self.eventId = eventId
        }
    }

    /// An exception in the stream (`:message-type` `exception`, the type in
    /// `:exception-type`, `{"message": ...}` as payload; or an unmodeled
    /// `:message-type` `error` with `:error-code` and `:error-message`).
    /// HTTP statuses and the retry split follow the service model.
    public enum Exception: Error, Sendable, Hashable, CustomStringConvertible {
        /// 403: the credentials lack `lex:StartConversation` on the bot alias.
        case accessDenied(String)
        /// 404: no such bot, alias or locale in this region.
        case resourceNotFound(String)
        /// 400: a malformed event or configuration.
        case validation(String)
        /// 429: too many requests or conversations (quota).
        case throttling(String)
        /// 500: Lex failed.
        case internalServer(String)
        /// 409: another conversation is open on the same bot and session id.
        case conflict(String)
        /// 424: a Lambda function or other dependency failed.
        case dependencyFailed(String)
        /// 502: Lex's upstream failed.
        case badGateway(String)
        /// A type this version does not model, or a `:message-type` `error`.
        case other(type: String, message: String)

        public init(type: String, message: String) {
            switch type {
            case "AccessDeniedException": self = .accessDenied(message)
            case "ResourceNotFoundException": self = .resourceNotFound(message)
            case "ValidationException": self = .validation(message)
            case "ThrottlingException": self = .throttling(message)
            case "InternalServerException": self = .internalServer(message)
            case "ConflictException": self = .conflict(message)
            case "DependencyFailedException": self = .dependencyFailed(message)
            case "BadGatewayException": self = .badGateway(message)
            default: self = .other(type: type, message: message)
            }
        }

        /// The `:exception-type` (the model's shape name).
        public var type: String {
            switch self {
            case .accessDenied: return "AccessDeniedException"
            case .resourceNotFound: return "ResourceNotFoundException"
            case .validation: return "ValidationException"
            case .throttling: return "ThrottlingException"
            case .internalServer: return "InternalServerException"
            case .conflict: return "ConflictException"
            case .dependencyFailed: return "DependencyFailedException"
            case .badGateway: return "BadGatewayException"
            case .other(let type, _): return type
            }
        }

        public var message: String {
            switch self {
            case .accessDenied(let m), .resourceNotFound(let m), .validation(let m), .throttling(let m),
                .internalServer(let m), .conflict(let m), .dependencyFailed(let m), .badGateway(let m):
                return m
            case .other(_, let m): return m
            }
        }

        /// The HTTP status the model gives the shape (0 for `other`).
        public var statusCode: Int {
            switch self {
            case .accessDenied: return 403
            case .resourceNotFound: return 404
            case .validation: return 400
            case .throttling: return 429
            case .internalServer: return 500
            case .conflict: return 409
            case .dependencyFailed: return 424
            case .badGateway: return 502
            case .other: return 0
            }
        }

        /// Whether reopening the stream (same session id) may succeed:
        /// throttling, internal server, dependency failed and bad gateway.
        /// Access, resource, validation and conflict errors repeat as they are.
        public var isRetryable: Bool {
            switch self {
            case .throttling, .internalServer, .dependencyFailed, .badGateway: return true
            case .accessDenied, .resourceNotFound, .validation, .conflict, .other: return false
            }
        }

        public var description: String {
            let hint: String
            switch self {
            case .accessDenied: hint = " (the credentials need lex:StartConversation on the bot alias)"
            case .resourceNotFound: hint = " (check the bot id, alias id, locale and region)"
            case .validation: hint = " (an event or the configuration is malformed)"
            case .throttling: hint = " (too many conversations: raise the quota or lower the call rate)"
            case .conflict: hint = " (another conversation is open on this bot and session id)"
            case .internalServer, .dependencyFailed, .badGateway: hint = " (Lex-side failure; retryable)"
            case .other: hint = ""
            }
            return "Lex stream exception \(type): \(message)" + hint
        }
    }

    /// An event Lex sends (`StartConversationResponseEventStream`).
    public enum OutputEvent: Sendable, Hashable {
        case heartbeat(HeartbeatEvent)
        case transcript(TranscriptEvent)
        case intentResult(IntentResultEvent)
        case textResponse(TextResponseEvent)
        case audioResponse(AudioResponseEvent)
        case playbackInterruption(PlaybackInterruptionEvent)
        /// An exception in the stream: the stream is over.
        case exception(Exception)
        /// An event type this version does not know: skip it, do not fail.
        case unknown(String)

        /// Maps one message from Lex. Throws only when the message is not a
        /// well-formed event at all (no `:message-type`, a known event whose
        /// JSON does not decode); an unknown event type is `.unknown(name)`.
        public init(message: EventStreamMessage) throws(StartConversation.DecodingError) {
            guard let messageType = message.stringHeader(StartConversation.messageTypeHeader) else {
                throw .missingHeader(StartConversation.messageTypeHeader)
            }
            switch messageType {
            case "event":
                let type = try StartConversation.eventType(of: message)
                switch type {
                case "HeartbeatEvent": self = .heartbeat(try decodeJSON(message.payload, event: type))
                case "TranscriptEvent": self = .transcript(try decodeJSON(message.payload, event: type))
                case "IntentResultEvent": self = .intentResult(try decodeJSON(message.payload, event: type))
                case "TextResponseEvent": self = .textResponse(try decodeJSON(message.payload, event: type))
                case "AudioResponseEvent":
                    if let fast = AudioResponseEvent(flatJSON: message.payload) {
                        self = .audioResponse(fast)
                    } else {
                        self = .audioResponse(try decodeJSON(message.payload, event: type))
                    }
                case "PlaybackInterruptionEvent": self = .playbackInterruption(try decodeJSON(message.payload, event: type))
                default: self = .unknown(type)
                }
            case "exception":
                guard let type = message.stringHeader(StartConversation.exceptionTypeHeader) else {
                    throw .missingHeader(StartConversation.exceptionTypeHeader)
                }
                self = .exception(Exception(type: type, message: StartConversation.exceptionMessage(message.payload)))
            case "error":
                let code = message.stringHeader(StartConversation.errorCodeHeader) ?? "UnknownError"
                let text = message.stringHeader(StartConversation.errorMessageHeader) ?? ""
                self = .exception(.other(type: code, message: text))
            default:
                throw .unexpectedMessageType(messageType)
            }
        }

        /// The `:event-type` (or `:exception-type`) name.
        public var eventType: String {
            switch self {
            case .heartbeat: return "HeartbeatEvent"
            case .transcript: return "TranscriptEvent"
            case .intentResult: return "IntentResultEvent"
            case .textResponse: return "TextResponseEvent"
            case .audioResponse: return "AudioResponseEvent"
            case .playbackInterruption: return "PlaybackInterruptionEvent"
            case .exception(let e): return e.type
            case .unknown(let name): return name
            }
        }

        /// The message as Lex sends it (the stand-in's side). An `.unknown`
        /// event gets an empty JSON object as payload.
        public func message() -> EventStreamMessage {
            let payload: [UInt8]
            switch self {
            case .heartbeat(let e): payload = encodeJSON(e)
            case .transcript(let e): payload = encodeJSON(e)
            case .intentResult(let e): payload = encodeJSON(e)
            case .textResponse(let e): payload = encodeJSON(e)
            case .audioResponse(let e): payload = encodeJSON(e)
            case .playbackInterruption(let e): payload = encodeJSON(e)
            case .unknown: payload = Array("{}".utf8)
            case .exception(let e):
                return EventStreamMessage(
                    headers: [EventStreamHeader(StartConversation.messageTypeHeader, .string("exception")),
                              EventStreamHeader(StartConversation.exceptionTypeHeader, .string(e.type)),
                              EventStreamHeader(StartConversation.contentTypeHeader, .string(StartConversation.jsonContentType))],
                    payload: encodeJSON(["message": e.message]))
            }
            return EventStreamMessage(headers: StartConversation.eventHeaders(eventType), payload: payload)
        }
    }
}
