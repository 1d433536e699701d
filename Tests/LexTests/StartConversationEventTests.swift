import Foundation
import Testing

@testable import Lex

typealias SC = StartConversation

func message(_ type: String, _ json: String, messageType: String = "event") -> EventStreamMessage {
    EventStreamMessage(headers: [EventStreamHeader(":message-type", .string(messageType)),
                                 EventStreamHeader(":event-type", .string(type)),
                                 EventStreamHeader(":content-type", .string("application/json"))],
                       payload: Array(json.utf8))
}

@Suite("StartConversation events")
struct StartConversationEventTests {
    static let inputs: [SC.InputEvent] = [
        .configuration(SC.ConfigurationEvent(
            responseContentType: "audio/pcm",
            sessionState: SC.SessionState(dialogAction: SC.DialogAction(type: "ElicitIntent"),
                                          sessionAttributes: ["tenant": "acme"]),
            welcomeMessages: [SC.Message(content: "Hello, how can I help?")],
            requestAttributes: ["x-call": "c1"], disablePlayback: false, eventId: "c1-config",
            clientTimestampMillis: 1_700_000_000_000)),
        .audioInput(SC.AudioInputEvent(audioChunk: [0, 1, 2, 0xFF, 0xFE], eventId: "c1-1")),
        .dtmfInput(SC.DTMFInputEvent(inputCharacter: "#", clientTimestampMillis: 5)),
        .textInput(SC.TextInputEvent(text: "say \"hi\"\n\u{1}\\ é")),
        .playbackCompletion(SC.PlaybackCompletionEvent(eventId: "c1-pc")),
        .disconnection(SC.DisconnectionEvent()),
    ]

