import Foundation
import Testing
@testable import Connector

/// Values from the start message that end up in Lex request headers cannot add header lines
/// (or a second request) to the request on a connection other calls reuse.
@Suite struct HeaderInjectionTests {
    @Test(arguments: ["TOKEN\r\nX-Injected: 1", "TOKEN\nX-Injected: 1", "TOKEN\r\n\r\nGET /x HTTP/1.1\r\nHost: y\r\n\r\n"])
    func aSessionTokenWithALineBreakIsRefused(token: String) throws {
        let h = try Harness()
        defer { h.stop() }
        h.standIn.setDefaultReply(.init(message: "Hi.", audio: .tone(milliseconds: 100)))
        let c = try h.client()
        c.sendStart(rate: 16000, secret: ConversationTests.secret, extra: ["welcome_text": "hi", "aws_session_token": token])
        #expect(c.wait(timeout: 5) { $0.closeCode != nil || $0.texts.first == "ok" })
        let s = c.snapshot
        #expect(s.closeCode == 1008, "closed \(s.closeCode.map(String.init) ?? "-") \(s.closeReason)")
        #expect(s.closeReason.contains("aws_session_token"), "\(s.closeReason)")
        #expect(!h.standIn.requests.contains { $0.headers.contains { $0.name.lowercased() == "x-injected" } })
        #expect(!h.standIn.requests.contains { $0.path == "/x" })
        #expect(!h.logs.all.contains { $0.contains("TOKEN") }, "the token is not logged")
    }
}
