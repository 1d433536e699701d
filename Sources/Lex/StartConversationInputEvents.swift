import Foundation

extension StartConversation {
    /// `ConfigurationEvent`: sent first and once; `responseContentType` is
    /// required (`text/plain; charset=utf-8`, or `audio/...` for speech, e.g.
    /// `audio/pcm`). Set `sessionState.dialogAction` when sending
    /// `welcomeMessages` (the model's documentation requires it).
    public struct ConfigurationEvent: Sendable, Hashable, Codable {
        public var requestAttributes: [String: String]?
        public var responseContentType: String
        public var sessionState: SessionState?
        public var welcomeMessages: [Message]?
        /// True when the client does not play audio (Lex then does not wait
        /// for a playback completion).
        public var disablePlayback: Bool?
        public var eventId: String?
        public var clientTimestampMillis: Int64?

        public init(responseContentType: String, sessionState: SessionState? = nil, welcomeMessages: [Message]? = nil,
                    requestAttributes: [String: String]? = nil, disablePlayback: Bool? = nil,
                    eventId: String? = nil, clientTimestampMillis: Int64? = nil) {
            self.responseContentType = responseContentType
            self.sessionState = sessionState
            self.welcomeMessages = welcomeMessages
            self.requestAttributes = requestAttributes
            self.disablePlayback = disablePlayback
            self.eventId = eventId
            self.clientTimestampMillis = clientTimestampMillis
        }
    }

    /// `AudioInputEvent`: a chunk of the caller's audio, base64 in the JSON.
    public struct AudioInputEvent: Sendable, Hashable, Codable {
        public var audioChunk: [UInt8]
        public var contentType: String
        public var eventId: String?
        public var clientTimestampMillis: Int64?

        public init(audioChunk: [UInt8], contentType: String = StartConversation.audioInputContentType,
                    eventId: String? = nil, clientTimestampMillis: Int64? = nil) {
            self.audioChunk = audioChunk
            self.contentType = contentType
            self.eventId = eventId
            self.clientTimestampMillis = clientTimestampMillis
        }

