import Connector
import Foundation
import Glibc
import Testing
import WebSocketTestClient

/// The start message, audio before it, and refused paths.
@Suite(.serialized) struct StartTests {
    @Test func missingCredentialsClose1008WithTheReason() throws {
        let h = try Harness()
        defer { h.stop() }
        let c = try h.client()
        c.sendText("{\"event\":\"websocket:connected\",\"content-type\":\"audio/l16;rate=16000\"}")
        #expect(c.wait { $0.closeCode != nil })
        let s = c.snapshot
        #expect(s.closeCode == 1008)
        #expect(s.closeReason.contains("aws_key"))
        #expect(s.texts.first?.contains("aws_key is missing") == true)
    }

    @Test func unsupportedRateIsRefused() throws {
        let h = try Harness()
        defer { h.stop() }
        let c = try h.client()
        c.sendStart(rate: 44100, secret: "x")
        #expect(c.wait { $0.closeCode == 1008 })
        #expect(c.snapshot.closeReason.contains("content-type"))
    }

    @Test func wrongFrameSizeCloses1003() throws {
        let h = try Harness()
        defer { h.stop() }
        let c = try h.client()
        c.sendStart(rate: 16000, secret: "x")
        #expect(c.wait { $0.texts.first == "ok" })
        c.sendBinary([1, 2, 3])
        #expect(c.wait { $0.closeCode != nil })
        #expect(c.snapshot.closeCode == 1003)
    }

    @Test(arguments: [
        "/bots/short/botAliases/TSTALIASID/botLocales/en_US/sessions/abc/utterance",
        "/bots/ABCDEFGHIJ/botAliases/TSTALIASID/botLocales/english/sessions/abc/utterance",
        "/bots/ABCDEFGHIJ/botAliases/TSTALIASID/botLocales/en_US/sessions/a/utterance",
        "/bot/Order__Flowers/alias/prod/user/abc/content",
        "/nothing/here",
    ])
    func badPathsGet404WithAReason(path: String) throws {
        let h = try Harness()
        defer { h.stop() }
        let c = try VonageTestClient(port: h.port, path: path)
        #expect(c.httpStatus == 404)
        #expect(!c.response.text.isEmpty, "the 404 says why")
    }

    @Test func metricsEndpointServesPrometheusText() throws {
        let h = try Harness()
        defer { h.stop() }
        let c = try h.client()
        c.sendStart(rate: 16000, secret: "x")
        #expect(c.wait { $0.texts.first == "ok" })
        let (status, body) = try httpGet(port: h.port, path: "/metrics")
        #expect(status == 200)
        #expect(body.contains("lexconnector_calls_total"))
        #expect(body.contains("lexconnector_calls_active 1"))
        c.sendClose()
    }
}

/// A plain HTTP/1.1 GET: (status, body).
func httpGet(port: Int, path: String) throws -> (Int, String) {
    let r = try TestClient(port: port).get(path)
    return (r.status, r.text)
}
