import Foundation

extension LexStandIn {
    /// What the stand-in answers to one request. Build one with the
    /// initialiser or the static helpers and hand it to `setDefaultReply`,
    /// `setReply(forText:)` or `enqueue`.
    public struct Reply: Sendable {
        /// Audio in the reply body.
        public enum Audio: Sendable, Equatable {
            /// A 440 Hz sine of this length, 16 kHz 16-bit LE.
            case tone(milliseconds: Int)
            /// These exact bytes.
            case bytes([UInt8])
            /// An empty body.
            case none
        }

        /// How the reply goes wrong, if it does.
        public enum Failure: Sendable, Equatable {
            /// A Lex-style error: JSON `{"message": ...}`, `x-amzn-ErrorType`.
            case error(status: Int, type: String, message: String)
            /// Status 200 with a body that is not audio.
            case nonAudio(contentType: String, body: String)
            /// Headers promise the whole audio, the connection closes after
            /// this many body bytes.
            case truncated(afterBytes: Int)
            /// The connection closes without any reply.
            case closeWithoutReply
        }

        /// What Lex "heard". nil: the input text for text input, "" for audio.
        public var transcript: String?
        public var intentName: String?
        public var slots: [String: String]
        /// The bot's message (spoken by the audio); nil for none.
        public var message: String?
        /// V1 dialog state names: ElicitIntent, ElicitSlot, ConfirmIntent,
        /// Fulfilled, ReadyForFulfillment, Failed. On V2 the last three become
        /// dialog action `Close` with that intent state; the others keep
        /// their name with intent state `InProgress`.
        public var dialogState: String
        public var slotToElicit: String?
        /// nil: echo the request's session attributes.
        public var sessionAttributes: [String: String]?
        public var audio: Audio
        public var failure: Failure?
        /// Wait before the first response byte (the client sees a slow Lex).
        public var firstByteDelayMilliseconds: Int
        /// Audio body chunk size and pause between chunks.
        public var chunkBytes: Int
        public var chunkIntervalMilliseconds: Int
        /// `Retry-After` sent with an `.error` failure (delta-seconds such as `"1"`, or an
        /// HTTP-date); nil sends none.
        public var retryAfter: String?

        public init(transcript: String? = nil, intentName: String? = nil, slots: [String: String] = [:],
                    message: String? = "Hello from the stand-in", dialogState: String = "ElicitIntent",
                    slotToElicit: String? = nil, sessionAttributes: [String: String]? = nil,
                    audio: Audio = .tone(milliseconds: 500), failure: Failure? = nil,
                    firstByteDelayMilliseconds: Int = 0, chunkBytes: Int = 3200,
                    chunkIntervalMilliseconds: Int = 0, retryAfter: String? = nil) {
            self.transcript = transcript
            self.intentName = intentName
            self.slots = slots
            self.message = message
            self.dialogState = dialogState
            self.slotToElicit = slotToElicit
            self.sessionAttributes = sessionAttributes
            self.audio = audio
            self.failure = failure
            self.firstByteDelayMilliseconds = firstByteDelayMilliseconds
            self.chunkBytes = max(1, chunkBytes)
            self.chunkIntervalMilliseconds = chunkIntervalMilliseconds
            self.retryAfter = retryAfter
        }

        public static func failing(_ failure: Failure) -> Reply {
            Reply(failure: failure)
        }

        public static let accessDenied = Reply.failing(.error(
            status: 403, type: "AccessDeniedException",
            message: "User: arn:aws:iam::123456789012:user/test is not authorized to perform: lex:RecognizeUtterance"))
        public static let notFound = Reply.failing(.error(
            status: 404, type: "ResourceNotFoundException", message: "Could not find the bot or alias"))
        public static let throttled = Reply.failing(.error(
            status: 429, type: "ThrottlingException", message: "Rate exceeded"))
        public static let internalFailure = Reply.failing(.error(
            status: 500, type: "InternalFailureException", message: "An internal error occurred"))
        public static let badGateway = Reply.failing(.error(
            status: 502, type: "BadGatewayException", message: "The bot's Lambda failed"))

        /// Lex V2's quota refusal, `429 LimitExceededException`, with `Retry-After` when given.
        public static func limitExceeded(retryAfter: String? = nil) -> Reply {
            var reply = Reply.failing(.error(status: 429, type: "LimitExceededException", message: "Rate exceeded"))
            reply.retryAfter = retryAfter
            return reply
        }

        /// A reply delayed by `milliseconds` before its first byte.
        public func delayed(by milliseconds: Int) -> Reply {
            var copy = self
            copy.firstByteDelayMilliseconds = milliseconds
            return copy
        }

        var v2DialogAction: (type: String, intentState: String) {
            switch dialogState {
            case "Fulfilled", "Failed", "ReadyForFulfillment": return ("Close", dialogState)
            default: return (dialogState, "InProgress")
            }
        }

        func audioBytes() -> [UInt8] {
            switch audio {
            case .none: return []
            case .bytes(let b): return b
            case .tone(let ms): return LexStandIn.tone(milliseconds: ms)
            }
        }
    }

    /// A 440 Hz sine, 16 kHz mono 16-bit little-endian, amplitude 8000.
    public static func tone(milliseconds: Int, hertz: Double = 440) -> [UInt8] {
        let samples = max(0, milliseconds) * 16
        var out = [UInt8]()
        out.reserveCapacity(samples * 2)
        for i in 0..<samples {
            let v = Int16(8000 * sin(2 * Double.pi * hertz * Double(i) / 16000))
            out.append(UInt8(truncatingIfNeeded: v))
            out.append(UInt8(truncatingIfNeeded: v >> 8))
        }
        return out
    }
}
