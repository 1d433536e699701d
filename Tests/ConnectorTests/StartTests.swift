import Connector
import Foundation
import Glibc
import Testing

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
        #expect(c.responseHead.contains("404"))
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

/// A plain HTTP/1.1 GET over a raw socket: (status, body).
func httpGet(port: Int, path: String) throws -> (Int, String) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = UInt16(port).bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard rc == 0 else { throw TestFailure("connect failed") }
    var tv = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    VonageTestClient.writeAll(fd, Array("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 16384)
    while true {
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        out += buf[0..<n]
    }
    let text = String(decoding: out, as: UTF8.self)
    let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
    let body = text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
    return (status, body)
}
