import Foundation
import Testing
@testable import Connector

/// Start messages with every parameter set to every odd JSON type: each call is answered
/// `ok` or closed with 1008 and a reason (never a crash, never another code), no log line
/// shows the secret or the session token, and the server still takes a valid call afterwards.
@Suite(.serialized) struct HostileStartTests {
    static let parameters = [
        "content-type", "aws_key", "aws_secret", "aws_session_token", "aws_profile", "aws_region", "sensitivity",
        "silence_time", "clip_min", "clip_max", "barge_in", "welcome_text", "webhook_url", "client_id",
        "session_attributes", "request_attributes", "event",
    ]

    static func nested(_ depth: Int) -> Any { depth == 0 ? 1 : [nested(depth - 1)] }

    /// JSON values of every type, and the extremes of each.
    static var values: [Any] { [
        NSNull(), true, false, 0, -1, 1e308, -1e-308, 4.5, NSDecimalNumber(string: "123456789012345678901234567890"),
        "", " ", "\u{0}", "-5", "1e999", "NaN", String(repeating: "x", count: 8000), "{\"a\":", "{\"a\":[1,{\"b\":null}]}",
        [Any](), [1, [2, [3]]], [String: Any](), ["a": ["b": NSNull()], "c": 1e300, "d": [true]], nested(200),
        ["x-amz-lex:audio:start-timeout-ms": "1", "k": String(repeating: "v", count: 4000)],
    ] }

    @Test func everyParameterWithEveryOddValue() throws {
        let h = try Harness()
        defer { h.stop() }
        var outcomes: [String: Int] = [:]
        for name in Self.parameters {
            for (i, value) in Self.values.enumerated() {
                let c = try h.client()
                c.sendStart(rate: 16000, secret: ConversationTests.secret, extra: [name: value])
                let answered = c.wait(timeout: 5) { $0.texts.first == "ok" || $0.closeCode != nil }
                #expect(answered, "\(name) = value #\(i): no answer")
                let s = c.snapshot
                if s.texts.first == "ok" {
                    outcomes["ok", default: 0] += 1
                    c.sendClose()
                    #expect(c.wait(timeout: 5) { $0.closeCode != nil })
                } else {
                    #expect(s.closeCode == 1008, "\(name) = value #\(i): closed with \(s.closeCode.map(String.init) ?? "-")")
                    #expect(!s.closeReason.isEmpty && s.closeReason.utf8.count <= 123, "\(name) = value #\(i): reason \(s.closeReason.prefix(200))")
                    #expect(s.texts.first?.contains("\"event\":\"error\"") == true, "\(name) = value #\(i): \(s.texts.first?.prefix(200) ?? "-")")
                    outcomes["1008", default: 0] += 1
                }
            }
        }
        #expect(outcomes["1008", default: 0] > 0 && outcomes["ok", default: 0] > 0, "\(outcomes)")
        // A valid call still works.
        h.standIn.setDefaultReply(.init(message: "Fine.", audio: .tone(milliseconds: 100)))
        let c = try h.client()
        c.sendStart(rate: 16000, secret: ConversationTests.secret, extra: ["welcome_text": "hi"])
        #expect(c.wait(timeout: 8) { $0.frames.count == 5 })
        c.sendClose()
        let secret = ConversationTests.secret
        let token = Harness.credentials.sessionToken!.withRevealedValue { $0 }
        #expect(!h.logs.all.contains { $0.contains(secret) || $0.contains(token) })
        let longest = h.logs.all.map(\.utf8.count).max() ?? 0
        let long = h.logs.all.filter { $0.utf8.count >= 1024 }.map { String($0.prefix(60)) }
        #expect(long.isEmpty, "log lines of \(longest) bytes: \(Set(long))")
    }
}

/// What a hostile start message can put into a reason (the `error` event, the log line).
@Suite struct StartReasonBoundsTests {
    static func start(_ extra: String) -> String {
        #"{"event":"websocket:connected","content-type":"audio/l16;rate=16000","aws_key":"AKIDEXAMPLE","aws_secret":"s""# + extra + "}"
    }

    @Test(arguments: [
        #","aws_region":""# + String(repeating: "r", count: 10_000) + #"""#,
        #","content-type":"audio/l16;rate="# + String(repeating: "9", count: 10_000) + #"""#,
        #","event":""# + String(repeating: "e", count: 10_000) + #"""#,
    ])
    func aLongValueIsQuotedShort(extra: String) throws {
        let text = Self.start(extra)
        guard case .failure(let e) = StartParameters.parse(text, defaults: LexmoConfiguration()) else {
            Issue.record("accepted")
            return
        }
        #expect(e.reason.utf8.count < 200, "\(e.reason.prefix(300))")
        #expect(e.reason.contains("(10000 bytes)") || e.reason.contains("(10015 bytes)"), "\(e.reason)")
    }

    @Test func clientIdIsAtMost512Bytes() {
        let ok = StartParameters.parse(Self.start(#","client_id":""# + String(repeating: "c", count: 512) + #"""#), defaults: LexmoConfiguration())
        #expect((try? ok.get())?.clientId?.count == 512)
        let long = StartParameters.parse(Self.start(#","client_id":""# + String(repeating: "c", count: 513) + #"""#), defaults: LexmoConfiguration())
        guard case .failure(let e) = long else { Issue.record("accepted"); return }
        #expect(e.reason.hasPrefix("client_id must be at most 512 bytes"))
    }
}
