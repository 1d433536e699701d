/// An incremental RFC 6455 frame decoder (section 5.2). Pure: bytes in, frames out.
///
/// It checks everything that can be checked on one frame: the mask bit for its role, RSV
/// bits (no extension is ever negotiated), reserved opcodes, control frames (at most 125
/// bytes, never fragmented), the 64-bit length's high bit, and the payload limit, which is
/// enforced from the header alone so a length bomb costs nothing.
public struct FrameDecoder: Sendable {
    public let role: WebSocketRole
    /// Largest payload accepted in one frame.
    public var maxPayload: Int
    private var buffer: [UInt8] = []
    private var start = 0

    public init(role: WebSocketRole = .server, maxPayload: Int) {
        self.role = role
        self.maxPayload = maxPayload
    }

    /// Bytes received but not yet decoded.
    public var bufferedBytes: Int { buffer.count - start }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compactIfUseful()
        buffer.append(contentsOf: bytes)
    }

    public mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        compactIfUseful()
        buffer.append(contentsOf: bytes)
    }

    private mutating func compactIfUseful() {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 4096 && start * 2 > buffer.count {
            buffer.removeSubrange(0..<start)
            start = 0
        }
    }

    /// The next complete frame, `nil` when more bytes are needed.
    public mutating func next() throws(WebSocketProtocolViolation) -> WebSocketFrame? {
        let available = buffer.count - start
        guard available >= 2 else { return nil }
        let b0 = buffer[start], b1 = buffer[start + 1]
        let fin = b0 & 0x80 != 0
        if b0 & 0x70 != 0 { throw WebSocketProtocolViolation(.protocolError, "reserved bits set without a negotiated extension") }
        guard let opcode = WebSocketOpcode(rawValue: b0 & 0x0F) else {
            throw WebSocketProtocolViolation(.protocolError, "reserved opcode \(b0 & 0x0F)")
        }
        let masked = b1 & 0x80 != 0
        switch role {
        case .server where !masked: throw WebSocketProtocolViolation(.protocolError, "client frames must be masked")
        case .client where masked: throw WebSocketProtocolViolation(.protocolError, "server frames must not be masked")
        default: break
        }
        var headerLength = 2
        var length = UInt64(b1 & 0x7F)
        if opcode.isControl {
            if !fin { throw WebSocketProtocolViolation(.protocolError, "fragmented control frame") }
            if length > 125 { throw WebSocketProtocolViolation(.protocolError, "control frame longer than 125 bytes") }
        }
        if length == 126 {
            guard available >= 4 else { return nil }
            length = UInt64(buffer[start + 2]) << 8 | UInt64(buffer[start + 3])
            headerLength = 4
        } else if length == 127 {
            guard available >= 10 else { return nil }
            length = 0
            for i in 2..<10 { length = length << 8 | UInt64(buffer[start + i]) }
            if length & (1 << 63) != 0 { throw WebSocketProtocolViolation(.protocolError, "64-bit length with the high bit set") }
            headerLength = 10
        }
        if length > UInt64(maxPayload) {
            throw WebSocketProtocolViolation(.messageTooBig, "frame of \(length) bytes exceeds the limit of \(maxPayload)")
        }
        let maskOffset = start + headerLength
        if masked { headerLength += 4 }
        let total = headerLength + Int(length)
        guard available >= total else { return nil }
        let payloadStart = start + headerLength
        var payload = Array(buffer[payloadStart..<(payloadStart + Int(length))])
        if masked {
            let key = (buffer[maskOffset], buffer[maskOffset + 1], buffer[maskOffset + 2], buffer[maskOffset + 3])
            Self.applyMask(key, to: &payload)
        }
        start += total
        return WebSocketFrame(fin: fin, opcode: opcode, payload: payload)
    }

    /// XORs `payload` with the repeating 4-byte key, eight bytes at a time.
    public static func applyMask(_ key: (UInt8, UInt8, UInt8, UInt8), to payload: inout [UInt8]) {
        payload.withUnsafeMutableBytes { p in
            let n = p.count
            var k32: UInt32 = 0
            withUnsafeMutableBytes(of: &k32) { kb in kb[0] = key.0; kb[1] = key.1; kb[2] = key.2; kb[3] = key.3 }
            let k64 = UInt64(k32) | UInt64(k32) << 32
            var i = 0
            while i + 8 <= n {
                let v = p.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ k64
                p.storeBytes(of: v, toByteOffset: i, as: UInt64.self)
                i += 8
            }
            let keys = [key.0, key.1, key.2, key.3]
            while i < n {
                p[i] ^= keys[i & 3]
                i += 1
            }
        }
    }
}
