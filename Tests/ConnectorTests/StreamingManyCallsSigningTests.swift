import Connector
import Foundation
import LexStandIn
import Testing

/// Many streaming calls at once on the server's two event loops: each loop signs its calls'
/// audio events through the fast path at the same time as the other (each signer with its own
/// OpenSSL contexts, from the shim's shared template). Every event of every stream verifies
/// at the stand-in. Waits are bounded.
@Suite(.serialized) struct StreamingManyCallsSigningTests {
    @Test func sixteenCallsOnTwoLoopsEveryEventVerifies() throws {
        let h = try StreamingCallEndToEndTests.connectorHarness(tls: false)
        defer { h.stop() }
        let lex = h.standIn.conversations
        lex.setDefaultReply(.init(audio: .none))
        let calls = 16
        let clients = try (0..<calls).map { i in
            try h.client(StreamingCallEndToEndTests.path.replacingOccurrences(of: "caller-stream-1", with: "many-\(i)"))
        }
        for (i, c) in clients.enumerated() { c.sendStart(rate: [8000, 16000, 24000][i % 3], secret: StreamingCallEndToEndTests.secret) }
        #expect(clients.allSatisfy { c in c.wait { $0.texts.contains("ok") } })
        // 1 s of audio each (50 events at Lex's 320 bytes), all calls at once, unpaced.
        DispatchQueue.concurrentPerform(iterations: calls) { i in
            let rate = [8000, 16000, 24000][i % 3]
            for _ in 0..<50 { clients[i].sendBinary([UInt8](repeating: UInt8(i), count: rate / 50 * 2)) }
        }
        #expect(lex.waitUntil(timeout: 10) { s in s.streams.count == calls && s.streams.allSatisfy { $0.audioEvents >= 49 } },
                "\(lex.streams.map(\.summary))")
        for c in clients { c.sendClose() }
        #expect(lex.waitUntil(timeout: 10) { s in s.streams.allSatisfy(\.endOfStream) })
        #expect(lex.signatureFailures == 0)
        for record in lex.streams {
            #expect(record.signature == .valid && record.verifiedSignatures == record.events.count + 1, "\(record.summary)")
        }
    }
}
