import Foundation
import Testing
@testable import Connector

/// A webhook URL may carry a token (user info, a query parameter): a failing webhook is
/// logged with the URL's scheme, host and path only.
@Suite struct WebhookLogTests {
    @Test func aFailingWebhookIsLoggedWithoutTheURLsTokens() throws {
        let h = try Harness()
        defer { h.stop() }
        h.standIn.setDefaultReply(.init(message: "Hi.", audio: .tone(milliseconds: 100)))
        // Port 1 on the loopback: nothing listens, the connection is refused.
        let url = "http://hookuser:PASSWORD-0451@127.0.0.1:1/hook/path?token=BEARER-0451&x=1#frag-0451"
        let c = try h.client()
        c.sendStart(rate: 16000, secret: ConversationTests.secret, extra: ["welcome_text": "hi", "webhook_url": url])
        #expect(h.standIn.waitUntil(timeout: 10) { _ in h.logs.all.contains { $0.contains("webhook failed") } })
        let lines = h.logs.all.filter { $0.contains("webhook") }
        #expect(lines.contains { $0.contains("http://127.0.0.1:1/hook/path") }, "\(lines)")
        #expect(!h.logs.all.contains { $0.contains("0451") }, "\(h.logs.all.filter { $0.contains("0451") })")
        c.sendClose()
    }

    @Test func redaction() {
        #expect(EventSink.redacted("https://u:p@example.com:8443/a/b?token=t#f") == "https://example.com:8443/a/b")
        #expect(EventSink.redacted("https://example.com/lex-events") == "https://example.com/lex-events")
        #expect(EventSink.redacted("not a url") == "(unparsable URL)")
    }
}

@Suite struct EndpointErrorTextTests {
    @Test(arguments: [
        "http://hookuser:PASSWORD-0451@127.0.0.1:1/hook?token=BEARER-0451",
        "ftp://u:PASSWORD-0451@host/x?token=BEARER-0451",
        "no-scheme/PASSWORD-0451@x?token=BEARER-0451",
        "https://host/x#frag-0451",
    ])
    func anInvalidEndpointIsNamedWithoutItsTokens(url: String) throws {
        let h = try Harness()
        defer { h.stop() }
        let c = try h.client()
        c.sendStart(rate: 16000, secret: ConversationTests.secret, extra: ["welcome_text": "hi", "webhook_url": url])
        _ = h.standIn.waitUntil(timeout: 5) { _ in h.logs.all.contains { $0.contains("webhook failed") } }
        #expect(!h.logs.all.contains { $0.contains("0451") }, "\(h.logs.all.filter { $0.contains("0451") })")
        c.sendClose()
    }
}
