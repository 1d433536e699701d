import Foundation

/// 16-bit PCM mono WAV files (RIFF/WAVE): fixtures and debug recordings.
public struct WAV: Sendable, Equatable {
    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        case notRIFFWave
        case truncated(chunk: String)
        case missingChunk(String)
        /// Only 16-bit integer PCM with one channel is read.
        case unsupportedFormat(formatTag: UInt16, channels: UInt16, bitsPerSample: UInt16)
        case invalidSampleRate(UInt32)
        case unreadable(path: String, reason: String)

        public var description: String {
            switch self {
            case .notRIFFWave: "not a WAV file: no RIFF/WAVE header"
            case .truncated(let chunk): "WAV file truncated in its \(chunk) chunk"
            case .missingChunk(let chunk): "WAV file has no \(chunk) chunk"
            case .unsupportedFormat(let tag, let channels, let bits):
                "WAV format \(tag) with \(channels) channel(s) of \(bits) bits is not supported: convert to 16-bit PCM mono (sox in.wav -b 16 -c 1 -e signed out.wav)"
            case .invalidSampleRate(let rate): "WAV sample rate \(rate) Hz is invalid"
            case .unreadable(let path, let reason): "cannot read WAV file \(path): \(reason)"
            }
        }
    }

    public var sampleRate: Int
    public var samples: [Int16]

    public init(sampleRate: Int, samples: [Int16]) {
        self.sampleRate = sampleRate
        self.samples = samples
    }

    /// Parses a WAV file's bytes. Chunks other than `fmt ` and `data` (LIST, fact, ...) are
    /// skipped; WAVE_FORMAT_EXTENSIBLE is accepted when its subformat is PCM.
    public init(bytes: [UInt8]) throws(Error) {
        func u16(_ i: Int) -> UInt16 { UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8 }
        func u32(_ i: Int) -> UInt32 { UInt32(u16(i)) | UInt32(u16(i + 2)) << 16 }
        func tag(_ i: Int) -> String { String(decoding: bytes[i ..< i + 4], as: UTF8.self) }

        guard bytes.count >= 12, tag(0) == "RIFF", tag(8) == "WAVE" else { throw .notRIFFWave }
        var format: (tag: UInt16, channels: UInt16, rate: UInt32, bits: UInt16)?
        var offset = 12
        while offset + 8 <= bytes.count {
            let id = tag(offset), size = Int(u32(offset + 4)), body = offset + 8
            guard size <= bytes.count - body else { throw .truncated(chunk: id) }
            switch id {
            case "fmt ":
                guard size >= 16 else { throw .truncated(chunk: id) }
                var formatTag = u16(body)
                if formatTag == 0xFFFE, size >= 26 { formatTag = u16(body + 24) }  // extensible: subformat GUID's first two bytes
                format = (formatTag, u16(body + 2), u32(body + 4), u16(body + 14))
            case "data":
                guard let format else { throw .missingChunk("fmt ") }
                guard format.tag == 1, format.channels == 1, format.bits == 16 else {
                    throw .unsupportedFormat(formatTag: format.tag, channels: format.channels, bitsPerSample: format.bits)
                }
                guard format.rate > 0 else { throw .invalidSampleRate(format.rate) }
                sampleRate = Int(format.rate)
                samples = PCM.samples(littleEndian: bytes[body ..< body + size])
                return
            default:
                break
            }
            offset = body + size + size % 2  // chunks are padded to an even size
        }
        throw .missingChunk(format == nil ? "fmt " : "data")
    }

    public init(contentsOf url: URL) throws(Error) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw .unreadable(path: url.path, reason: error.localizedDescription)
        }
        try self.init(bytes: [UInt8](data))
    }

    /// The file's bytes: a 44-byte canonical header and the samples.
    public var bytes: [UInt8] {
        let dataSize = UInt32(samples.count * 2)
        var out: [UInt8] = []
        out.reserveCapacity(44 + samples.count * 2)
        func tag(_ s: String) { out.append(contentsOf: s.utf8) }
        func u16(_ v: UInt16) { out.append(UInt8(v & 0xFF)); out.append(UInt8(v >> 8)) }
        func u32(_ v: UInt32) { u16(UInt16(v & 0xFFFF)); u16(UInt16(v >> 16)) }
        tag("RIFF"); u32(36 + dataSize); tag("WAVE")
        tag("fmt "); u32(16)
        u16(1); u16(1)                                  // PCM, mono
        u32(UInt32(sampleRate)); u32(UInt32(sampleRate * 2))  // rate, byte rate
        u16(2); u16(16)                                 // block align, bits per sample
        tag("data"); u32(dataSize)
        out.append(contentsOf: PCM.littleEndianBytes(samples))
        return out
    }

    public func write(to url: URL) throws {
        try Data(bytes).write(to: url)
    }
}
