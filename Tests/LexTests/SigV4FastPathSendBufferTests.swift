import Foundation
import Lex
import LexStandIn
import Testing

/// The audio event's fast path into a stream whose send buffer fills (a 2 KiB limit, events
/// sent as fast as the loop runs): the events the stream refused (`sendBufferFull`) are not
/// in the chain, so every event the stand-in gets verifies, and so does the end of stream.
/// Chunk sizes empty, small, 320 and larger. Waits are bounded.
@Suite("SigV4 event signing: the fast path and a full send buffer", .serialized)
struct SigV4FastPathSendBufferTests {
    @Test func refusedEventsLeaveTheChainValidAtTheStandIn() throws {
        let lex = try ConversationStandInTests.standIn()
        defer { lex.stop() }
        var c = HTTP2ClientConfiguration()
        c.sendBufferLimit = 2048
        let http2 = HTTP2Client(configuration: c)
        defer { http2.shutdown() }
        let call = try ConversationTestClient(client: http2, baseURL: lex.baseURL, sessionId: "full-buffer-1")
        try call.configure()
        let sizes = [320, 0, 2, 318, 322, 1000, 320, 64]  // whole samples (the stand-in refuses odd chunks as Lex would)
        var sent = 0, refused = 0
        for i in 0..<3000 {
            let chunk = [UInt8](repeating: 0, count: sizes[i % sizes.count])
            do {
                try call.sendAudioFast(chunk)
                sent += 1
            } catch HTTP2Error.sendBufferFull {
                refused += 1
            }
        }
        #expect(lex.conversations.waitUntil(timeout: 10) { $0.streams.first?.audioEvents == sent },
                "every event the stream took arrives (\(sent) sent, \(refused) refused)")
        try call.hangUp()
        #expect(refused > 0, "the buffer filled at least once (\(sent) sent)")
        #expect(lex.conversations.waitUntil(timeout: 10) { $0.streams.first?.endOfStream == true })
        let record = try #require(lex.conversations.streams.first)
        #expect(record.signatureFailure == nil, "\(String(describing: record.signatureFailure))")
        #expect(record.audioEvents == sent, "every event taken arrived")
        // configuration + audio + disconnection + the end of stream
        #expect(record.verifiedSignatures == sent + 3)
    }
}
