import Foundation
import Lex

/// The metadata headers of a 2xx reply, as Lex sends them (V1 plain or base64, V2 gzip+base64).
extension LexStandIn {
    func metadataHeaders(_ reply: Reply, record: RecordedRequest, api: LexAPI) -> [(String, String)] {
        let requestId = UUID().uuidString.lowercased()
        let transcript = reply.transcript ?? record.inputText ?? ""
        let sessionAttributes = reply.sessionAttributes ?? record.sessionAttributes
        var headers: [(String, String)] = [
            ("x-amzn-RequestId", requestId),
            ("Date", Self.httpDate(configuration.now())),
            ("Content-Type", "audio/pcm"),
        ]
        switch record.target {
        case .v2(_, _, _, let sessionId)?:
            headers.append(("x-amz-lex-session-id", sessionId))
            headers.append(("x-amz-lex-input-mode", record.inputText == nil ? "Speech" : "Text"))
            let action = reply.v2DialogAction
            var slotsJSON = "{"
            for (i, key) in reply.slots.keys.sorted().enumerated() {
                let value = LexHeaderEncoding.jsonString(reply.slots[key] ?? "")
                slotsJSON += (i > 0 ? "," : "") + LexHeaderEncoding.jsonString(key)
                    + ":{\"shape\":\"Scalar\",\"value\":{\"originalValue\":\(value),\"interpretedValue\":\(value),\"resolvedValues\":[\(value)]}}"
            }
            slotsJSON += "}"
            let intent = reply.intentName.map {
                "{\"name\":\(LexHeaderEncoding.jsonString($0)),\"slots\":\(slotsJSON),\"state\":\"\(action.intentState)\",\"confirmationState\":\"None\"}"
            }
            var dialogAction = "{\"type\":\"\(action.type)\""
            if let slot = reply.slotToElicit { dialogAction += ",\"slotToElicit\":" + LexHeaderEncoding.jsonString(slot) }
            dialogAction += "}"
            var sessionState = "{\"dialogAction\":\(dialogAction)"
            if let intent { sessionState += ",\"intent\":\(intent)" }
            sessionState += ",\"sessionAttributes\":\(LexHeaderEncoding.compactJSON(sessionAttributes))"
            sessionState += ",\"originatingRequestId\":\"\(requestId)\"}"
            let interpretations = "[" + (intent.map { "{\"intent\":\($0),\"nluConfidence\":{\"score\":0.97}}," } ?? "")
                + "{\"intent\":{\"name\":\"FallbackIntent\",\"slots\":{},\"state\":\"InProgress\"}}]"
            headers.append(("x-amz-lex-session-state", LexHeaderEncoding.gzipBase64(sessionState)))
            headers.append(("x-amz-lex-interpretations", LexHeaderEncoding.gzipBase64(interpretations)))
            if let message = reply.message {
                headers.append(("x-amz-lex-messages", LexHeaderEncoding.gzipBase64(
                    "[{\"content\":\(LexHeaderEncoding.jsonString(message)),\"contentType\":\"PlainText\"}]")))
            }
            headers.append(("x-amz-lex-input-transcript", LexHeaderEncoding.gzipBase64(transcript)))
            if !record.requestAttributes.isEmpty {
                headers.append(("x-amz-lex-request-attributes",
                                LexHeaderEncoding.gzipBase64(LexHeaderEncoding.compactJSON(record.requestAttributes))))
            }
        case .v1(_, _, let user)?:
            headers.append(("x-amz-lex-session-id", "2024-05-06T07:08:09.000Z-\(user.prefix(8))"))
            headers.append(("x-amz-lex-bot-version", "$LATEST"))
            headers.append(("x-amz-lex-dialog-state", reply.dialogState))
            if let intent = reply.intentName { headers.append(("x-amz-lex-intent-name", intent)) }
            if let slot = reply.slotToElicit { headers.append(("x-amz-lex-slot-to-elicit", slot)) }
            if reply.intentName != nil {
                headers.append(("x-amz-lex-slots", LexHeaderEncoding.base64(LexHeaderEncoding.compactJSON(reply.slots))))
            }
            headers.append(("x-amz-lex-session-attributes",
                            LexHeaderEncoding.base64(LexHeaderEncoding.compactJSON(sessionAttributes))))
            if let message = reply.message {
                headers.append(("x-amz-lex-message-format", "PlainText"))
                if configuration.v1EncodedHeaders {
                    headers.append(("x-amz-lex-encoded-message", LexHeaderEncoding.base64(message)))
                } else {
                    headers.append(("x-amz-lex-message", message))
                }
            }
            if configuration.v1EncodedHeaders {
                headers.append(("x-amz-lex-encoded-input-transcript", LexHeaderEncoding.base64(transcript)))
            } else {
                headers.append(("x-amz-lex-input-transcript", transcript))
            }
        case nil:
            break
        }
        return headers
    }
}
