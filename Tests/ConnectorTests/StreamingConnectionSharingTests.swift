import Connector
import Foundation
import LexStandIn
import Testing

/// `[lex] streams_per_connection`: how many streaming calls' StartConversation streams share
/// one HTTP/2 connection to Lex, counted at the stand-in.
@Suite(.serialized) struct StreamingConnectionSharingTests {
    @Test(arguments: [(100, 1), (1, 3)])
    func callsShareConnectionsUpToTheSetting(streamsPerConnection: Int, connections: Int) throws {
        let h = try Harness(configure: { $0.lex.streamsPerConnection = streamsPerConnection })
        defer { h.stop() }
        let lex = h.standIn.conversations
        lex.setDefaultReply(.init(audio: .none))
        let clients = try (0..<3).map { i in
            try h.client(StreamingCallEndToEndTests.path.replacingOccurrences(of: "caller-stream-1", with: "sharing-\(i)"))
        }
        for c in clients { c.sendStart(rate: 8000, secret: StreamingCallEndToEndTests.secret) }
        #expect(clients.allSatisfy { c in c.wait { $0.texts.contains("ok") } })
        #expect(lex.waitUntil(timeout: 10) { s in s.streams.count == 3 }, "three streams opened")
        #expect(lex.plainServer.connectionsAccepted == connections,
                "\(lex.plainServer.connectionsAccepted) connections for 3 streams at streams_per_connection = \(streamsPerConnection)")
        for c in clients { c.sendClose() }
        #expect(lex.waitUntil(timeout: 10) { s in s.streams.allSatisfy(\.endOfStream) })
    }
}
