import Connector
import Foundation
import LexStandIn
import Testing

/// `[events] timeout_ms` bounds each webhook post (all its attempts), not `[lex] timeout_ms`.
@Suite struct WebhookTimeoutTests {
    @Test func aWebhookSlowerThanTheEventsTimeoutIsAbandonedAndTheNextEventStillGoes() throws {
        let h = try Harness { c in
            c.events.timeout = .milliseconds(300)
            c.lex.timeout = .seconds(10)
        }
        defer { h.stop() }
        // The first event's receiver answers after 3 s: within the Lex timeout, past the events one.
        h.standIn.enqueueWebhookReplies(LexStandIn.Reply(firstByteDelayMilliseconds: 3000))
        let c = try h.client()
        c.sendStart(rate: 16000, secret: ConversationTests.secret, extra: ["webhook_url": h.webhookURL])
        #expect(c.wait { $0.texts.first == "ok" })
        c.sendDTMF("5")
        // The sink hung up on the slow post (the stand-in records status 0: the client left) and
        // went on with the next event.
        #expect(h.standIn.waitUntil(timeout: 10) { s in
            s.requests.filter(\.isWebhook).count >= 2
        })
        let webhooks = h.standIn.requests.filter(\.isWebhook)
        #expect(webhooks.first?.replyStatus == 0, "the first post was abandoned, not answered")
        #expect(h.events().contains { $0["event"] as? String == "dtmf" })
        c.sendClose()
    }
}
