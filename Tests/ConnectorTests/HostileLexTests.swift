import Foundation
import Lex
import LexStandIn
import Testing
@testable import Connector

/// A Lex that answers with absurd `Retry-After` values: the server stays up, the call hears of
/// the failure once (an `error` event), makes at most `[lex] max_attempts` requests for the
/// input, and the next turn plays.
@Suite struct HostileLexTests {
    @Test(arguments: [
        "Sun, 06 Nov 99999999999999 08:49:37 GMT", "Sun Nov  6 08:49:37 9223372036854775807", "-5", "garbage", "0",
        "99999999999999999999", "Fri, 31 Dec 9999 23:59:59 GMT", "Thu, 01 Jan 1970 00:00:00 GMT", "Sun, 06 Nov 1994 -1:-1:-1 GMT",
    ])
    func absurdRetryAfterKeepsTheServerAndTheCallUp(value: String) throws {
        let h = try Harness()
        defer { h.stop() }
        h.standIn.setReply(forText: "1", .limitExceeded(retryAfter: value))
        h.standIn.setReply(forText: "2", .init(message: "Fine.", audio: .tone(milliseconds: 100)))
        let c = try h.client()
        c.sendStart(rate: 16000, secret: ConversationTests.secret, extra: ["webhook_url": h.webhookURL])
        #expect(c.wait { $0.texts.first == "ok" })
        c.sendDTMF("1"); c.sendDTMF("#")
        #expect(h.standIn.waitUntil(timeout: 10) { _ in h.events().contains { $0["event"] as? String == "error" } })
        let attempts = h.lexRequests().filter { $0.inputText == "1" }.count
        #expect((1...2).contains(attempts), "\(attempts) requests for one input; the harness's [lex] max_attempts is 2")
        c.sendDTMF("2"); c.sendDTMF("#")
        #expect(c.wait(timeout: 8) { $0.frames.count == 5 }, "the call is still up and the next turn plays")
        #expect(c.snapshot.closeCode == nil)
        #expect(h.events().filter { $0["event"] as? String == "error" }.count == 1, "the failure is reported once")
        c.sendClose()
    }
}
