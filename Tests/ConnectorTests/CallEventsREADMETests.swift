import Foundation
import Testing
@testable import Connector

/// The README's event table and the event types say the same: every event of the table has a
/// type with exactly the fields listed, and every type is in the table.
@Suite struct CallEventsREADMETests {
    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("README.md")

    /// The table under "## Events": event name → its fields. A row names one or more events in
    /// backticks in its first cell, an event's own fields in parentheses after it, and the
    /// fields of the row in its second cell; values in parentheses are examples, not fields.
    static func table() throws -> [String: Set<String>] {
        let text = try String(contentsOf: readme, encoding: .utf8)
        guard let section = text.components(separatedBy: "\n## Events\n").dropFirst().first?.components(separatedBy: "\n## ").first else {
            throw TestFailure("README has no Events section")
        }
        var events: [String: Set<String>] = [:]
        for line in section.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 3 else { continue }
            let rowFields = Set(names(in: withoutParentheses(cells[2])))
            // First cell: `name` (`own`, `fields`), `name`...
            var current: String?
            var depth = 0
            var token = ""
            var inTick = false
            for c in cells[1] {
                if c == "`" {
                    if inTick {
                        if depth == 0 { current = token; events[token, default: []].formUnion(rowFields) }
                        else if let e = current { events[e, default: []].insert(token) }
                        token = ""
                    }
                    inTick.toggle()
                } else if inTick {
                    token.append(c)
                } else if c == "(" {
                    depth += 1
                } else if c == ")" {
                    depth -= 1
                }
            }
        }
        return events
    }

    static func withoutParentheses(_ s: String) -> String {
        var out = ""
        var depth = 0
        for c in s {
            if c == "(" { depth += 1 } else if c == ")" { depth -= 1 } else if depth == 0 { out.append(c) }
        }
        return out
    }

    static func names(in s: String) -> [String] {
        s.split(separator: "`", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
    }

    /// Each type with every field set, so that its encoding shows every key.
    static let samples: [CallEvent] = [
        .callStarted(CallStarted(rate: 16000, api: "v2", region: "us-east-1")),
        .utterance(UtteranceEnded(durationMs: 900, reason: "silence")),
        .lexTurn(LexTurnCompleted(customerTranscript: "yes", botTranscript: "OK.", intent: "Order", slots: ["a": "b"],
                                  dialogState: "ElicitSlot", inputMode: "Speech", latencyMs: 120, input: "speech")),
        .playbackStarted(PlaybackStarted()),
        .playbackFinished(PlaybackFinished(frames: 20)),
        .playbackInterrupted(PlaybackInterrupted(remainingMs: 400)),
        .dtmf(DTMFPressed(digit: "5")),
        .noInput(NoInput(timeoutMs: 5000)),
        .error(CallError(kind: "lex", message: "boom", retryable: true)),
        .callEnded(CallEnded(code: 1000, reason: "", byCaller: true, durationSeconds: 1.5, utterances: 1, lexTurns: 1,
                             lexErrors: 0, framesPlayed: 20, bargeIns: 0, dtmfDigits: 0)),
    ]

    static func keys(_ event: CallEvent, clientId: String? = nil) throws -> Set<String> {
        let envelope = EventEnvelope(callId: "c-1", sessionId: "s-1", service: "lex-v2", clientId: clientId)
        let data = try envelope.encode(event.body, sequence: 1, timestamp: "2026-01-01T00:00:00.000Z")
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["event"] as? String == event.name)
        return Set(object.keys)
    }

    @Test func everyEventOfTheTableHasItsTypeWithTheSameFields() throws {
        let table = try Self.table()
        #expect(table.count == 10, "events in the README table: \(table.keys.sorted())")
        let envelope = Set(EventEnvelope.Keys.allCases.map(\.rawValue)).subtracting(["client_id"])
        for event in Self.samples {
            let fields = try Self.keys(event).subtracting(envelope)
            #expect(table[event.name] == fields, "\(event.name): README \(table[event.name]?.sorted() ?? []) vs type \(fields.sorted())")
        }
        #expect(Set(Self.samples.map(\.name)) == Set(table.keys), "a type for every event, an event for every type")
    }

    @Test func theEnvelopeIsWhatTheREADMESaysEveryEventHas() throws {
        let text = try String(contentsOf: Self.readme, encoding: .utf8)
        let sentence = try #require(text.components(separatedBy: "Every event has ").dropFirst().first?.components(separatedBy: "Events:").first)
        #expect(Set(Self.names(in: Self.withoutParentheses(sentence))) == Set(EventEnvelope.Keys.allCases.map(\.rawValue)))
        #expect(try Self.keys(.dtmf(DTMFPressed(digit: "1")), clientId: "crm-7").contains("client_id"))
        #expect(try !Self.keys(.dtmf(DTMFPressed(digit: "1"))).contains("client_id"), "client_id only when given")
    }

    @Test func anEventEncodesAsOneSortedObject() throws {
        let envelope = EventEnvelope(callId: "c-1", sessionId: "s-1", service: "lex-v2", clientId: nil)
        let data = try envelope.encode(PlaybackFinished(frames: 20), sequence: 3, timestamp: "t")
        #expect(String(decoding: data, as: UTF8.self)
            == #"{"call_id":"c-1","event":"playback_finished","frames":20,"sequence":3,"service":"lex-v2","session_id":"s-1","timestamp":"t"}"#)
    }
}