        enum CodingKeys: String, CodingKey { case audioChunk, contentType, eventId, clientTimestampMillis }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            audioChunk = try decodeBase64(c, .audioChunk) ?? []
            contentType = try c.decode(String.self, forKey: .contentType)
            eventId = try c.decodeIfPresent(String.self, forKey: .eventId)
            clientTimestampMillis = try c.decodeIfPresent(Int64.self, forKey: .clientTimestampMillis)
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(Data(audioChunk).base64EncodedString(), forKey: .audioChunk)
            try c.encode(contentType, forKey: .contentType)
            try c.encodeIfPresent(eventId, forKey: .eventId)
            try c.encodeIfPresent(clientTimestampMillis, forKey: .clientTimestampMillis)
        }
    }

    /// `DTMFInputEvent`: one key, `A`-`D`, `0`-`9`, `#` or `*`.
    public struct DTMFInputEvent: Sendable, Hashable, Codable {
        public var inputCharacter: String
        public var eventId: String?
        public var clientTimestampMillis: Int64?

        public init(inputCharacter: String, eventId: String? = nil, clientTimestampMillis: Int64? = nil) {
            self.inputCharacter = inputCharacter
            self.eventId = eventId
            self.clientTimestampMillis = clientTimestampMillis
        }

        /// True for the characters the model's pattern `^[A-D0-9#*]{1}$` allows.
        public static func isValid(_ character: String) -> Bool {
            guard character.utf8.count == 1, let c = character.utf8.first else { return false }
            return (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "D"))
                || c == UInt8(ascii: "#") || c == UInt8(ascii: "*")
        }
    }

    /// `TextInputEvent`: typed text (1 to 1024 characters).
    public struct TextInputEvent: Sendable, Hashable, Codable {
        public var text: String
        public var eventId: String?
        public var clientTimestampMillis: Int64?

        public init(text: String, eventId: String? = nil, clientTimestampMillis: Int64? = nil) {
            self.text = text
            self.eventId = eventId
            self.clientTimestampMillis = clientTimestampMillis
        }
    }

    /// `PlaybackCompletionEvent`: the client finished playing Lex's audio;
    /// required when the client plays it (`disablePlayback` false).
    public struct PlaybackCompletionEvent: Sendable, Hashable, Codable {
        public var eventId: String?
        public var clientTimestampMillis: Int64?

        public init(eventId: String? = nil, clientTimestampMillis: Int64? = nil) {
            self.eventId = eventId
            self.clientTimestampMillis = clientTimestampMillis
        }
    }

    /// `DisconnectionEvent`: the client is leaving (optional, helps logs).
    public struct DisconnectionEvent: Sendable, Hashable, Codable {
        public var eventId: String?
        public var clientTimestampMillis: Int64?

        public init(eventId: String? = nil, clientTimestampMillis: Int64? = nil) {
            self.eventId = eventId
            self.clientTimestampMillis = clientTimestampMillis
        }
    }

    /// An event the client sends (`StartConversationRequestEventStream`).
    public enum InputEvent: Sendable, Hashable {
        case configuration(ConfigurationEvent)
        case audioInput(AudioInputEvent)
        case dtmfInput(DTMFInputEvent)
        case textInput(TextInputEvent)
        case playbackCompletion(PlaybackCompletionEvent)
        case disconnection(DisconnectionEvent)

        /// The `:event-type` header value (the member name in the model).
        public var eventType: String {
            switch self {
            case .configuration: return "ConfigurationEvent"
            case .audioInput: return "AudioInputEvent"
            case .dtmfInput: return "DTMFInputEvent"
            case .textInput: return "TextInputEvent"
            case .playbackCompletion: return "PlaybackCompletionEvent"
            case .disconnection: return "DisconnectionEvent"
            }
        }

        /// The JSON payload. The frequent small events are written directly;
        /// the configuration goes through `JSONEncoder` (sorted keys).
        public func payload() -> [UInt8] {
            switch self {
            case .configuration(let e):
                return encodeJSON(e)
            case .audioInput(let e):
                var w = JSONObjectWriter()
                w.field("audioChunk", base64: e.audioChunk)
                w.field("contentType", string: e.contentType)
                w.common(e.eventId, e.clientTimestampMillis)
                return w.finish()
            case .dtmfInput(let e):
                var w = JSONObjectWriter()
                w.field("inputCharacter", string: e.inputCharacter)
                w.common(e.eventId, e.clientTimestampMillis)
                return w.finish()
            case .textInput(let e):
                var w = JSONObjectWriter()
                w.field("text", string: e.text)
                w.common(e.eventId, e.clientTimestampMillis)
                return w.finish()
            case .playbackCompletion(let e):
                var w = JSONObjectWriter()
                w.common(e.eventId, e.clientTimestampMillis)
                return w.finish()
            case .disconnection(let e):
                var w = JSONObjectWriter()
                w.common(e.eventId, e.clientTimestampMillis)
                return w.finish()
            }
        }

        /// The event stream message: `:message-type` `event`, `:event-type`,
        /// `:content-type` `application/json`, the JSON payload. Sign it
        /// (`SigV4EventSigner.signedFrame`) before it goes on the wire.
        public func message() -> EventStreamMessage {
            EventStreamMessage(headers: StartConversation.eventHeaders(eventType), payload: payload())
        }

        /// Reads an input event back (the stand-in's side). Unknown event
        /// types are an error here: a service refuses them.
        public init(message: EventStreamMessage) throws(StartConversation.DecodingError) {
            let type = try StartConversation.eventType(of: message)
            switch type {
            case "ConfigurationEvent": self = .configuration(try decodeJSON(message.payload, event: type))
            case "AudioInputEvent":
                if let fast = AudioInputEvent(flatJSON: message.payload) {
                    self = .audioInput(fast)
                } else {
                    self = .audioInput(try decodeJSON(message.payload, event: type))
                }
            case "DTMFInputEvent": self = .dtmfInput(try decodeJSON(message.payload, event: type))
            case "TextInputEvent": self = .textInput(try decodeJSON(message.payload, event: type))
            case "PlaybackCompletionEvent": self = .playbackCompletion(try decodeJSON(message.payload, event: type))
            case "DisconnectionEvent": self = .disconnection(try decodeJSON(message.payload, event: type))
            default: throw .unknownEventType(type)
            }
        }
    }
}
