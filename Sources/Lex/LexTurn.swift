import Foundation

/// One message from the bot.
public struct LexMessage: Sendable, Hashable {
    /// The text (or SSML, or custom payload).
    public var content: String
    /// `PlainText`, `SSML`, `CustomPayload`, `ImageResponseCard`, `Composite`...
    public var contentType: String

    public init(content: String, contentType: String = "PlainText") {
        self.content = content
        self.contentType = contentType
    }
}

/// What Lex made of one utterance, for both APIs.
///
/// `onResponseStart` receives it without audio as soon as the response
/// headers are in; `onComplete` receives it again at the end with
/// `audioByteCount` (and `audio` when no `onAudio` was given) filled in.
///
/// `isFinal` says the bot considers the intent done and expects no more
/// input for it: V1 `dialogState` Fulfilled, Failed or ReadyForFulfillment
/// (a bot without a fulfilment hook stops there, and this connector fulfils
/// nothing itself); V2 `dialogAction.type` Close. Whether the call then hangs
/// up is the connector's decision (for example the `nexmo-close` session
/// attribute), not this module's.
public struct LexTurn: Sendable, Hashable {
    public var api: LexAPI
    public var statusCode: Int = 200
    /// The response `Content-Type` (`audio/pcm` when there is audio).
    public var contentType: String?
    public var inputTranscript: String?
    /// V2 `x-amz-lex-input-mode`: `Speech`, `Text` or `DTMF`. Nil for V1.
    public var inputMode: String?
    public var messages: [LexMessage] = []
    public var intentName: String?
    /// V2 `intent.state` (InProgress, Fulfilled, Failed, ReadyForFulfillment...).
    /// V1 has no separate intent state: nil.
    public var intentState: String?
    /// Filled slots: V1 `x-amz-lex-slots` values; V2 each slot's
    /// `interpretedValue` (else `originalValue`). Empty slots are left out.
    public var slots: [String: String] = [:]
    /// V1 `dialogState` (ElicitIntent, ElicitSlot, ConfirmIntent, Fulfilled,
    /// ReadyForFulfillment, Failed); V2 `dialogAction.type` (ElicitIntent,
    /// ElicitSlot, ConfirmIntent, Close, Delegate).
    public var dialogState: String?
    public var slotToElicit: String?
    public var sessionAttributes: [String: String] = [:]
    /// V2 request attributes echoed back; V1: empty.
    public var requestAttributes: [String: String] = [:]
    public var sessionId: String?
    /// `x-amzn-RequestId`, for support cases.
    public var requestId: String?
    public var isFinal: Bool = false
    /// The whole reply audio (16 kHz 16-bit LE PCM) when the request had no
    /// `onAudio` handler; empty otherwise (the chunks went to `onAudio`).
    public var audio: [UInt8] = []
    /// Audio bytes received in total.
    public var audioByteCount: Int = 0
    public var transfer = HTTPTransferStats()

    public init(api: LexAPI) {
        self.api = api
    }

    /// The bot's messages joined with a space (what a caller would hear).
    public var messageText: String {
        messages.map(\.content).joined(separator: " ")
    }
}

extension LexTurn {
    /// Maps 2xx response headers to a turn (no audio yet). Throws
    /// `.unexpectedResponse` when a metadata header does not decode.
    public static func parse(api: LexAPI, status: Int, headers: HTTPFields) throws(LexError) -> LexTurn {
        var turn = LexTurn(api: api)
        turn.statusCode = status
        turn.contentType = headers["content-type"]
        turn.sessionId = headers["x-amz-lex-session-id"]
        turn.requestId = headers["x-amzn-requestid"]
        do throws(HeaderFailure) {
            switch api {
            case .v1: try parseV1(headers, into: &turn)
            case .v2: try parseV2(headers, into: &turn)
            }
        } catch {
            throw .unexpectedResponse(status: status, contentType: turn.contentType,
                                      reason: "header \(error.header) does not decode (\(error.reason))")
        }
        return turn
    }

    struct HeaderFailure: Error {
        var header: String
        var reason: HeaderCoding.Failure
    }

    private static func decode<T>(_ header: String, _ body: () throws(HeaderCoding.Failure) -> T) throws(HeaderFailure) -> T {
        do {
            return try body()
        } catch {
            throw HeaderFailure(header: header, reason: error)
        }
    }

    private static func parseV1(_ headers: HTTPFields, into turn: inout LexTurn) throws(HeaderFailure) {
        turn.intentName = headers["x-amz-lex-intent-name"]
        turn.dialogState = headers["x-amz-lex-dialog-state"]
        turn.slotToElicit = headers["x-amz-lex-slot-to-elicit"]
        if let encoded = headers["x-amz-lex-encoded-input-transcript"] {
            turn.inputTranscript = try decode("x-amz-lex-encoded-input-transcript") { () throws(HeaderCoding.Failure) in
                try HeaderCoding.base64Text(encoded)
            }
        } else {
            turn.inputTranscript = headers["x-amz-lex-input-transcript"]
        }
        var message: String?
        if let encoded = headers["x-amz-lex-encoded-message"] {
            message = try decode("x-amz-lex-encoded-message") { () throws(HeaderCoding.Failure) in
                try HeaderCoding.base64Text(encoded)
            }
        } else {
            message = headers["x-amz-lex-message"]
        }
        if let message {
            let format = headers["x-amz-lex-message-format"] ?? "PlainText"
            turn.messages = format == "Composite" ? compositeMessages(message) : [LexMessage(content: message, contentType: format)]
        }
        for (name, keyPath) in [("x-amz-lex-slots", \LexTurn.slots), ("x-amz-lex-session-attributes", \LexTurn.sessionAttributes)] {
            guard let value = headers[name] else { continue }
            let object = try decode(name) { () throws(HeaderCoding.Failure) in
                try HeaderCoding.parseJSON(try HeaderCoding.base64Text(value))
            }
            turn[keyPath: keyPath] = HeaderCoding.stringMap(object)
        }
        turn.isFinal = ["Fulfilled", "Failed", "ReadyForFulfillment"].contains(turn.dialogState ?? "")
    }

