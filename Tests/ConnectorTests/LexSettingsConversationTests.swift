import Connector
import Foundation
import Lex
import LexStandIn
import Testing

/// End-to-end over real sockets: a bot's `x-amz-lex:audio:start-timeout-ms` makes the
/// connector send the no-input text to Lex (the stand-in) after the prompt has played.
/// The details are in `CallTranscriptLexSettingsTests`, in virtual time.
@Suite struct LexSettingsConversationTests {
    @Test(arguments: [Harness.v2Path, Harness.v1Path])
    func theNoInputTextReachesLexAsTextAfterTheBotsStartTimeout(path: String) throws {
        let h = try Harness()
        defer { h.stop() }
        h.standIn.setReply(forText: "hi", .init(intentName: "OrderPizza", message: "Which size?", dialogState: "ElicitSlot", slotToElicit: "size",
                                                sessionAttributes: ["x-amz-lex:audio:start-timeout-ms:OrderPizza:size": "1000"],
                                                audio: .tone(milliseconds: 200)))
        h.standIn.setReply(forText: "no input", .init(message: "Sorry, which size?", sessionAttributes: ["stage": "reprompted"],
                                                      audio: .tone(milliseconds: 100)))
        let c = try h.client(path)
        c.sendStart(rate: 16000, secret: ConversationTests.secret, extra: ["welcome_text": "hi", "webhook_url": h.webhookURL])
        #expect(h.standIn.waitUntil(timeout: 10) { _ in h.lexRequests().count >= 2 }, "requests: \(h.lexRequests().map { $0.inputText ?? "" })")
        let requests = h.lexRequests()
        #expect(requests.map(\.inputText) == ["hi", "no input"])
        #expect(requests.last?.contentType == "text/plain; charset=utf-8")
        #expect(requests.allSatisfy { $0.signature == .valid })
        #expect(c.wait { $0.frames.count == 15 }, "the prompt (10 frames), then the re-prompt (5)")
        #expect(h.standIn.waitUntil(timeout: 5) { _ in h.events().contains { $0["event"] as? String == "no_input" } })
        let names = h.events().compactMap { $0["event"] as? String }
        let noInput = try #require(names.firstIndex(of: "no_input"))
        let finished = try #require(names.firstIndex(of: "playback_finished"))
        #expect(finished < noInput, "the timer starts once the prompt has played: \(names)")
        #expect(h.events().first { $0["event"] as? String == "no_input" }?["timeout_ms"] as? Int == 1000)
        c.sendClose()
    }
}
