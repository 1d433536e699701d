import Audio
import Testing
@testable import Connector

/// `StreamingInbound` hands the caller's bytes to the resampler in place and appends its output
/// onto the chunk buffer (`Resampler.process(_:appendingTo:)`). It must cut exactly the 8 kHz
/// chunks of the straightforward form it replaced: `PCM.samples(littleEndian:)`, then
/// `Resampler.process(_:)` (speexdsp quality `StreamingInbound.resamplerQuality`), then 320-byte
/// chunks of what has gathered.
@Suite struct StreamingInboundEquivalenceTests {
    /// A seeded generator (xorshift64*), so a failure repeats.
    struct Xorshift {
        var state: UInt64
        init(seed: UInt64) { state = seed | 1 }
        mutating func next() -> UInt64 {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return state &* 0x2545_F491_4F6C_DD1D
        }
    }

    /// The replaced form, kept here as the reference.
    struct Reference {
        let resampler: Resampler?
        var samples: [Int16] = []

        init(callRate: Int) throws {
            resampler = callRate == 8000 ? nil : try Resampler(from: callRate, to: 8000, quality: StreamingInbound.resamplerQuality)
        }

        mutating func receive(_ data: [UInt8], chunk: ([UInt8]) -> Void) {
            let pcm = PCM.samples(littleEndian: data)
            samples += resampler.map { $0.process(pcm) } ?? pcm
            let perChunk = StreamingInbound.chunkBytes / 2
            while samples.count >= perChunk {
                chunk(PCM.littleEndianBytes(samples[0..<perChunk]))
                samples.removeFirst(perChunk)
            }
        }
    }

    /// Random bytes: loud broadband audio, so the filter's state carries across messages.
    static func message(_ count: Int, _ random: inout Xorshift) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    /// The chunks each form cuts from one message per entry of `sizes`.
    static func compare(rate: Int, sizes: [Int], seed: UInt64) throws -> (new: [[UInt8]], old: [[UInt8]]) {
        var random = Xorshift(seed: seed)
        var inbound = try StreamingInbound(callRate: rate)
        var reference = try Reference(callRate: rate)
        var new: [[UInt8]] = [], old: [[UInt8]] = []
        for size in sizes {
            let data = message(size, &random)
            inbound.receive(data) { new.append($0) }
            reference.receive(data) { old.append($0) }
        }
        return (new, old)
    }

    /// Every even message size from 2 to 5120 bytes, each size its own stream of messages that
    /// size (at least two, and four chunks' worth), at each call rate.
    @Test(arguments: [8000, 16000, 24000])
    func everyEvenMessageSizeCutsTheSameChunks(rate: Int) throws {
        var mismatched: [Int] = []
        var fewest = Int.max
        for size in stride(from: 2, through: 5120, by: 2) {
            let fourChunksIn = 4 * StreamingInbound.chunkBytes * rate / 8000  // bytes at the call's rate
            let count = max(2, (fourChunksIn + size - 1) / size)
            let (new, old) = try Self.compare(rate: rate, sizes: Array(repeating: size, count: count), seed: UInt64(size))
            if new != old { mismatched.append(size) }
            fewest = min(fewest, old.count)
        }
        #expect(mismatched.count == 0, "\(rate) Hz: message sizes whose chunks differ (the first 20): \(mismatched.prefix(20))")
        #expect(fewest >= 3, "\(rate) Hz: every size compared over at least 3 chunks (fewest: \(fewest))")
    }

    /// Messages of mixed sizes in one stream (odd ones too: their last byte is dropped by both
    /// forms), so the buffer carries a remainder of every length across messages.
    @Test(arguments: [8000, 16000, 24000])
    func mixedMessageSizesCutTheSameChunks(rate: Int) throws {
        var random = Xorshift(seed: 7)
        let sizes = (0..<1000).map { _ in Int(random.next() % 5121) }
        let (new, old) = try Self.compare(rate: rate, sizes: sizes, seed: 11)
        #expect(new.count == old.count)
        #expect(new == old, "\(rate) Hz: mixed sizes")
        #expect(new.allSatisfy { $0.count == StreamingInbound.chunkBytes })
    }
}
