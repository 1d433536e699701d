import Testing
import TestSupport
@testable import WebSocketProtocol

let testMask: (UInt8, UInt8, UInt8, UInt8) = (0x37, 0xFA, 0x21, 0x3D)

/// A raw frame header as a client would send it (masked unless `masked` is false), without payload.
func rawHeader(b0: UInt8, length: UInt64, lengthForm: Int? = nil, masked: Bool = true) -> [UInt8] {
    let m: UInt8 = masked ? 0x80 : 0
    var out: [UInt8] = [b0]
    let form = lengthForm ?? (length < 126 ? 7 : length <= 0xFFFF ? 16 : 64)
    switch form {
    case 7: out.append(m | UInt8(length))
    case 16: out += [m | 126, UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
    default:
        out.append(m | 127)
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(length >> UInt64(shift) & 0xFF)) }
    }
    if masked { out += [testMask.0, testMask.1, testMask.2, testMask.3] }
    return out
}

/// Decodes everything in `bytes` (fed in `chunk`-byte pieces); returns the frames, or the violation.
func decodeAll(_ bytes: [UInt8], role: WebSocketRole = .server, maxPayload: Int = 1 << 20, chunk: Int? = nil) -> Result<[WebSocketFrame], WebSocketProtocolViolation> {
    var decoder = FrameDecoder(role: role, maxPayload: maxPayload)
    var frames: [WebSocketFrame] = []
    let step = chunk ?? max(1, bytes.count)
    var i = 0
    do {
        while i < bytes.count {
            let end = min(i + step, bytes.count)
            decoder.append(bytes[i..<end])
            while let f = try decoder.next() { frames.append(f) }
            i = end
        }
        return .success(frames)
    } catch {
        return .failure(error)
    }
}

func violationCode(_ r: Result<[WebSocketFrame], WebSocketProtocolViolation>) -> UInt16? {
    if case .failure(let v) = r { return v.code.rawValue }
    return nil
}

func frames(_ r: Result<[WebSocketFrame], WebSocketProtocolViolation>) -> [WebSocketFrame]? {
    if case .success(let f) = r { return f }
    return nil
}

@Suite("Frame codec")
struct FrameCodecTests {
    @Test(arguments: [0, 1, 125, 126, 127, 65_535, 65_536, 70_000])
    func lengthsRoundTrip(_ length: Int) throws {
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let wire = FrameEncoder.frame(.binary, payload, maskKey: testMask)
        let expectedHeader = length < 126 ? 2 : length <= 65_535 ? 4 : 10
        #expect(wire.count == expectedHeader + 4 + length)
        #expect(wire[1] & 0x7F == (length < 126 ? UInt8(length) : length <= 65_535 ? 126 : 127))
        let decoded = try #require(frames(decodeAll(wire)))
        #expect(decoded == [WebSocketFrame(fin: true, opcode: .binary, payload: payload)])

        // Server frames are unmasked and decode with the client role.
        let serverWire = FrameEncoder.frame(.binary, payload)
        #expect(serverWire.count == expectedHeader + length)
        #expect(serverWire[1] & 0x80 == 0)
        #expect(frames(decodeAll(serverWire, role: .client)) == [WebSocketFrame(fin: true, opcode: .binary, payload: payload)])
    }

    @Test func rfc6455Examples() {
        // Section 5.7: a single-frame unmasked text "Hello" and the masked one.
        #expect(FrameEncoder.frame(.text, Array("Hello".utf8)) == [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f])
        let masked: [UInt8] = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
        #expect(FrameEncoder.frame(.text, Array("Hello".utf8), maskKey: testMask) == masked)
        #expect(frames(decodeAll(masked)) == [WebSocketFrame(opcode: .text, payload: Array("Hello".utf8))])
        // 256 bytes binary, 16-bit length; 64 KiB binary, 64-bit length.
        #expect(Array(FrameEncoder.frame(.binary, [UInt8](repeating: 0, count: 256)).prefix(4)) == [0x82, 0x7E, 0x01, 0x00])
        #expect(Array(FrameEncoder.frame(.binary, [UInt8](repeating: 0, count: 65_536)).prefix(10)) == [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0])
    }

