import Connector
import Foundation
import Testing
import WebSocketServer

@Suite struct ConnectorLifetimeTests {
    /// A stopped connector that nobody holds is freed, with its server (and so its event loops
    /// and their timers): the server holds its delegate, the connector, weakly. A call ran on it
    /// first, so the per-call paths had their chance to keep it.
    @Test func aStoppedConnectorIsFreedWithItsServer() throws {
        weak var connector: Connector?
        weak var server: WebSocketServer?
        try {
            let h = try Harness()
            connector = h.connector
            server = h.connector.server
            let c = try h.client()
            c.sendStart(rate: 16000, secret: ConversationTests.secret)
            #expect(c.wait { $0.texts.first == "ok" }, "the call started")
            c.sendClose()
            #expect(c.wait { $0.closeCode == 1000 })
            h.stop()
        }()
        #expect(eventually(timeout: 10) { connector == nil && server == nil },
                "still alive: connector \(connector == nil ? "freed" : "kept"), server \(server == nil ? "freed" : "kept")")
    }
}
