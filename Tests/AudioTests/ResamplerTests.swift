import Foundation
import Testing
import TestSupport
@testable import Audio

@Suite struct ResamplerTests {
    static let pairs = [(8000, 16000), (16000, 8000), (24000, 16000), (16000, 24000), (8000, 24000), (24000, 8000)]

    static func sine(_ frequency: Double, rate: Int, seconds: Double, amplitude: Double = 10_000) -> [Int16] {
        (0 ..< Int(Double(rate) * seconds)).map { Int16((amplitude * sin(2 * .pi * frequency * Double($0) / Double(rate))).rounded()) }
    }

    static func rms(_ x: ArraySlice<Int16>) -> Double {
        (x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(x.count)).squareRoot()
    }

    /// Gain in dB of a tone through the resampler, measured on the middle of the output
    /// (away from the filter's start-up and the end).
    /// A tone of amplitude 30000: rounding to 16 bits then hides only what is more than
    /// 95 dB down (the gain is then -infinity).
    static func gain(_ frequency: Double, from: Int, to: Int, quality: Int = 6) throws -> Double {
        let input = sine(frequency, rate: from, seconds: 1, amplitude: 30_000)
        let resampler = try Resampler(from: from, to: to, quality: quality)
        let output = resampler.process(input) + resampler.flush()
        let middle = output[output.count / 4 ..< output.count * 3 / 4]
        return 20 * log10(rms(middle) / rms(input[...]))
    }

    @Test(arguments: pairs)
    func passbandToneKeepsItsAmplitude(from: Int, to: Int) throws {
        let nyquist = Double(min(from, to)) / 2
        // Up to 90% of the lower Nyquist frequency (quality 6 is the lowest speexdsp setting
        // flat that far: quality 5 loses 1.8 dB at 0.9, quality 3 loses 7 dB).
        for frequency in [200.0, 1000, nyquist * 0.9] {
            let gain = try Self.gain(frequency, from: from, to: to)
            print(String(format: "resampler %d -> %d Hz: %.0f Hz tone %+.2f dB", from, to, frequency, gain))
            #expect(abs(gain) <= 0.5, "\(from)->\(to) Hz, \(frequency) Hz tone: \(gain) dB")
        }
    }

    @Test(arguments: pairs.filter { $0.1 < $0.0 })
    func toneAboveTheNewNyquistIsAttenuated(from: Int, to: Int) throws {
        let nyquist = Double(to) / 2
        for frequency in [nyquist * 1.1, nyquist * 1.25, nyquist * 1.5] where frequency < Double(from) / 2 {
            let gain = try Self.gain(frequency, from: from, to: to)
            print(String(format: "resampler %d -> %d Hz: %.0f Hz tone %.1f dB", from, to, frequency, gain))
            #expect(gain <= -50, "\(from)->\(to) Hz, \(frequency) Hz tone: \(gain) dB")
        }
    }

    /// Upsampling leaves no image of the tone above the old Nyquist frequency.
    @Test(arguments: pairs.filter { $0.1 > $0.0 })
    func upsamplingLeavesNoImage(from: Int, to: Int) throws {
        let tone = Double(from) * 0.375  // 3 kHz from 8 kHz, 6 kHz from 16 kHz
        let resampler = try Resampler(from: from, to: to)
        let output = resampler.process(Self.sine(tone, rate: from, seconds: 1, amplitude: 30_000))
        let middle = output[output.count / 4 ..< output.count * 3 / 4]
        let wanted = Self.amplitude(of: tone, in: middle, rate: to)
        let image = Self.amplitude(of: Double(from) - tone, in: middle, rate: to)
        let gain = 20 * log10(image / wanted)
        print(String(format: "resampler %d -> %d Hz: image at %.0f Hz %.1f dB", from, to, Double(from) - tone, gain))
        #expect(wanted > 29_000)
        #expect(gain <= -50)
    }

    /// Amplitude of the `frequency` component (a single DFT bin, Hann window).
    static func amplitude(of frequency: Double, in x: ArraySlice<Int16>, rate: Int) -> Double {
        var re = 0.0, im = 0.0, window = 0.0
        for (k, sample) in x.enumerated() {
            let w = 0.5 - 0.5 * cos(2 * .pi * Double(k) / Double(x.count))
            let phase = 2 * .pi * frequency * Double(k) / Double(rate)
            re += w * Double(sample) * cos(phase)
            im -= w * Double(sample) * sin(phase)
            window += w
        }
        return 2 * (re * re + im * im).squareRoot() / window
    }