    @Test func byteByByteDecoding() throws {
        var wire: [UInt8] = []
        let messages: [(WebSocketOpcode, [UInt8], Bool)] = [
            (.text, Array("héllo".utf8), false), (.continuation, Array(" wörld".utf8), true),
            (.ping, [1, 2, 3], true), (.binary, [UInt8](repeating: 9, count: 300), true),
            (.binary, [UInt8](repeating: 7, count: 66_000), true), (.close, [0x03, 0xE8], true),
        ]
        for (op, payload, fin) in messages { wire += FrameEncoder.frame(op, payload, fin: fin, maskKey: testMask) }
        let expected = messages.map { WebSocketFrame(fin: $0.2, opcode: $0.0, payload: $0.1) }
        #expect(frames(decodeAll(wire)) == expected)
        #expect(frames(decodeAll(wire, chunk: 1)) == expected)
        #expect(frames(decodeAll(wire, chunk: 5)) == expected)
        #expect(frames(decodeAll(wire, chunk: 4093)) == expected)
    }

    @Test func partialFrameWaits() throws {
        var decoder = FrameDecoder(role: .server, maxPayload: 100)
        let wire = FrameEncoder.frame(.text, Array("abc".utf8), maskKey: testMask)
        decoder.append(wire.dropLast())
        let r1 = try decoder.next()
        #expect(r1 == nil)
        #expect(decoder.bufferedBytes == wire.count - 1)
        decoder.append(wire.suffix(1))
        let r2 = try decoder.next()
        #expect(r2 == WebSocketFrame(opcode: .text, payload: Array("abc".utf8)))
        #expect(decoder.bufferedBytes == 0)
    }

    @Test func unmaskedClientFrameIs1002() {
        #expect(violationCode(decodeAll(FrameEncoder.frame(.text, Array("hi".utf8)))) == 1002)
        // Only the two header bytes are needed to decide.
        #expect(violationCode(decodeAll([0x81, 0x02])) == 1002)
    }

    @Test func maskedServerFrameIs1002ForAClient() {
        #expect(violationCode(decodeAll(FrameEncoder.frame(.text, Array("hi".utf8), maskKey: testMask), role: .client)) == 1002)
    }

    @Test(arguments: [UInt8(0x40), 0x20, 0x10, 0x70, 0x50])
    func rsvBitsAre1002(_ rsv: UInt8) {
        #expect(violationCode(decodeAll(rawHeader(b0: 0x80 | rsv | 0x1, length: 0))) == 1002)
        #expect(violationCode(decodeAll(rawHeader(b0: 0x80 | rsv | 0x9, length: 0))) == 1002)
    }

    @Test(arguments: [UInt8(3), 4, 5, 6, 7, 11, 12, 13, 14, 15])
    func reservedOpcodesAre1002(_ opcode: UInt8) {
        #expect(violationCode(decodeAll(rawHeader(b0: 0x80 | opcode, length: 0))) == 1002)
        #expect(violationCode(decodeAll(rawHeader(b0: opcode, length: 3) + [1, 2, 3])) == 1002)
    }

    @Test(arguments: [UInt8(0x8), 0x9, 0xA])
    func fragmentedControlFramesAre1002(_ opcode: UInt8) {
        #expect(violationCode(decodeAll(rawHeader(b0: opcode, length: 0))) == 1002)
    }

