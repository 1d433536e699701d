import Testing
import TestSupport
@testable import WebSocketProtocol

private let sampleKey = "dGhlIHNhbXBsZSBub25jZQ=="

/// A valid RFC 6455 upgrade request, with fields replaced (a nil value removes the field).
private func upgrade(method: String = "GET", minor: Int = 1, _ changes: [(String, String?)] = [], extra: [(String, String)] = []) -> HTTPRequest {
    var fields: [(String, String)] = [
        ("Host", "server.example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", sampleKey), ("Sec-WebSocket-Version", "13"),
    ]
    for (name, value) in changes {
        if let i = fields.firstIndex(where: { $0.0 == name }) {
            if let value { fields[i].1 = value } else { fields.remove(at: i) }
        } else if let value {
            fields.append((name, value))
        }
    }
    return HTTPRequest(method: method, target: "/chat", versionMajor: 1, versionMinor: minor, headers: HTTPFields(fields + extra))
}

private func refusal(_ outcome: WebSocketHandshake.Outcome) -> HTTPResponse? {
    if case .refuse(let r) = outcome { return r }
    return nil
}

@Suite("WebSocket handshake")
struct HandshakeTests {
    @Test func rfc6455SampleKey() {
        #expect(WebSocketHandshake.acceptValue(forKey: sampleKey) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(WebSocketHandshake.validate(upgrade()) == .accept("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
    }

    @Test func switchingProtocolsResponse() {
        let wire = String(decoding: WebSocketHandshake.switchingProtocols(accept: "abc=").serialized(), as: UTF8.self)
        #expect(wire == "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: abc=\r\n\r\n")
    }

    @Test func tokensAreCaseInsensitiveAndListed() {
        let r = upgrade([("Upgrade", "WebSocket"), ("Connection", "keep-alive, upgrade")])
        #expect(WebSocketHandshake.isUpgradeRequest(r))
        #expect(WebSocketHandshake.validate(r) == .accept("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
    }

    @Test func isUpgradeRequest() {
        #expect(!WebSocketHandshake.isUpgradeRequest(upgrade([("Upgrade", nil)])))
        #expect(!WebSocketHandshake.isUpgradeRequest(upgrade([("Upgrade", "h2c")])))
    }

    @Test func missingKeyIs400() {
        #expect(refusal(WebSocketHandshake.validate(upgrade([("Sec-WebSocket-Key", nil)])))?.status.code == 400)
    }

    @Test func duplicateKeyIs400() {
        let r = upgrade(extra: [("Sec-WebSocket-Key", sampleKey)])
        #expect(refusal(WebSocketHandshake.validate(r))?.status.code == 400)
    }

    @Test(arguments: [
        "dGhlIHNhbXBsZSBub25j",              // 15 bytes
        "dGhlIHNhbXBsZSBub25jZXM=",          // 17 bytes
        "",                                  // empty
        "not base64 at all!!!!!!!",          // not base64
        "dGhlIHNhbXBsZSBub25jZQ",            // missing padding
    ])
    func badKeyIs400(_ key: String) {
        #expect(refusal(WebSocketHandshake.validate(upgrade([("Sec-WebSocket-Key", key)])))?.status.code == 400)
    }

    @Test(arguments: ["8", "12", "14", "13, 8", ""])
    func otherVersionsAre426WithVersionHeader(_ version: String) throws {
        let r = try #require(refusal(WebSocketHandshake.validate(upgrade([("Sec-WebSocket-Version", version)]))))
        #expect(r.status.code == 426)
        #expect(r.headers.contains(HTTPField("Sec-WebSocket-Version", "13")))
    }

    @Test func missingOrRepeatedVersionIs426() throws {
        let missing = try #require(refusal(WebSocketHandshake.validate(upgrade([("Sec-WebSocket-Version", nil)]))))
        #expect(missing.status.code == 426)
        let repeated = try #require(refusal(WebSocketHandshake.validate(upgrade(extra: [("Sec-WebSocket-Version", "13")]))))
        #expect(repeated.status.code == 426)
        #expect(String(decoding: repeated.serialized(), as: UTF8.self).contains("\r\nSec-WebSocket-Version: 13\r\n"))
    }

    @Test func http10UpgradeIs400() {
        #expect(refusal(WebSocketHandshake.validate(upgrade(minor: 0)))?.status.code == 400)
    }

    @Test(arguments: ["POST", "PUT", "HEAD", "DELETE"])
    func nonGetUpgradeIs405(_ method: String) throws {
        let r = try #require(refusal(WebSocketHandshake.validate(upgrade(method: method))))
        #expect(r.status.code == 405)
        #expect(r.headers.contains(HTTPField("Allow", "GET")))
    }

    @Test func missingConnectionUpgradeIs400() {
        #expect(refusal(WebSocketHandshake.validate(upgrade([("Connection", nil)])))?.status.code == 400)
        #expect(refusal(WebSocketHandshake.validate(upgrade([("Connection", "keep-alive")])))?.status.code == 400)
    }

    @Test func missingHostIs400() {
        #expect(refusal(WebSocketHandshake.validate(upgrade([("Host", nil)])))?.status.code == 400)
    }
}

@Suite("Base64")
struct Base64Tests {
    @Test func rfc4648Vectors() {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            #expect(Base64.encode(Array(plain.utf8)) == encoded)
            #expect(Base64.decode(encoded) == Array(plain.utf8))
        }
    }

    @Test func roundTripsEveryLengthAndByte() {
        var rng = SplitMix64(seed: 6455)
        for length in 0..<200 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let encoded = Base64.encode(bytes)
            #expect(encoded.utf8.count == (length + 2) / 3 * 4)
            #expect(Base64.decode(encoded) == bytes)
        }
        let all = (0...255).map(UInt8.init)
        #expect(Base64.decode(Base64.encode(all)) == all)
    }

    @Test(arguments: ["Zg", "Zg=", "Zm9", "Z===", "=Zm9", "Zg==Zg==", "Zm9v\n", "Zm-v", "Zm_v", "Zm9v ", "Zé==", "Z=g="])
    func rejectsInvalidInput(_ text: String) {
        #expect(Base64.decode(text) == nil)
    }
}

