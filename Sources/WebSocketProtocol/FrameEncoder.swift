/// Encodes frames (RFC 6455 section 5.2). Servers send unmasked frames; a client passes a mask key.
public enum FrameEncoder {
    /// Appends one frame to `out`.
    public static func encode(opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer, fin: Bool = true,
                              maskKey: (UInt8, UInt8, UInt8, UInt8)? = nil, into out: inout [UInt8]) {
        let n = payload.count
        out.append((fin ? 0x80 : 0) | opcode.rawValue)
        let maskBit: UInt8 = maskKey == nil ? 0 : 0x80
        if n < 126 {
            out.append(maskBit | UInt8(n))
        } else if n <= 0xFFFF {
            out.append(maskBit | 126)
            out.append(UInt8(n >> 8))
            out.append(UInt8(n & 0xFF))
        } else {
            out.append(maskBit | 127)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8((UInt64(n) >> UInt64(shift)) & 0xFF)) }
        }
        if let key = maskKey {
            out += [key.0, key.1, key.2, key.3]
            var masked = Array(payload)
            FrameDecoder.applyMask(key, to: &masked)
            out += masked
        } else {
            out.append(contentsOf: payload)
        }
    }

    /// One frame as a new array.
    public static func frame<C: Collection>(_ opcode: WebSocketOpcode, _ payload: C, fin: Bool = true,
                                            maskKey: (UInt8, UInt8, UInt8, UInt8)? = nil) -> [UInt8] where C.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity(payload.count + 14)
        Array(payload).withUnsafeBytes { encode(opcode: opcode, payload: $0, fin: fin, maskKey: maskKey, into: &out) }
        return out
    }

    /// A close frame's payload: the code, then the reason cut to fit 125 bytes on a UTF-8 boundary.
    public static func closePayload(code: WebSocketCloseCode, reason: String) -> [UInt8] {
        var out: [UInt8] = [UInt8(code.rawValue >> 8), UInt8(code.rawValue & 0xFF)]
        var r = Array(reason.utf8)
        if r.count > 123 {
            var cut = 123
            while cut > 0 && r[cut] & 0xC0 == 0x80 { cut -= 1 }
            r = Array(r[..<cut])
        }
        out += r
        return out
    }
}
