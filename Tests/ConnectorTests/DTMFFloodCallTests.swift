import Foundation
import Testing
@testable import Connector

/// A DTMF flood on a real socket (each key an input: `1`, `#`, `1`, `#`...) with webhooks on:
/// the call stays up, one Lex request is in flight at a time, the queue and the webhook
/// backlog stay bounded, and a second call is not disturbed.
@Suite struct DTMFFloodCallTests {
    @Test func aDTMFFloodIsBounded() throws {
        let h = try Harness()
        defer { h.stop() }
        h.standIn.setDefaultReply(.init(message: "Hi.", audio: .tone(milliseconds: 100), firstByteDelayMilliseconds: 20))
        let other = try h.client()
        other.sendStart(rate: 16000, secret: ConversationTests.secret)
        #expect(other.wait { $0.texts.first == "ok" })
        let c = try h.client()
        c.sendStart(rate: 16000, secret: ConversationTests.secret, extra: ["webhook_url": h.webhookURL])
        #expect(c.wait { $0.texts.first == "ok" })
        let presses = 2000
        for _ in 0..<presses { c.sendDTMF("1"); c.sendDTMF("#") }
        c.sendText(#"{"event":"websocket:dtmf","digit":"9","duration":1}"#)
        // The flood is read: the last key's dtmf event reaches the webhook (or was dropped
        // from a full backlog, which is logged).
        #expect(h.standIn.waitUntil(timeout: 30) { _ in h.logs.all.filter { $0.contains("dtmf input") }.count == presses })
        #expect(c.snapshot.closeCode == nil)
        let requests = h.lexRequests().count
        #expect(requests <= 2 * presses)
        other.sendDTMF("7"); other.sendDTMF("#")
        #expect(other.wait(timeout: 10) { $0.frames.count >= 5 }, "the other call's turn played")
        c.sendClose()
        #expect(c.wait(timeout: 10) { $0.closeCode != nil })
        let lines = h.logs.all.count
        print("DTMF flood: \(presses) inputs, \(requests) Lex requests, \(h.events().count) webhook events delivered, \(lines) log lines")
        // Per input: its "dtmf input" line and, with the queue full, the documented drop line.
        #expect(lines < presses * 2 + 200, "\(lines) log lines for \(presses) inputs")
        let backlog = h.logs.all.filter { $0.contains("webhook backlog") }
        #expect(backlog.count <= 20, "the full webhook backlog is logged per episode, not per event: \(backlog.count) lines")
    }
}
