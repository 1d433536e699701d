import Foundation
import Testing

@testable import Lex

@Suite("Lex response parsing")
struct LexTurnTests {
    @Test("V2 gzip+base64 headers become a turn")
    func v2Turn() throws {
        let state = #"{"dialogAction":{"type":"ElicitSlot","slotToElicit":"Nights"},"intent":{"name":"BookHotel","slots":{"City":{"shape":"Scalar","value":{"originalValue":"london","interpretedValue":"London","resolvedValues":["London"]}},"Nights":null},"state":"InProgress","confirmationState":"None"},"sessionAttributes":{"nexmo-close":"false","n":3},"originatingRequestId":"r"}"#
        let headers = HTTPFields([
            ("Content-Type", "audio/pcm"),
            ("x-amz-lex-input-mode", "Speech"),
            ("x-amz-lex-session-id", "call:1"),
            ("x-amzn-RequestId", "req-1"),
            ("x-amz-lex-session-state", LexHeaderEncoding.gzipBase64(state)),
            ("x-amz-lex-messages", LexHeaderEncoding.gzipBase64(#"[{"content":"How many nights?","contentType":"PlainText"},{"content":"<speak>x</speak>","contentType":"SSML"}]"#)),
            ("x-amz-lex-input-transcript", LexHeaderEncoding.gzipBase64("a room in london")),
            ("x-amz-lex-interpretations", LexHeaderEncoding.gzipBase64(#"[{"intent":{"name":"BookHotel","state":"InProgress"}}]"#)),
        ])
        let turn = try LexTurn.parse(api: .v2, status: 200, headers: headers)
        #expect(turn.inputTranscript == "a room in london")
        #expect(turn.inputMode == "Speech")
        #expect(turn.messages == [LexMessage(content: "How many nights?"), LexMessage(content: "<speak>x</speak>", contentType: "SSML")])
        #expect(turn.intentName == "BookHotel")
        #expect(turn.intentState == "InProgress")
        #expect(turn.slots == ["City": "London"])
        #expect(turn.dialogState == "ElicitSlot")
        #expect(turn.slotToElicit == "Nights")
        #expect(turn.sessionAttributes == ["nexmo-close": "false", "n": "3"])
        #expect(turn.sessionId == "call:1")
        #expect(turn.requestId == "req-1")
        #expect(!turn.isFinal)
    }

    @Test("V2 Close is final; a JSON-quoted transcript is unquoted")
    func v2Close() throws {
        let headers = HTTPFields([
            ("x-amz-lex-session-state", LexHeaderEncoding.gzipBase64(#"{"dialogAction":{"type":"Close"},"intent":{"name":"Bye","state":"Fulfilled"}}"#)),
            ("x-amz-lex-input-transcript", LexHeaderEncoding.gzipBase64(#""goodbye""#)),
        ])
        let turn = try LexTurn.parse(api: .v2, status: 200, headers: headers)
        #expect(turn.isFinal)
        #expect(turn.intentState == "Fulfilled")
        #expect(turn.inputTranscript == "goodbye")
    }

    @Test("V1 plain and encoded headers give the same turn")
    func v1Turn() throws {
        let common: [(String, String)] = [
            ("Content-Type", "audio/pcm"),
            ("x-amz-lex-intent-name", "OrderFlowers"),
            ("x-amz-lex-dialog-state", "Fulfilled"),
            ("x-amz-lex-slots", LexHeaderEncoding.base64(#"{"FlowerType":"roses","PickupDate":null}"#)),
            ("x-amz-lex-session-attributes", LexHeaderEncoding.base64(#"{"nexmo-close":"true"}"#)),
            ("x-amz-lex-message-format", "PlainText"),
        ]
        let plain = try LexTurn.parse(api: .v1, status: 200, headers: HTTPFields(common + [
            ("x-amz-lex-message", "Thanks"), ("x-amz-lex-input-transcript", "roses please"),
        ]))
        let encoded = try LexTurn.parse(api: .v1, status: 200, headers: HTTPFields(common + [
            ("x-amz-lex-encoded-message", LexHeaderEncoding.base64("Thanks")),
            ("x-amz-lex-encoded-input-transcript", LexHeaderEncoding.base64("roses please")),
        ]))
        #expect(plain == encoded)
        #expect(plain.messages == [LexMessage(content: "Thanks")])
        #expect(plain.inputTranscript == "roses please")
        #expect(plain.slots == ["FlowerType": "roses"])
        #expect(plain.sessionAttributes == ["nexmo-close": "true"])
        #expect(plain.isFinal)
        #expect(plain.inputMode == nil)
    }

    @Test("V1 dialog states that end the intent", arguments: [
        ("ElicitIntent", false), ("ElicitSlot", false), ("ConfirmIntent", false),
        ("Fulfilled", true), ("ReadyForFulfillment", true), ("Failed", true),
    ])
    func v1Final(_ state: String, _ final: Bool) throws {
        let turn = try LexTurn.parse(api: .v1, status: 200, headers: HTTPFields([("x-amz-lex-dialog-state", state)]))
        #expect(turn.isFinal == final)
    }

    @Test("V1 Composite messages are split")
    func composite() throws {
        let message = #"{"messages":[{"type":"PlainText","group":1,"value":"Hello"},{"type":"SSML","group":2,"value":"<speak>Bye</speak>"}]}"#
        let turn = try LexTurn.parse(api: .v1, status: 200, headers: HTTPFields([
            ("x-amz-lex-encoded-message", LexHeaderEncoding.base64(message)), ("x-amz-lex-message-format", "Composite"),
        ]))
        #expect(turn.messages == [LexMessage(content: "Hello"), LexMessage(content: "<speak>Bye</speak>", contentType: "SSML")])
        #expect(turn.messageText == "Hello <speak>Bye</speak>")
    }

    @Test("a metadata header that does not decode is an unexpectedResponse, not a crash", arguments: [
        (LexAPI.v2, "x-amz-lex-session-state", "not base64!"),
        (LexAPI.v2, "x-amz-lex-messages", LexHeaderEncoding.base64("not gzip")),
        (LexAPI.v2, "x-amz-lex-messages", LexHeaderEncoding.gzipBase64("{not json")),
        (LexAPI.v1, "x-amz-lex-slots", "%%%"),
        (LexAPI.v1, "x-amz-lex-encoded-message", "@@@"),
    ])
    func corruptHeader(_ api: LexAPI, _ name: String, _ value: String) {
        #expect {
            try LexTurn.parse(api: api, status: 200, headers: HTTPFields([(name, value)]))
        } throws: { error in
            guard let error = error as? LexError, case .unexpectedResponse(_, _, let reason) = error else { return false }
            return reason.contains(name) && !error.isRetryable
        }
    }

    @Test("error replies map to typed, correctly retryable errors")
    func errors() {
        let e403 = LexError.fromResponse(
            status: 403,
            headers: HTTPFields([("x-amzn-ErrorType", "InvalidSignatureException:http://internal.amazon.com/coral/")]),
            body: Array(#"{"message":"Signature expired"}"#.utf8))
        #expect(e403 == .service(status: 403, type: "InvalidSignatureException", message: "Signature expired"))
        #expect(!e403.isRetryable)
        let e429 = LexError.fromResponse(status: 429, headers: HTTPFields(),
                                         body: Array(#"{"__type":"com.amazon#ThrottlingException","Message":"slow down"}"#.utf8))
        #expect(e429 == .service(status: 429, type: "ThrottlingException", message: "slow down"))
        #expect(e429.isRetryable)
        let e502 = LexError.fromResponse(status: 502, headers: HTTPFields(), body: Array("<html>Bad gateway</html>".utf8))
        #expect(e502 == .service(status: 502, type: "HTTP502", message: "<html>Bad gateway</html>"))
        #expect(e502.isRetryable)
        #expect(!LexError.fromResponse(status: 404, headers: HTTPFields(), body: []).isRetryable)
        #expect(LexError.connection(code: 7, message: "refused").isRetryable)
        #expect(LexError.timeout("connect to x within 1 s").isRetryable)
        #expect(!LexError.timeout("no complete reply within the 1 s deadline").isRetryable)
        #expect(!LexError.cancelled.isRetryable)
        #expect(e403.description.contains("check aws_key"))
    }
}