    @Test(arguments: [UInt8(0x8), 0x9, 0xA])
    func controlFramesOver125BytesAre1002(_ opcode: UInt8) {
        // 126 bytes, in the 16-bit form; and a 7-bit 125 is fine.
        let long = FrameEncoder.frame(WebSocketOpcode(rawValue: opcode)!, [UInt8](repeating: 0x41, count: 126), maskKey: testMask)
        #expect(violationCode(decodeAll(long)) == 1002)
        #expect(violationCode(decodeAll(rawHeader(b0: 0x80 | opcode, length: 1000, lengthForm: 64))) == 1002)
        let ok = FrameEncoder.frame(WebSocketOpcode(rawValue: opcode)!, [0x03, 0xE8] + [UInt8](repeating: 0x41, count: 123), maskKey: testMask)
        #expect(frames(decodeAll(ok))?.first?.payload.count == 125)
    }

    @Test func sixtyFourBitLengthWithHighBitIs1002() {
        #expect(violationCode(decodeAll(rawHeader(b0: 0x82, length: 1 << 63, lengthForm: 64))) == 1002)
        #expect(violationCode(decodeAll(rawHeader(b0: 0x82, length: UInt64.max, lengthForm: 64))) == 1002)
    }

    @Test func lengthBombIs1009FromTheHeaderAlone() {
        // 2^62 bytes announced; only the 14 header bytes are ever sent.
        let header = rawHeader(b0: 0x82, length: 1 << 62, lengthForm: 64)
        #expect(header.count == 14)
        #expect(violationCode(decodeAll(header)) == 1009)
        // Without the mask key, the 10 length bytes alone decide.
        #expect(violationCode(decodeAll(Array(header.prefix(10)))) == 1009)
        #expect(violationCode(decodeAll(Array(header.prefix(10)), chunk: 1)) == 1009)
        // Just over a small limit, in each length form.
        #expect(violationCode(decodeAll(rawHeader(b0: 0x82, length: 101), maxPayload: 100)) == 1009)
        #expect(violationCode(decodeAll(rawHeader(b0: 0x82, length: 1001), maxPayload: 1000)) == 1009)
        #expect(violationCode(decodeAll(rawHeader(b0: 0x82, length: 65_537), maxPayload: 65_536)) == 1009)
        // Exactly at the limit is accepted.
        #expect(frames(decodeAll(FrameEncoder.frame(.binary, [UInt8](repeating: 1, count: 1000), maskKey: testMask), maxPayload: 1000))?.count == 1)
    }

    @Test func nonMinimalLengthsAreAccepted() {
        // RFC 6455 asks for the minimal form but servers commonly accept others; so do we.
        let payload: [UInt8] = [1, 2, 3]
        var masked = payload
        FrameDecoder.applyMask(testMask, to: &masked)
        #expect(frames(decodeAll(rawHeader(b0: 0x82, length: 3, lengthForm: 16) + masked))?.first?.payload == payload)
        #expect(frames(decodeAll(rawHeader(b0: 0x82, length: 3, lengthForm: 64) + masked))?.first?.payload == payload)
    }

    @Test func maskIsItsOwnInverse() {
        var rng = SplitMix64(seed: 1)
        for n in [0, 1, 3, 7, 8, 9, 15, 16, 17, 100, 1031] {
            let original = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var b = original
            FrameDecoder.applyMask(testMask, to: &b)
            let keys = [testMask.0, testMask.1, testMask.2, testMask.3]
            #expect(b == original.enumerated().map { $0.element ^ keys[$0.offset & 3] })
            FrameDecoder.applyMask(testMask, to: &b)
            #expect(b == original)
        }
    }

    @Test func closePayloadIsCutOnACharacterBoundary() {
        let reason = String(repeating: "€", count: 60)  // 180 bytes
        let p = FrameEncoder.closePayload(code: .goingAway, reason: reason)
        #expect(p.count <= 125)
        #expect(Array(p.prefix(2)) == [0x03, 0xE9])
        #expect(UTF8Validator.isValid(p.dropFirst(2)))
        #expect(p.count == 2 + 123)  // 41 euro signs
    }
}
