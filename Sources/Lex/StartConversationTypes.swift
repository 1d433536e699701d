import Foundation

/// Lex V2 StartConversation: one HTTP/2 event stream per conversation
/// (`POST /bots/{botId}/botAliases/{botAliasId}/botLocales/{localeId}/sessions/{sessionId}/conversation`).
/// This namespace holds the typed events of both directions and their
/// mapping to event stream messages. Shapes and field names are those of
/// the `lexv2-runtime` 2020-08-07 service model (botocore 1.43.11
/// `service-2.json`), which is authoritative for the JSON; the Lex V2 API
/// reference documents the same shapes.
public enum StartConversation {
    /// The only input audio format: 8 kHz 16-bit mono little-endian PCM
    /// (`AudioInputEvent.contentType`, per the model's documentation).
    public static let audioInputContentType =
        "audio/lpcm; sample-rate=8000; sample-size-bits=16; channel-count=1; is-big-endian=false"
    /// Event messages carry JSON (blobs base64 inside it).
    public static let jsonContentType = "application/json"

    // Event stream header names (Smithy event stream binding).
    public static let messageTypeHeader = ":message-type"
    public static let eventTypeHeader = ":event-type"
    public static let exceptionTypeHeader = ":exception-type"
    public static let contentTypeHeader = ":content-type"
    public static let errorCodeHeader = ":error-code"
    public static let errorMessageHeader = ":error-message"
}

extension StartConversation {
    /// `SessionState`: the dialog state sent in `ConfigurationEvent` and
    /// returned in `IntentResultEvent`. The deep, rarely used members
    /// (`activeContexts`, `runtimeHints`) are kept as JSON values.
    public struct SessionState: Sendable, Hashable, Codable {
        public var dialogAction: DialogAction?
        public var intent: Intent?
        public var activeContexts: [JSONValue]?
        public var sessionAttributes: [String: String]?
        public var originatingRequestId: String?
        public var runtimeHints: JSONValue?

        public init(dialogAction: DialogAction? = nil, intent: Intent? = nil, activeContexts: [JSONValue]? = nil,
                    sessionAttributes: [String: String]? = nil, originatingRequestId: String? = nil,
                    runtimeHints: JSONValue? = nil) {
            self.dialogAction = dialogAction
            self.intent = intent
            self.activeContexts = activeContexts
            self.sessionAttributes = sessionAttributes
            self.originatingRequestId = originatingRequestId
            self.runtimeHints = runtimeHints
        }
    }

    /// `DialogAction`: `type` is one of `Close`, `ConfirmIntent`, `Delegate`,
    /// `ElicitIntent`, `ElicitSlot`, `None`.
    public struct DialogAction: Sendable, Hashable, Codable {
        public var type: String
        public var slotToElicit: String?
        /// `Default`, `SpellByLetter` or `SpellByWord`.
        public var slotElicitationStyle: String?
        /// `ElicitSubSlot` (`{"name": ..., "subSlotToElicit": {...}}`, recursive).
        public var subSlotToElicit: JSONValue?

        public init(type: String, slotToElicit: String? = nil, slotElicitationStyle: String? = nil,
                    subSlotToElicit: JSONValue? = nil) {
            self.type = type
            self.slotToElicit = slotToElicit
            self.slotElicitationStyle = slotElicitationStyle
            self.subSlotToElicit = subSlotToElicit
        }
    }

    /// `Intent`: `state` is one of `Failed`, `Fulfilled`, `InProgress`,
    /// `ReadyForFulfillment`, `Waiting`, `FulfillmentInProgress`;
    /// `confirmationState` one of `Confirmed`, `Denied`, `None`. A slot
    /// without a value is JSON `null` (nil here).
    public struct Intent: Sendable, Hashable, Codable {
        public var name: String
        public var slots: [String: Slot?]?
        public var state: String?
        public var confirmationState: String?

        public init(name: String, slots: [String: Slot?]? = nil, state: String? = nil, confirmationState: String? = nil) {
            self.name = name
            self.slots = slots
            self.state = state
            self.confirmationState = confirmationState
        }
    }

    /// `Slot`: a single `value`, or a list (`shape` `List`, `values`), or
    /// composite `subSlots`.
    public struct Slot: Sendable, Hashable, Codable {
        public var value: Value?
        /// `Scalar`, `List` or `Composite`.
        public var shape: String?
        public var values: [Slot]?
        public var subSlots: [String: Slot]?

        public init(value: Value? = nil, shape: String? = nil, values: [Slot]? = nil, subSlots: [String: Slot]? = nil) {
            self.value = value
            self.shape = shape
            self.values = values
            self.subSlots = subSlots
        }
    }

    /// `Value`: `interpretedValue` is required.
    public struct Value: Sendable, Hashable, Codable {
        public var originalValue: String?
        public var interpretedValue: String
        public var resolvedValues: [String]?

        public init(originalValue: String? = nil, interpretedValue: String, resolvedValues: [String]? = nil) {
            self.originalValue = originalValue
            self.interpretedValue = interpretedValue
            self.resolvedValues = resolvedValues
        }
    }

    /// `Message`: `contentType` is one of `CustomPayload`,
    /// `ImageResponseCard`, `PlainText`, `SSML`.
    public struct Message: Sendable, Hashable, Codable {
        public var content: String?
        public var contentType: String
        public var imageResponseCard: ImageResponseCard?

