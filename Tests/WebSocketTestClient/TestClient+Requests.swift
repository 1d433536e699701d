import WebSocketProtocol

extension TestClient {
    /// The RFC 6455 example key (section 1.3); its accept value is `exampleAccept`.
    public static let exampleKey = "dGhlIHNhbXBsZSBub25jZQ=="
    public static let exampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

    /// An upgrade request head; `drop` removes header lines by name, `extra` adds lines.
    public static func upgradeRequest(path: String, method: String = "GET", version: String = "HTTP/1.1",
                                      key: String = exampleKey, webSocketVersion: String = "13",
                                      drop: Set<String> = [], extra: [String] = []) -> String {
        let lines = [("Host", "127.0.0.1"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
                     ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", webSocketVersion)]
            .filter { !drop.contains($0.0) }.map { "\($0.0): \($0.1)" } + extra
        return "\(method) \(path) \(version)\r\n" + lines.map { $0 + "\r\n" }.joined() + "\r\n"
    }

    /// Sends an upgrade request (with `trailing` bytes right behind it) and reads the response,
    /// whatever its status.
    public func upgrade(path: String = "/", version: String = "13", key: String = TestClient.exampleKey,
                        extra: [String] = [], trailing: [UInt8] = []) throws -> TestHTTPResponse {
        send(Array(Self.upgradeRequest(path: path, key: key, webSocketVersion: version, extra: extra).utf8) + trailing)
        return try readResponse()
    }

    /// Upgrades; throws unless the answer is 101 with the right accept value.
    public func handshake(path: String, extra: [String] = [], trailing: [UInt8] = []) throws {
        let r = try upgrade(path: path, extra: extra, trailing: trailing)
        guard r.status == 101, r.headers["sec-websocket-accept"] == Self.exampleAccept else {
            throw TestClientError.refused("\(path) answered \(r.status) \(r.text)")
        }
    }

    /// A plain request (no body) and its response.
    public func get(_ path: String, method: String = "GET") throws -> TestHTTPResponse {
        send("\(method) \(path) HTTP/1.1\r\nHost: localhost\r\n\r\n")
        return try readResponse(headOnly: method == "HEAD")
    }

    /// A frame header written by hand, so any bit may be wrong: the first byte as given, then
    /// the mask bit (unless `masked` is false), the length in the form `lengthForm` asks
    /// (7, 16 or 64 bits; the smallest that fits when nil), the mask key, and the masked payload.
    public static func handmadeFrame(firstByte: UInt8, payload: [UInt8], masked: Bool = true,
                                     declaredLength: UInt64? = nil, lengthForm: Int? = nil) -> [UInt8] {
        let length = declaredLength ?? UInt64(payload.count)
        let form = lengthForm ?? (length < 126 ? 7 : length <= 0xFFFF ? 16 : 64)
        let maskBit: UInt8 = masked ? 0x80 : 0
        var out: [UInt8] = [firstByte]
        switch form {
        case 7: out.append(maskBit | UInt8(length))
        case 16: out += [maskBit | 126, UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
        default:
            out.append(maskBit | 127)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(length >> UInt64(shift) & 0xFF)) }
        }
        if masked {
            out += [mask.0, mask.1, mask.2, mask.3]
            var p = payload
            FrameDecoder.applyMask(mask, to: &p)
            out += p
        } else {
            out += payload
        }
        return out
    }
}
