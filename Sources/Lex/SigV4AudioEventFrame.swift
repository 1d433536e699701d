import COpenSSL
import Foundation

extension SigV4EventSigner {
    /// The signed outer message of one `AudioInputEvent` (`audioChunk` = `chunk`, the default
    /// `contentType`, no `eventId`, no `clientTimestampMillis`), the bytes for the wire, handed
    /// to `body`; the chain advances only when `body` returns.
    ///
    /// The bytes equal `signedFrame(StartConversation.InputEvent.audioInput(.init(audioChunk:
    /// chunk)).message(), date: date)` (`SigV4EventSignerFastPathTests` proves it), written
    /// straight into a buffer the signer keeps: the inner headers are constants, the JSON is
    /// written around OpenSSL's base64 (`EVP_EncodeBlock`), the string to sign is bytes whose
    /// per-second part (date, scope) is written once a second, and the HMAC context is keyed
    /// once per signing key. At 320 bytes a chunk (20 ms at 8 kHz, Lex's limit) a call does
    /// this 50 times a second. `frame` is valid only inside `body`.
    ///
    /// Throws `EventStreamError.messageTooLarge` as `signedFrame` does (a chunk of about 18
    /// MiB or more), else what `body` throws (then the chain does not advance: the frame was
    /// not sent, so the next event chains to the same signature).
    public mutating func withSignedAudioInputFrame<R>(
        _ chunk: UnsafeRawBufferPointer, date: SigV4Date, _ body: (_ frame: UnsafeBufferPointer<UInt8>) throws -> R
    ) throws -> R {
        if !isKnownUniquelyReferenced(&audioFrames) { audioFrames = AudioInputFrameWriter() }
        let frame = try audioFrames!.write(chunk: chunk, date: date, signer: signer, previousSignature: previousSignature)
        let result = try body(frame)
        let signature = UnsafeBufferPointer(rebasing: frame[AudioInputFrameWriter.signatureRange])
        if previousSignature.count == signature.count {
            previousSignature.withUnsafeMutableBufferPointer { _ = $0.initialize(from: signature) }
        } else {
            previousSignature = Array(signature)
        }
        return result
    }

    /// `withSignedAudioInputFrame` with the chunk as an array.
    public mutating func withSignedAudioInputFrame<R>(
        _ chunk: [UInt8], date: SigV4Date, _ body: (_ frame: UnsafeBufferPointer<UInt8>) throws -> R
    ) throws -> R {
        try chunk.withUnsafeBytes { try withSignedAudioInputFrame($0, date: date, body) }
    }
}

