import Foundation
import Testing
import TestSupport
@testable import Audio

@Suite struct WAVTests {
    /// Little-endian bytes of a chunk: id, size, body, and a pad byte when the size is odd.
    static func chunk(_ id: String, _ body: [UInt8]) -> [UInt8] {
        let size = UInt32(body.count)
        return Array(id.utf8) + [UInt8(size & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size >> 16 & 0xFF), UInt8(size >> 24)]
            + body + (body.count % 2 == 1 ? [0] : [])
    }

    static func riff(_ chunks: [UInt8]) -> [UInt8] {
        let size = UInt32(4 + chunks.count)
        return Array("RIFF".utf8) + [UInt8(size & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size >> 16 & 0xFF), UInt8(size >> 24)]
            + Array("WAVE".utf8) + chunks
    }

    static func fmt(tag: UInt16 = 1, channels: UInt16 = 1, rate: UInt32 = 8000, bits: UInt16 = 16, extra: [UInt8] = []) -> [UInt8] {
        let align = channels * bits / 8
        let byteRate = rate * UInt32(align)
        func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func le32(_ v: UInt32) -> [UInt8] { le16(UInt16(v & 0xFFFF)) + le16(UInt16(v >> 16)) }
        return chunk("fmt ", le16(tag) + le16(channels) + le32(rate) + le32(byteRate) + le16(align) + le16(bits) + extra)
    }

    @Test func roundTrip() throws {
        var random = SplitMix64(seed: 7)
        let samples = (0 ..< 1001).map { _ in Int16(truncatingIfNeeded: random.next()) } + [.min, .max, 0, -1]
        let wav = WAV(sampleRate: 16000, samples: samples)
        let bytes = wav.bytes
        #expect(bytes.count == 44 + samples.count * 2)
        #expect(try WAV(bytes: bytes) == wav)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("audio-tests-\(UUID()).wav")
        defer { try? FileManager.default.removeItem(at: url) }
        try wav.write(to: url)
        #expect(try WAV(contentsOf: url) == wav)
    }

    /// The fixtures were written by Python's `wave` module: the writer produces the same bytes.
    @Test func writesTheCanonicalHeaderLikePythonsWave() throws {
        for name in ["speech8-clean", "speech16-pink20"] {
            let url = try Fixtures.url(name + ".wav")
            let file = [UInt8](try Data(contentsOf: url))
            let wav = try WAV(bytes: file)
            #expect(wav.sampleRate == (name.hasPrefix("speech8") ? 8000 : 16000))
            #expect(wav.bytes == file)
        }
    }

    @Test func skipsOtherChunksAndReadsExtensiblePCM() throws {
        let data = Self.chunk("data", [0x01, 0x00, 0xFF, 0xFF, 0x00, 0x80])
        let list = Self.chunk("LIST", Array("INFOISFT\u{5}\0\0\0sox!".utf8))  // odd size: padded
        #expect(list.count % 2 == 0)
        let plain = try WAV(bytes: Self.riff(Self.fmt() + list + Self.chunk("fact", [1, 0, 0, 0]) + data))
        #expect(plain == WAV(sampleRate: 8000, samples: [1, -1, .min]))

        // WAVE_FORMAT_EXTENSIBLE: cbSize 22, valid bits, channel mask, subformat GUID (PCM).
        let guid: [UInt8] = [1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71]
        let extensible = Self.fmt(tag: 0xFFFE, rate: 16000, extra: [22, 0, 16, 0, 4, 0, 0, 0] + guid)
        #expect(try WAV(bytes: Self.riff(extensible + data)).sampleRate == 16000)
    }

    @Test func rejectsWhatItCannotRead() {
        let data = Self.chunk("data", [0, 0, 0, 0])
        #expect(throws: WAV.Error.notRIFFWave) { try WAV(bytes: Array("RIFX....WAVE".utf8)) }
        #expect(throws: WAV.Error.notRIFFWave) { try WAV(bytes: []) }
        #expect(throws: WAV.Error.unsupportedFormat(formatTag: 1, channels: 2, bitsPerSample: 16)) {
            try WAV(bytes: Self.riff(Self.fmt(channels: 2) + data))
        }
        #expect(throws: WAV.Error.unsupportedFormat(formatTag: 1, channels: 1, bitsPerSample: 8)) {
            try WAV(bytes: Self.riff(Self.fmt(bits: 8) + data))
        }
        #expect(throws: WAV.Error.unsupportedFormat(formatTag: 3, channels: 1, bitsPerSample: 32)) {
            try WAV(bytes: Self.riff(Self.fmt(tag: 3, bits: 32) + data))
        }
        #expect(throws: WAV.Error.missingChunk("fmt ")) { try WAV(bytes: Self.riff(data + Self.fmt())) }
        #expect(throws: WAV.Error.missingChunk("data")) { try WAV(bytes: Self.riff(Self.fmt())) }
        #expect(throws: WAV.Error.truncated(chunk: "data")) { try WAV(bytes: Array(Self.riff(Self.fmt() + data).dropLast(2))) }
        #expect(throws: WAV.Error.truncated(chunk: "fmt ")) { try WAV(bytes: Self.riff(Self.chunk("fmt ", [1, 0, 1, 0]) + data)) }
        #expect(throws: WAV.Error.invalidSampleRate(0)) { try WAV(bytes: Self.riff(Self.fmt(rate: 0) + data)) }
        #expect(WAV.Error.unsupportedFormat(formatTag: 1, channels: 2, bitsPerSample: 16).description.contains("sox"))
    }
}

@Suite struct PCMTests {
    @Test func littleEndianBothWays() {
        let samples: [Int16] = [0, 1, -1, 256, .max, .min, 0x1234]
        let bytes = PCM.littleEndianBytes(samples)
        #expect(bytes == [0, 0, 1, 0, 0xFF, 0xFF, 0, 1, 0xFF, 0x7F, 0, 0x80, 0x34, 0x12])
        #expect(PCM.samples(littleEndian: bytes) == samples)
        #expect(PCM.samples(littleEndian: bytes + [0x55]) == samples, "a trailing odd byte is ignored")
        #expect(PCM.samples(littleEndian: [UInt8]()).isEmpty)
    }

    /// Contiguous input takes a copying fast path, other collections the generic one: same results.
    @Test func contiguousAndGenericPathsAgree() {
        let samples: [Int16] = (0..<1000).map { Int16(truncatingIfNeeded: $0 &* 7919) }
        let bytes = PCM.littleEndianBytes(samples)
        #expect(PCM.littleEndianBytes(samples.lazy.map { $0 }) == bytes)
        #expect(PCM.littleEndianBytes(samples[10..<20]) == Array(bytes[20..<40]))
        #expect(PCM.samples(littleEndian: bytes.lazy.map { $0 }) == samples)
        #expect(PCM.samples(littleEndian: bytes[2..<9]) == Array(samples[1..<4]), "a slice with an odd byte count")
        #expect(PCM.samples(littleEndian: bytes.lazy.map { $0 }.dropLast()) == Array(samples.dropLast()))
    }
}
