import Connector
import Foundation
import LexStandIn
import Testing

/// A stream refused with an HTTP status is named by its `x-amzn-errortype`, or by the status
/// when the answer has none (a proxy's 500): the name of one stream's refusal does not carry
/// over to the next stream of the same call. Waits are bounded.
@Suite(.serialized) struct StreamingOpeningStatusTests {
    static let path = StreamingCallEndToEndTests.path.replacingOccurrences(of: "caller-stream-1", with: "caller-status-1")

    @Test func aRefusalWithoutAnErrorTypeIsNamedByItsOwnStatus() throws {
        let h = try StreamingCallEndToEndTests.connectorHarness(tls: false)
        defer { h.stop() }
        let lex = h.standIn.conversations
        lex.enqueueStreamFailures(.status(429, errorType: "ThrottlingException"), .status(500, errorType: nil))
        let client = try h.client(Self.path)
        client.sendStart(rate: 8000, secret: StreamingCallEndToEndTests.secret)
        #expect(client.wait { $0.texts.contains("ok") })
        #expect(lex.waitUntil { $0.streamCount >= 2 }, "reopened after the 429")
        let metrics = { String(decoding: h.connector.metrics.exposition(), as: UTF8.self) }
        let internalServer = #"lexconnector_stream_errors_total{type="InternalServerException"} 1"#
        let deadline = Date(timeIntervalSinceNow: 5)
        while !metrics().contains(internalServer) && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        #expect(metrics().contains(#"lexconnector_stream_errors_total{type="ThrottlingException"} 1"#), "\(metrics())")
        #expect(metrics().contains(internalServer), "the 500 without x-amzn-errortype is an InternalServerException")
        client.sendClose()
        #expect(client.wait { $0.eof || $0.closeCode != nil })
    }
}