    @Test("input events become event messages with the model's names and JSON")
    func inputTranscript() {
        let wire = Self.inputs.map { $0.message() }
        for m in wire {
            #expect(m.headers.map(\.name) == [":message-type", ":event-type", ":content-type"])
            #expect(m.stringHeader(":message-type") == "event")
            #expect(m.stringHeader(":content-type") == "application/json")
        }
        #expect(wire.map { $0.stringHeader(":event-type")! } == [
            "ConfigurationEvent", "AudioInputEvent", "DTMFInputEvent", "TextInputEvent", "PlaybackCompletionEvent",
            "DisconnectionEvent",
        ])
        let text = wire.map { String(decoding: $0.payload, as: UTF8.self) }
        #expect(text[0] == #"{"clientTimestampMillis":1700000000000,"disablePlayback":false,"eventId":"c1-config","#
            + #""requestAttributes":{"x-call":"c1"},"responseContentType":"audio/pcm","sessionState":"#
            + #"{"dialogAction":{"type":"ElicitIntent"},"sessionAttributes":{"tenant":"acme"}},"#
            + #""welcomeMessages":[{"content":"Hello, how can I help?","contentType":"PlainText"}]}"#)
        #expect(text[1] == #"{"audioChunk":"AAEC//4=","contentType":"audio/lpcm; sample-rate=8000; sample-size-bits=16; channel-count=1; is-big-endian=false","eventId":"c1-1"}"#)
        #expect(text[2] == ##"{"inputCharacter":"#","clientTimestampMillis":5}"##)
        #expect(text[3] == #"{"text":"say \"hi\"\n\u0001\\ é"}"#)
        #expect(text[4] == #"{"eventId":"c1-pc"}"#)
        #expect(text[5] == "{}")
    }

    @Test("input events decode back to the same values (the stand-in's side)")
    func inputRoundTrip() throws {
        for event in Self.inputs {
            #expect(try SC.InputEvent(message: event.message()) == event)
        }
        #expect(throws: SC.DecodingError.unknownEventType("SmellEvent")) {
            _ = try SC.InputEvent(message: message("SmellEvent", "{}"))
        }
    }

    @Test("DTMF characters are those of the model's pattern")
    func dtmf() {
        #expect("0123456789ABCD#*".map { SC.DTMFInputEvent.isValid(String($0)) }.allSatisfy { $0 })
        #expect(!["E", "a", "", "12", "é"].contains { SC.DTMFInputEvent.isValid($0) })
    }

    @Test("sample server messages decode to typed output events")
    func outputTranscript() throws {
        let samples: [(EventStreamMessage, SC.OutputEvent)] = [
            (message("HeartbeatEvent", #"{"eventId":"RESPONSE-1"}"#), .heartbeat(SC.HeartbeatEvent(eventId: "RESPONSE-1"))),
            (message("TranscriptEvent", #"{"transcript":"book a hotel","eventId":"RESPONSE-2"}"#),
             .transcript(SC.TranscriptEvent(transcript: "book a hotel", eventId: "RESPONSE-2"))),
            (message("TextResponseEvent",
                     #"{"messages":[{"content":"Which city?","contentType":"PlainText"},{"content":"<speak>Hi</speak>","contentType":"SSML"}],"eventId":"RESPONSE-4"}"#),
             .textResponse(SC.TextResponseEvent(messages: [SC.Message(content: "Which city?"),
                                                           SC.Message(content: "<speak>Hi</speak>", contentType: "SSML")],
                                                eventId: "RESPONSE-4"))),
            (message("AudioResponseEvent", #"{"audioChunk":"AAEC","contentType":"audio/pcm","eventId":"RESPONSE-5"}"#),
             .audioResponse(SC.AudioResponseEvent(audioChunk: [0, 1, 2], contentType: "audio/pcm", eventId: "RESPONSE-5"))),
            (message("AudioResponseEvent", #"{"audioChunk":"","contentType":"audio/pcm","eventId":"RESPONSE-6"}"#),
             .audioResponse(SC.AudioResponseEvent(audioChunk: [], contentType: "audio/pcm", eventId: "RESPONSE-6"))),
            (message("PlaybackInterruptionEvent",
                     #"{"eventReason":"VOICE_START_DETECTED","causedByEventId":"c1-77","eventId":"RESPONSE-7"}"#),
             .playbackInterruption(SC.PlaybackInterruptionEvent(eventReason: "VOICE_START_DETECTED",
                                                                causedByEventId: "c1-77", eventId: "RESPONSE-7"))),
            (message("FulfillmentUpdateEvent", #"{"anything":1}"#), .unknown("FulfillmentUpdateEvent")),
        ]
        for (wire, expected) in samples {
            #expect(try SC.OutputEvent(message: wire) == expected)
        }
    }

    @Test("an intent result keeps interpretations, slots (null ones too) and the session state")
    func intentResult() throws {
        let json = #"""
            {"inputMode":"Speech","sessionId":"s-1","eventId":"RESPONSE-3",
             "interpretations":[{"nluConfidence":{"score":0.92},"interpretationSource":"Lex",
               "intent":{"name":"BookHotel","state":"InProgress","confirmationState":"None",
                 "slots":{"City":{"value":{"originalValue":"paris","interpretedValue":"Paris","resolvedValues":["Paris"]}},
                          "Nights":null}}},
               {"intent":{"name":"FallbackIntent"}}],
             "sessionState":{"dialogAction":{"type":"ElicitSlot","slotToElicit":"Nights"},
               "intent":{"name":"BookHotel","state":"InProgress","slots":{"City":{"value":{"interpretedValue":"Paris"}},"Nights":null}},
               "sessionAttributes":{"k":"v"},"originatingRequestId":"abc",
               "activeContexts":[{"name":"booking","timeToLive":{"timeToLiveInSeconds":90,"turnsToLive":3},"contextAttributes":{}}]},
             "requestAttributes":{"x-amz-lex:channels:platform":"Vonage"},
             "recognizedBotMember":{"botId":"ABCDEFGHIJ","botName":"Hotels"}}
            """#
        guard case .intentResult(let result) = try SC.OutputEvent(message: message("IntentResultEvent", json)) else {
            Issue.record("not an intent result")
            return
        }
        #expect(result.inputMode == "Speech")
        #expect(result.interpretations?.count == 2)
        #expect(result.interpretations?.first?.nluConfidence?.score == 0.92)
        let slots = try #require(result.interpretations?.first?.intent?.slots)
        #expect(slots["City"]??.value?.interpretedValue == "Paris")
        #expect(slots.keys.contains("Nights") && slots["Nights"]! == nil)
        #expect(result.sessionState?.dialogAction == SC.DialogAction(type: "ElicitSlot", slotToElicit: "Nights"))
        #expect(result.sessionState?.sessionAttributes == ["k": "v"])
        #expect(result.sessionState?.activeContexts?.count == 1)
        #expect(result.requestAttributes?["x-amz-lex:channels:platform"] == "Vonage")
        #expect(result.recognizedBotMember?.botName == "Hotels")
        // And back, as the stand-in sends it.
        #expect(try SC.OutputEvent(message: SC.OutputEvent.intentResult(result).message()) == .intentResult(result))
    }

    @Test("every modelled exception maps to a typed error with its status and retry class", arguments: [
        ("AccessDeniedException", 403, false), ("ResourceNotFoundException", 404, false),
        ("ValidationException", 400, false), ("ThrottlingException", 429, true),
        ("InternalServerException", 500, true), ("ConflictException", 409, false),
        ("DependencyFailedException", 424, true), ("BadGatewayException", 502, true),
    ])
    func exceptions(_ type: String, _ status: Int, _ retryable: Bool) throws {
        let wire = EventStreamMessage(
            headers: [EventStreamHeader(":message-type", .string("exception")),
                      EventStreamHeader(":exception-type", .string(type)),
                      EventStreamHeader(":content-type", .string("application/json"))],
            payload: Array(#"{"message":"it went wrong"}"#.utf8))
        guard case .exception(let e) = try SC.OutputEvent(message: wire) else {
            Issue.record("not an exception")
            return
        }
        #expect(e.type == type && e.message == "it went wrong")
        #expect(e.statusCode == status && e.isRetryable == retryable)
        #expect(e.description.hasPrefix("Lex stream exception \(type): it went wrong"))
        guard case .other = e else {
            #expect(try SC.OutputEvent(message: SC.OutputEvent.exception(e).message()) == .exception(e))
            return
        }
        Issue.record("\(type) is not modelled")
    }

    @Test("unmodelled exceptions and error messages are typed too; a non-JSON body is its text")
    func otherErrors() throws {
        let odd = EventStreamMessage(headers: [EventStreamHeader(":message-type", .string("exception")),
                                               EventStreamHeader(":exception-type", .string("LimitExceededException"))],
                                     payload: Array("plain text".utf8))
        #expect(try SC.OutputEvent(message: odd) == .exception(.other(type: "LimitExceededException", message: "plain text")))
        let error = EventStreamMessage(headers: [EventStreamHeader(":message-type", .string("error")),
                                                 EventStreamHeader(":error-code", .string("InternalFailure")),
                                                 EventStreamHeader(":error-message", .string("oops"))])
        let mapped = try SC.OutputEvent(message: error)
        #expect(mapped == .exception(.other(type: "InternalFailure", message: "oops")))
        if case .exception(let e) = mapped { #expect(!e.isRetryable) }
    }

    @Test("messages that are not events are typed decoding errors, and never carry the payload")
    func malformed() {
        #expect(throws: SC.DecodingError.missingHeader(":message-type")) {
            _ = try SC.OutputEvent(message: EventStreamMessage(payload: Array("{}".utf8)))
        }
        #expect(throws: SC.DecodingError.unexpectedMessageType("gossip")) {
            _ = try SC.OutputEvent(message: message("X", "{}", messageType: "gossip"))
        }
        #expect(throws: SC.DecodingError.missingHeader(":event-type")) {
            _ = try SC.OutputEvent(message: EventStreamMessage(headers: [EventStreamHeader(":message-type", .string("event"))]))
        }
        #expect(throws: SC.DecodingError.missingHeader(":exception-type")) {
            _ = try SC.OutputEvent(message: EventStreamMessage(headers: [EventStreamHeader(":message-type", .string("exception"))]))
        }
        let cases: [(String, String)] = [
            ("AudioResponseEvent", #"{"audioChunk":"not base64!","contentType":"audio/pcm"}"#),
            ("TranscriptEvent", #"{"transcript":42}"#),
            ("TextResponseEvent", #"{"messages":[{"content":"secret words"}]}"#),
            ("HeartbeatEvent", "secret words"),
        ]
        for (type, json) in cases {
            do {
                _ = try SC.OutputEvent(message: message(type, json))
                Issue.record("\(type) decoded \(json)")
            } catch {
                guard case .invalidPayload(let t, let reason) = error else {
                    Issue.record("\(error)")
                    continue
                }
                #expect(t == type)
                #expect(!reason.contains("secret"), "\(reason)")
            }
        }
    }

    @Test("a whole client stream: events encoded, signed, framed, then decoded and verified as Lex would")
    func signedStream() throws {
        let signer = SigV4Signer(credentials: AWSCredentials(accessKeyId: "AKID", secretAccessKey: "s3cr3t"),
                                 region: "eu-west-2", keyCache: SigningKeyCache())
        let seed = String(repeating: "0f", count: 32)
        var events = try #require(SigV4EventSigner(signer: signer, seedSignature: seed))
        var wire: [UInt8] = []
        for (i, event) in Self.inputs.enumerated() {
            wire += try events.signedFrame(event.message(), date: SigV4Date(unixSeconds: 1_700_000_000 + Int64(i)))
        }
        wire += events.endOfStreamFrame(date: SigV4Date(unixSeconds: 1_700_000_010))

        var decoder = EventStreamDecoder()
        var verifier = try #require(SigV4EventVerifier(signer: signer, seedSignature: seed))
        var received: [SC.InputEvent] = []
        var ended = false
        for start in stride(from: 0, to: wire.count, by: 100) {  // DATA frames of 100 bytes
            for outer in try decoder.feed(wire[start..<min(wire.count, start + 100)]) {
                switch try verifier.verify(outer, now: SigV4Date(unixSeconds: 1_700_000_005)) {
                case .event(let inner):
                    received += try EventStreamDecoder.decodeAll(inner).map { m throws in try SC.InputEvent(message: m) }
                case .endOfStream:
                    ended = true
                }
            }
        }
        try decoder.finish()
        #expect(received == Self.inputs)
        #expect(ended)
    }
}

@Suite("StartConversation audio fast path")
struct AudioFastPathTests {
    @Test("the flat reader agrees with JSONDecoder, or declines and lets it decide", arguments: [
        #"{"audioChunk":"AAEC","contentType":"audio/pcm","eventId":"RESPONSE-5"}"#,
        #" { "eventId" : "R-1" , "audioChunk" : "" , "other" : "x" } "#,
        #"{}"#,
        #"{"audioChunk":"AAEC","audioChunk":"AQID"}"#,
        #"{"audioChunk":"AA\u0045C"}"#,
        #"{"audioChunk":"AAEC","n":1}"#,
        #"{"audioChunk":"AAEC"} x"#,
        #"{"audioChunk":"not base64"}"#,
        #"{"audioChunk":"AAEC","contentType":"audio/pcm"#,
        #"[]"#,
    ])
    func agrees(_ json: String) {
        let payload = Array(json.utf8)
        let slow: SC.AudioResponseEvent? = try? decodeJSON(payload, event: "AudioResponseEvent")
        if let fast = SC.AudioResponseEvent(flatJSON: payload) {
            #expect(fast == slow)
        }
        #expect((try? SC.OutputEvent(message: message("AudioResponseEvent", json))) == slow.map { .audioResponse($0) })
    }

    @Test("the common shapes take the fast path")
    func fastPathTaken() {
        #expect(SC.AudioResponseEvent(flatJSON: Array(#"{"audioChunk":"AAEC","contentType":"audio/pcm","eventId":"RESPONSE-5"}"#.utf8))
            == SC.AudioResponseEvent(audioChunk: [0, 1, 2], contentType: "audio/pcm", eventId: "RESPONSE-5"))
        #expect(SC.AudioResponseEvent(flatJSON: SC.OutputEvent.audioResponse(.init(audioChunk: [9, 9])).message().payload) != nil)
    }
}