        public init(content: String?, contentType: String = "PlainText", imageResponseCard: ImageResponseCard? = nil) {
            self.content = content
            self.contentType = contentType
            self.imageResponseCard = imageResponseCard
        }
    }

    /// `ImageResponseCard`: a title, an optional subtitle and image, up to 5 buttons.
    public struct ImageResponseCard: Sendable, Hashable, Codable {
        public struct Button: Sendable, Hashable, Codable {
            public var text: String
            public var value: String
        }
        public var title: String
        public var subtitle: String?
        public var imageUrl: String?
        public var buttons: [Button]?
    }

    /// `Interpretation`: one candidate intent with its NLU confidence and,
    /// when enabled, the sentiment. `interpretationSource` is `Lex` or `Bedrock`.
    public struct Interpretation: Sendable, Hashable, Codable {
        public struct ConfidenceScore: Sendable, Hashable, Codable {
            public var score: Double?
            public init(score: Double?) { self.score = score }
        }
        public var nluConfidence: ConfidenceScore?
        /// `SentimentResponse` (`sentiment`, `sentimentScore`).
        public var sentimentResponse: JSONValue?
        public var intent: Intent?
        public var interpretationSource: String?

        public init(nluConfidence: ConfidenceScore? = nil, sentimentResponse: JSONValue? = nil, intent: Intent? = nil,
                    interpretationSource: String? = nil) {
            self.nluConfidence = nluConfidence
            self.sentimentResponse = sentimentResponse
            self.intent = intent
            self.interpretationSource = interpretationSource
        }
    }

    /// Any JSON value: the members kept untyped.
    public indirect enum JSONValue: Sendable, Hashable, Codable {
        case null
        case bool(Bool)
        case number(Double)
        case string(String)
        case array([JSONValue])
        case object([String: JSONValue])

        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() {
                self = .null
            } else if let b = try? c.decode(Bool.self) {
                self = .bool(b)
            } else if let n = try? c.decode(Double.self) {
                self = .number(n)
            } else if let s = try? c.decode(String.self) {
                self = .string(s)
            } else if let a = try? c.decode([JSONValue].self) {
                self = .array(a)
            } else {
                self = .object(try c.decode([String: JSONValue].self))
            }
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .null: try c.encodeNil()
            case .bool(let b): try c.encode(b)
            case .number(let n): try c.encode(n)
            case .string(let s): try c.encode(s)
            case .array(let a): try c.encode(a)
            case .object(let o): try c.encode(o)
            }
        }
    }
}

extension StartConversation {
    /// Why a message is not a usable StartConversation event.
    public enum DecodingError: Error, Sendable, Hashable, CustomStringConvertible {
        /// A required event stream header (`:message-type`, `:event-type`,
        /// `:exception-type`) is absent or not a string.
        case missingHeader(String)
        /// `:message-type` is neither `event`, `exception` nor `error`.
        case unexpectedMessageType(String)
        /// An input event type the model does not define (stand-in side).
        case unknownEventType(String)
        /// The JSON payload of a known event does not decode to its shape.
        case invalidPayload(eventType: String, reason: String)

        public var description: String {
            switch self {
            case .missingHeader(let name):
                return "Lex stream message has no \(name) string header"
            case .unexpectedMessageType(let type):
                return "Lex stream message has :message-type '\(type)' (expected event, exception or error)"
            case .unknownEventType(let type):
                return "unknown StartConversation input event type '\(type)'"
            case .invalidPayload(let type, let reason):
                return "\(type) payload does not match its shape: \(reason)"
            }
        }

        /// A short reason from a Foundation decoding error: the key path and
        /// what was wrong, never the payload itself (it may hold a transcript).
        static func summary(_ error: any Error) -> String {
            guard let error = error as? Swift.DecodingError else { return "not JSON" }
            func path(_ context: Swift.DecodingError.Context) -> String {
                let p = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
                return p.isEmpty ? "top level" : p
            }
            switch error {
            case .typeMismatch(let type, let c): return "\(path(c)) is not a \(type)"
            case .valueNotFound(let type, let c): return "\(path(c)) is null, expected \(type)"
            case .keyNotFound(let key, let c): return "missing \(key.stringValue) in \(path(c))"
            case .dataCorrupted(let c): return "\(path(c)): \(c.debugDescription)"
            @unknown default: return "undecodable"
            }
        }
    }

    /// `:message-type` event, `:event-type` `type`, `:content-type` application/json.
    static func eventHeaders(_ type: String) -> [EventStreamHeader] {
        [EventStreamHeader(messageTypeHeader, .string("event")),
         EventStreamHeader(eventTypeHeader, .string(type)),
         EventStreamHeader(contentTypeHeader, .string(jsonContentType))]
    }

    static func eventType(of message: EventStreamMessage) throws(DecodingError) -> String {
        guard let type = message.stringHeader(eventTypeHeader) else { throw .missingHeader(eventTypeHeader) }
        return type
    }

    /// The `message` (or `Message`) of an exception's JSON payload, else the
    /// payload's text (at most 500 bytes).
    static func exceptionMessage(_ payload: [UInt8]) -> String {
        if let object = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any],
            let text = (object["message"] ?? object["Message"]) as? String
        {
            return text
        }
        return String(decoding: payload.prefix(500), as: UTF8.self)
    }
}