    /// V1 `Composite` format: `{"messages":[{"type":"PlainText","group":1,"value":"..."}]}`.
    private static func compositeMessages(_ text: String) -> [LexMessage] {
        guard let object = try? HeaderCoding.parseJSON(text) as? [String: Any],
            let list = object["messages"] as? [[String: Any]]
        else { return [LexMessage(content: text, contentType: "Composite")] }
        return list.compactMap { item in
            guard let value = item["value"] as? String else { return nil }
            return LexMessage(content: value, contentType: item["type"] as? String ?? "PlainText")
        }
    }

    private static func parseV2(_ headers: HTTPFields, into turn: inout LexTurn) throws(HeaderFailure) {
        turn.inputMode = headers["x-amz-lex-input-mode"]
        func json(_ name: String) throws(HeaderFailure) -> Any? {
            guard let value = headers[name] else { return nil }
            return try decode(name) { () throws(HeaderCoding.Failure) -> Any in
                try HeaderCoding.parseJSON(try HeaderCoding.gunzipBase64(value))
            }
        }
        if let value = headers["x-amz-lex-input-transcript"] {
            let text = try decode("x-amz-lex-input-transcript") { () throws(HeaderCoding.Failure) in
                try HeaderCoding.gunzipBase64(value)
            }
            // Documented as a plain string; accept a JSON-quoted one too.
            if text.hasPrefix("\""), let unquoted = try? HeaderCoding.parseJSON(text) as? String {
                turn.inputTranscript = unquoted
            } else {
                turn.inputTranscript = text
            }
        }
        if let list = try json("x-amz-lex-messages") as? [[String: Any]] {
            turn.messages = list.compactMap { item in
                guard let content = item["content"] as? String else { return nil }
                return LexMessage(content: content, contentType: item["contentType"] as? String ?? "PlainText")
            }
        }
        let interpretations = try json("x-amz-lex-interpretations") as? [[String: Any]]
        turn.requestAttributes = HeaderCoding.stringMap(try json("x-amz-lex-request-attributes"))
        if let state = try json("x-amz-lex-session-state") as? [String: Any] {
            if let action = state["dialogAction"] as? [String: Any] {
                turn.dialogState = action["type"] as? String
                turn.slotToElicit = action["slotToElicit"] as? String
            }
            if let intent = state["intent"] as? [String: Any] {
                turn.intentName = intent["name"] as? String
                turn.intentState = intent["state"] as? String
                turn.slots = slotValues(intent["slots"])
            }
            turn.sessionAttributes = HeaderCoding.stringMap(state["sessionAttributes"])
        }
        if turn.intentName == nil, let first = interpretations?.first,
            let intent = first["intent"] as? [String: Any]
        {
            turn.intentName = intent["name"] as? String
            turn.intentState = turn.intentState ?? intent["state"] as? String
            if turn.slots.isEmpty { turn.slots = slotValues(intent["slots"]) }
        }
        turn.isFinal = turn.dialogState == "Close"
    }

    /// `{"Name": {"value": {"interpretedValue": "x", "originalValue": "y"}}, "Empty": null}`;
    /// list slots (`values`) are joined with ", ".
    private static func slotValues(_ any: Any?) -> [String: String] {
        guard let slots = any as? [String: Any] else { return [:] }
        var out: [String: String] = [:]
        func text(_ slot: [String: Any]) -> String? {
            if let value = slot["value"] as? [String: Any] {
                return value["interpretedValue"] as? String ?? value["originalValue"] as? String
            }
            if let values = slot["values"] as? [[String: Any]] {
                let parts = values.compactMap(text)
                return parts.isEmpty ? nil : parts.joined(separator: ", ")
            }
            return nil
        }
        for (name, slot) in slots {
            if let slot = slot as? [String: Any], let value = text(slot) { out[name] = value }
        }
        return out
    }
}

extension LexError {
    /// Maps a non-2xx reply to `.service`: the type from `x-amzn-ErrorType`
    /// (up to the first `:`), else `__type`/`code` in the JSON body (after the
    /// last `#`), else the status; the message from the body's `message`
    /// (any case), else the body's first 200 characters.
    public static func fromResponse(status: Int, headers: HTTPFields, body: [UInt8]) -> LexError {
        var type = headers["x-amzn-errortype"].map { String($0.prefix { $0 != ":" }) }
        var message: String?
        let text = String(decoding: body.prefix(64 * 1024), as: UTF8.self)
        if let object = try? HeaderCoding.parseJSON(text) as? [String: Any] {
            message = (object["message"] ?? object["Message"]) as? String
            if type == nil || type?.isEmpty == true, let raw = (object["__type"] ?? object["code"]) as? String {
                type = raw.split(separator: "#").last.map(String.init)
            }
        }
        if message == nil {
            let trimmed = text.trimmingASCIIWhitespace()
            message = trimmed.isEmpty ? "no message" : String(trimmed.prefix(200))
        }
        return .service(status: status, type: (type?.isEmpty == false ? type : nil) ?? "HTTP\(status)",
                        message: message ?? "no message")
    }
}