/// The reusable state of `SigV4EventSigner.withSignedAudioInputFrame`: the frame buffer, the
/// string-to-sign buffer, OpenSSL's SHA-256 and keyed HMAC-SHA256 contexts, and what events
/// within one second share. Reached only through a signer's mutating method after a
/// uniqueness check (a copied signer gets its own), so one thread at a time.
final class AudioInputFrameWriter: @unchecked Sendable {
    // Frame layout (offsets in bytes), outer message then the inner one as its payload:
    // outer prelude 0..<12, `:date` header 12..<27, `:chunk-signature` name, type and length
    // 27..<47, signature 47..<79; inner prelude 79..<91, inner headers 91..<176, JSON from 176
    // (its constant start `{"audioChunk":"` to 191, then base64).
    static let dateHeaderOffset = 12
    static let signatureHeaderOffset = 27
    static let signatureRange = 47..<79
    static let innerOffset = 79
    static let outerHeadersLength = 67
    static let innerHeaders: [UInt8] = {
        do {
            return try EventStreamEncoder.encodeHeaders(StartConversation.eventHeaders("AudioInputEvent"))
        } catch {
            preconditionFailure("the AudioInputEvent headers are constants within the limits: \(error)")
        }
    }()
    static let jsonPrefix = Array(#"{"audioChunk":""#.utf8)
    static let jsonSuffix = Array(#"","contentType":""#.utf8) + Array(StartConversation.audioInputContentType.utf8)
        + Array(#""}"#.utf8)
    /// `:chunk-signature`, type 6 (byte array), length 32.
    static let signatureHeader: [UInt8] = [UInt8(SigV4EventSigner.signatureHeaderName.utf8.count)]
        + Array(SigV4EventSigner.signatureHeaderName.utf8) + [6, 0, 32]
    static var jsonOffset: Int { innerOffset + EventStreamLimits.preludeBytes + innerHeaders.count }
    static var base64Offset: Int { jsonOffset + jsonPrefix.count }

    private var frame: UnsafeMutablePointer<UInt8>
    private var frameCapacity: Int
    private var stringToSign: UnsafeMutablePointer<UInt8>
    private var stringToSignCapacity: Int
    private let sha256: OpaquePointer
    private let hmac: OpaquePointer
    private let hexDigits: UnsafeMutablePointer<UInt8>

    // What events within one second share.
    private var second: Int64?
    /// Length of `algorithm \n amzDate \n scope \n` at the start of `stringToSign`.
    private var stringToSignHead = 0
    private var dateHeaderHashHex = [UInt8](repeating: 0, count: 64)
    private var signingKey: [UInt8]?

    init() {
        guard let sha = lc_sha256_ctx_new(), let mac = lc_hmac_sha256_ctx_new() else {
            preconditionFailure("OpenSSL has no SHA-256 or HMAC (libcrypto without its default provider)")
        }
        sha256 = sha
        hmac = mac
        hexDigits = .allocate(capacity: 16)
        hexDigits.initialize(from: Array("0123456789abcdef".utf8), count: 16)
        frameCapacity = 1024
        frame = .allocate(capacity: frameCapacity)
        stringToSignCapacity = 512
        stringToSign = .allocate(capacity: stringToSignCapacity)
        Self.signatureHeader.withUnsafeBufferPointer {
            (frame + Self.signatureHeaderOffset).update(from: $0.baseAddress!, count: $0.count)
        }
        Self.innerHeaders.withUnsafeBufferPointer {
            (frame + Self.innerOffset + EventStreamLimits.preludeBytes).update(from: $0.baseAddress!, count: $0.count)
        }
        Self.jsonPrefix.withUnsafeBufferPointer {
            (frame + Self.jsonOffset).update(from: $0.baseAddress!, count: $0.count)
        }
    }

    deinit {
        lc_sha256_ctx_free(sha256)
        lc_hmac_sha256_ctx_free(hmac)
        frame.deallocate()
        stringToSign.deallocate()
        hexDigits.deallocate()
    }

    /// Writes the whole signed frame and returns it (valid until the next call).
    func write(chunk: UnsafeRawBufferPointer, date: SigV4Date, signer: SigV4Signer,
               previousSignature: [UInt8]) throws(EventStreamError) -> UnsafeBufferPointer<UInt8> {
        let maxPayload = EventStreamLimits.maxPayloadBytes
        let base64Length = (chunk.count + 2) / 3 * 4
        let jsonLength = Self.jsonPrefix.count + base64Length + Self.jsonSuffix.count
        guard jsonLength <= maxPayload else { throw .messageTooLarge(bytes: jsonLength, limit: maxPayload) }
        let innerLength = EventStreamLimits.overheadBytes + Self.innerHeaders.count + jsonLength
        guard innerLength <= maxPayload else { throw .messageTooLarge(bytes: innerLength, limit: maxPayload) }
        let total = Self.innerOffset + innerLength + 4
        if second != date.unixSeconds { startSecond(date, signer: signer) }
        // + 1: base64's NUL; the string to sign's per-event part is at most 2 + 64 + 64 bytes
        // after hex(previous signature).
        reserve(frame: total + 1, stringToSign: stringToSignHead + 2 * previousSignature.count + 130)

        // The inner message: prelude, the constant headers and JSON prefix (written at init),
        // base64, suffix, CRC.
        let inner = frame + Self.innerOffset
        Self.writeBigEndian(UInt32(innerLength), at: inner)
        Self.writeBigEndian(UInt32(Self.innerHeaders.count), at: inner + 4)
        Self.writeBigEndian(Self.crc(inner, 8), at: inner + 8)
        var at = frame + Self.base64Offset
        if let source = chunk.baseAddress, !chunk.isEmpty {
            _ = EVP_EncodeBlock(at, source.assumingMemoryBound(to: UInt8.self), Int32(chunk.count))
        }
        at += base64Length
        Self.jsonSuffix.withUnsafeBufferPointer { at.update(from: $0.baseAddress!, count: $0.count) }
        let innerCRC = Self.crc(inner, innerLength - 4)
        Self.writeBigEndian(innerCRC, at: inner + innerLength - 4)

        // The string to sign's per-event part: hex(previous signature), hex(SHA-256(`:date`
        // header)), hex(SHA-256(inner message)); then the signature into its header.
        var s = stringToSign + stringToSignHead
        s = hex(previousSignature, at: s)
        s.pointee = 0x0A
        s += 1
        dateHeaderHashHex.withUnsafeBufferPointer { s.update(from: $0.baseAddress!, count: 64) }
        s[64] = 0x0A
        s += 65
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { hash in
            precondition(lc_sha256_ctx_digest(sha256, inner, innerLength, hash.baseAddress) == 1,
                         "SHA-256 failed inside OpenSSL")
            s = hex(UnsafeBufferPointer(hash), at: s)
        }
        precondition(lc_hmac_sha256_ctx_mac(hmac, stringToSign, s - stringToSign, frame + Self.signatureRange.lowerBound) == 1,
                     "HMAC-SHA256 failed inside OpenSSL")

        // The outer prelude and CRC (the `:date` header was written at the start of the second).
        Self.writeBigEndian(UInt32(total), at: frame)
        Self.writeBigEndian(UInt32(Self.outerHeadersLength), at: frame + 4)
        Self.writeBigEndian(Self.crc(frame, 8), at: frame + 8)
        let outerCRC = Self.crc(frame, total - 4)
        Self.writeBigEndian(outerCRC, at: frame + total - 4)
        return UnsafeBufferPointer(start: frame, count: total)
    }

    /// A new second: the string to sign's head, the `:date` header and its hash, the signing
    /// key (HMAC keyed again only when the key changed, at a new day).
    private func startSecond(_ date: SigV4Date, signer: SigV4Signer) {
        var head = Array(SigV4EventSigner.algorithm.utf8)
        head.append(0x0A)
        head += date.amzDate.utf8
        head.append(0x0A)
        head += signer.credentialScope(date: date).utf8
        head.append(0x0A)
        reserve(frame: 0, stringToSign: head.count + 194)
        head.withUnsafeBufferPointer { stringToSign.update(from: $0.baseAddress!, count: $0.count) }
        stringToSignHead = head.count
        let dateHeader = SigV4EventSigner.dateHeader(date)
        precondition(dateHeader.count == Self.signatureHeaderOffset - Self.dateHeaderOffset)
        dateHeader.withUnsafeBufferPointer { (frame + Self.dateHeaderOffset).update(from: $0.baseAddress!, count: $0.count) }
        dateHeaderHashHex = Array(Digest.hex(Digest.sha256(dateHeader)).utf8)
        let key = signer.signingKey(date: date)
        if key != signingKey {
            let ok = key.withUnsafeBufferPointer { lc_hmac_sha256_ctx_set_key(hmac, $0.baseAddress, $0.count) }
            precondition(ok == 1, "HMAC-SHA256 keying failed inside OpenSSL")
            signingKey = key
        }
        second = date.unixSeconds
    }

    /// Grows the buffers to at least these sizes, keeping their contents.
    private func reserve(frame needed: Int, stringToSign stsNeeded: Int) {
        if needed > frameCapacity {
            let capacity = max(needed, frameCapacity * 2)
            let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
            grown.update(from: frame, count: Self.base64Offset)  // the constant and per-second parts
            frame.deallocate()
            frame = grown
            frameCapacity = capacity
        }
        if stsNeeded > stringToSignCapacity {
            let capacity = max(stsNeeded, stringToSignCapacity * 2)
            let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
            grown.update(from: stringToSign, count: stringToSignHead)
            stringToSign.deallocate()
            stringToSign = grown
            stringToSignCapacity = capacity
        }
    }

    private func hex(_ bytes: [UInt8], at out: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        bytes.withUnsafeBufferPointer { hex($0, at: out) }
    }

    /// Lower-case hex of `bytes` at `out`; returns the byte after it.
    private func hex(_ bytes: UnsafeBufferPointer<UInt8>, at out: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        var o = out
        for b in bytes {
            o[0] = hexDigits[Int(b >> 4)]
            o[1] = hexDigits[Int(b & 0x0F)]
            o += 2
        }
        return o
    }

    private static func crc(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> UInt32 {
        EventStreamCRC.checksum(bytes, count: count)
    }

    private static func writeBigEndian(_ v: UInt32, at p: UnsafeMutablePointer<UInt8>) {
        p[0] = UInt8(truncatingIfNeeded: v >> 24)
        p[1] = UInt8(truncatingIfNeeded: v >> 16)
        p[2] = UInt8(truncatingIfNeeded: v >> 8)
        p[3] = UInt8(truncatingIfNeeded: v)
    }
}