    /// State carries across chunks: any chunking gives the samples of one call.
    @Test(arguments: pairs)
    func chunkedEqualsOneShot(from: Int, to: Int) throws {
        var random = SplitMix64(seed: UInt64(from * 31 + to))
        let input = (0 ..< from * 2).map { _ in Int16(truncatingIfNeeded: random.next() >> 48) / 4 }
        let whole = try Resampler(from: from, to: to)
        let expected = whole.process(input) + whole.flush()
        #expect(expected.count >= input.count * to / from)

        for maxChunk in [1, 7, 160, 1001] {
            let chunked = try Resampler(from: from, to: to)
            var output: [Int16] = []
            var start = 0
            while start < input.count {
                let end = min(input.count, start + 1 + Int(random.next() % UInt64(maxChunk)))
                // Alternately the returning and the appending form: one stream either way.
                if random.next() % 2 == 0 {
                    output += chunked.process(Array(input[start ..< end]))
                } else {
                    input[start ..< end].withUnsafeBufferPointer { chunked.process($0, appendingTo: &output) }
                }
                start = end
            }
            output += chunked.flush()
            #expect(output == expected, "\(from)->\(to) chunks of 1...\(maxChunk), appended or returned")
        }
    }

    /// Bytes in chunks that split samples give the bytes of the samples resampled at once.
    @Test func byteChunksMaySplitSamples() throws {
        var random = SplitMix64(seed: 99)
        let input = Self.sine(440, rate: 16000, seconds: 0.5)
        let reference = try Resampler(from: 16000, to: 8000)
        let expected = PCM.littleEndianBytes(reference.process(input))
        let bytes = PCM.littleEndianBytes(input)
        let resampler = try Resampler(from: 16000, to: 8000)
        var output: [UInt8] = []
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + 1 + Int(random.next() % 301))
            output += resampler.process(littleEndian: bytes[start ..< end])
            start = end
        }
        #expect(output == expected)
        #expect(resampler.process(littleEndian: [0x34]).isEmpty, "half a sample waits")
        #expect(resampler.process(littleEndian: [UInt8]()).isEmpty)
    }

    /// 20 ms in, 20 ms out, every frame: the connector can feed the segmenter directly.
    @Test(arguments: pairs)
    func framesKeepTheirLength(from: Int, to: Int) throws {
        let resampler = try Resampler(from: from, to: to)
        let frame = Self.sine(700, rate: from, seconds: 0.02)
        for _ in 0 ..< 100 {
            #expect(resampler.process(frame).count == to / 50)
        }
        #expect(resampler.process([Int16]()).isEmpty)
    }

    /// The output is the input delayed by `outputLatency`: compare with the ideal tone.
    @Test func outputIsDelayedByTheStatedLatency() throws {
        let resampler = try Resampler(from: 8000, to: 16000)
        let output = resampler.process(Self.sine(500, rate: 8000, seconds: 0.5))
        let ideal = Self.sine(500, rate: 16000, seconds: 1)
        let latency = resampler.outputLatency
        #expect(latency > 0)
        let error = (2000 ..< 6000).map { abs(Double(output[$0]) - Double(ideal[$0 - latency])) }.max() ?? .infinity
        #expect(error < 100, "max error \(error) against a 10000 amplitude tone")
        // A flush ends the stream and resets: the same input gives the same output again.
        _ = resampler.flush()
        #expect(resampler.process(Self.sine(500, rate: 8000, seconds: 0.5)) == output)
    }

    @Test func rejectsInvalidSettings() {
        #expect(throws: Resampler.Error.invalidRate(0)) { try Resampler(from: 0, to: 16000) }
        #expect(throws: Resampler.Error.invalidRate(500_000)) { try Resampler(from: 8000, to: 500_000) }
        #expect(throws: Resampler.Error.invalidQuality(11)) { try Resampler(from: 8000, to: 16000, quality: 11) }
        #expect(throws: Resampler.Error.invalidQuality(-1)) { try Resampler(from: 8000, to: 16000, quality: -1) }
    }
}

