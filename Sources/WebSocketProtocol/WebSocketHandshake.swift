import COpenSSL

/// The RFC 6455 server handshake (section 4.2), pure.
public enum WebSocketHandshake {
    public enum Outcome: Sendable, Equatable {
        /// Valid: answer 101 with this `Sec-WebSocket-Accept` value.
        case accept(String)
        /// Invalid: send this response and close.
        case refuse(HTTPResponse)
    }

    /// The GUID that RFC 6455 appends to the key.
    static let magic = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// Whether the request asks for a WebSocket upgrade at all.
    public static func isUpgradeRequest(_ request: HTTPRequest) -> Bool {
        request.headers.containsToken("websocket", in: "Upgrade")
    }

    /// Validates an upgrade request. On success returns the `Sec-WebSocket-Accept` value;
    /// otherwise the refusal to send (400 or 426), with a reason.
    public static func validate(_ request: HTTPRequest) -> Outcome {
        func refuse(_ status: HTTPStatus, _ why: String, _ headers: HTTPFields = []) -> Outcome {
            .refuse(.text(status, why + "\n", headers: headers))
        }
        guard request.method == "GET" else {
            return refuse(.methodNotAllowed, "WebSocket upgrade requires GET", [HTTPField("Allow", "GET")])
        }
        guard request.isHTTP11OrLater else { return refuse(.badRequest, "WebSocket upgrade requires HTTP/1.1") }
        guard request.headers["Host"] != nil else { return refuse(.badRequest, "missing Host header") }
        guard request.headers.containsToken("upgrade", in: "Connection") else {
            return refuse(.badRequest, "Connection header must contain Upgrade")
        }
        let versions = request.headers.values("Sec-WebSocket-Version")
        guard versions.count == 1, versions[0].trimmingHTTPWhitespace() == "13" else {
            return refuse(.upgradeRequired, "only WebSocket version 13 is supported", [HTTPField("Sec-WebSocket-Version", "13")])
        }
        let keys = request.headers.values("Sec-WebSocket-Key")
        guard keys.count == 1 else { return refuse(.badRequest, "missing or repeated Sec-WebSocket-Key") }
        let key = String(keys[0].trimmingHTTPWhitespace())
        guard let raw = Base64.decode(key), raw.count == 16 else {
            return refuse(.badRequest, "Sec-WebSocket-Key must be 16 bytes in base64")
        }
        return .accept(acceptValue(forKey: key))
    }

    /// `base64(SHA-1(key + GUID))`.
    public static func acceptValue(forKey key: String) -> String {
        let input = Array((key + magic).utf8)
        var digest = [UInt8](repeating: 0, count: 20)
        input.withUnsafeBytes { lc_sha1($0.baseAddress, $0.count, &digest) }
        return Base64.encode(digest)
    }

    /// The `101 Switching Protocols` response.
    public static func switchingProtocols(accept: String) -> HTTPResponse {
        HTTPResponse(status: .switchingProtocols, headers: [
            HTTPField("Upgrade", "websocket"), HTTPField("Connection", "Upgrade"), HTTPField("Sec-WebSocket-Accept", accept),
        ])
    }
}

/// Standard Base64 (RFC 4648 section 4) with padding.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let reverse: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = UInt8(i) }
        return t
    }()

    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        let b = Array(bytes)
        var out = [UInt8]()
        out.reserveCapacity((b.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= b.count {
            let n = UInt32(b[i]) << 16 | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2])
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            i += 3
        }
        let rest = b.count - i
        if rest == 1 {
            let n = UInt32(b[i]) << 16
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], 61, 61]
        } else if rest == 2 {
            let n = UInt32(b[i]) << 16 | UInt32(b[i + 1]) << 8
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], 61]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Strict decoding: length a multiple of 4, padding only at the end. `nil` when invalid.
    public static func decode(_ string: String) -> [UInt8]? {
        let s = Array(string.utf8)
        guard s.count % 4 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(s.count / 4 * 3)
        var i = 0
        while i < s.count {
            let last = i + 4 == s.count
            let pad = last ? (s[i + 3] == 61 ? (s[i + 2] == 61 ? 2 : 1) : 0) : 0
            var n: UInt32 = 0
            for j in 0..<4 {
                let c = s[i + j]
                if j >= 4 - pad { n <<= 6; continue }
                let v = reverse[Int(c)]
                if v == 0xFF { return nil }
                n = n << 6 | UInt32(v)
            }
            out.append(UInt8(n >> 16 & 0xFF))
            if pad < 2 { out.append(UInt8(n >> 8 & 0xFF)) }
            if pad < 1 { out.append(UInt8(n & 0xFF)) }
            i += 4
        }
        return out
    }
}
