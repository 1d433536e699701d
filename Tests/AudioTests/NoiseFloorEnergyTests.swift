import Foundation
import Testing
@testable import Audio

/// `NoiseFloor.energy(of:)` runs its high-pass in scattered look-ahead form; these tests hold
/// it to the plain biquad (direct form I in Double, the cookbook's difference equation) on the
/// same frames, with the filter state carried across frames of odd and even lengths.
@Suite struct NoiseFloorEnergyTests {
    /// The cookbook high-pass as its difference equation, in Double.
    struct DirectBiquad {
        let c: (b0: Double, b1: Double, b2: Double, a1: Double, a2: Double)
        var x1 = 0.0, x2 = 0.0, y1 = 0.0, y2 = 0.0

        init(rate: Int) { c = NoiseFloor.highPassCoefficients(sampleRate: rate) }

        mutating func energy(_ frame: [Int16]) -> Double {
            var sum = 0.0
            for s in frame {
                let x = Double(s)
                let y = c.b0 * x + c.b1 * x1 + c.b2 * x2 - c.a1 * y1 - c.a2 * y2
                (x2, x1, y2, y1) = (x1, x, y1, y)
                sum += y * y
            }
            return 10 * log10(sum / Double(max(frame.count, 1)) + 1)
        }
    }

    /// A deterministic generator (xorshift), so every run feeds the same samples.
    struct Noise {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        mutating func next(_ amplitude: Double) -> Int16 {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int16((Double(state % 65_536) / 32_768 - 1) * amplitude)
        }
    }

    static func compare(rate: Int, frames: [[Int16]]) -> Double {
        var floor = NoiseFloor(sampleRate: rate, margin: 6, spreadFactor: 2)
        var reference = DirectBiquad(rate: rate)
        var worst = 0.0
        for frame in frames {
            let got = frame.withUnsafeBufferPointer { floor.energy(of: $0) }
            worst = max(worst, abs(got - reference.energy(frame)))
        }
        return worst
    }

    @Test(arguments: [8000, 16_000, 24_000])
    func matchesTheDirectBiquadOnNoiseToneAndRumble(rate: Int) {
        var noise = Noise()
        var t = 0
        var frames: [[Int16]] = []
        // 20 ms frames, then odd lengths (the filter state crosses them), loud and quiet.
        let lengths = Array(repeating: rate / 50, count: 100) + [1, 3, 7, rate / 50 + 1, 2, 5] + Array(repeating: rate / 50, count: 50)
        for (i, length) in lengths.enumerated() {
            let amplitude = i % 3 == 0 ? 30.0 : 8000.0
            frames.append((0 ..< length).map { _ in
                t += 1
                let tone = 0.4 * amplitude * sin(2 * Double.pi * 1000 * Double(t) / Double(rate))
                let rumble = 0.5 * amplitude * sin(2 * Double.pi * 60 * Double(t) / Double(rate))
                return Int16(clamping: Int(tone + rumble) + Int(noise.next(0.1 * amplitude)))
            })
        }
        // Digital silence between loud frames: the filter's decay is cut to exact zeros
        // (`NoiseFloor` avoids subnormal floats) without changing any energy measurably.
        let loud = frames[1]
        frames = frames + Array(repeating: [Int16](repeating: 0, count: rate / 50), count: 20) + [loud, loud]
            + Array(repeating: [Int16](repeating: 0, count: rate / 50), count: 3) + frames.prefix(10)
        let worst = Self.compare(rate: rate, frames: frames)
        #expect(worst < 0.01, "largest difference \(worst) dB")
    }

    /// The high-pass still does its job in the new form: a 2nd-order Butterworth at 200 Hz takes
    /// `10·log10(1 + (200/f)⁴)` dB off a tone of f Hz: 21 dB at 60 Hz, 0.007 dB at 1 kHz.
    @Test func attenuatesRumbleAndPassesSpeechBand() {
        func settled(_ hz: Double) -> Double {
            var floor = NoiseFloor(sampleRate: 16_000, margin: 6, spreadFactor: 2)
            var energy = 0.0
            for i in 0 ..< 50 {
                let frame = (0 ..< 320).map { Int16((10_000 * sin(2 * Double.pi * hz * Double(i * 320 + $0) / 16_000)).rounded()) }
                energy = frame.withUnsafeBufferPointer { floor.energy(of: $0) }
            }
            return energy
        }
        let full = 10 * log10(10_000.0 * 10_000 / 2 + 1)
        #expect(abs(settled(1000) - full) < 0.1)
        let expected60 = 10 * log10(1 + pow(200.0 / 60, 4))
        #expect(abs(full - settled(60) - expected60) < 0.5, "60 Hz lost \(full - settled(60)) dB, expected \(expected60)")
    }

    /// Digital silence is 0 dB, and an empty frame does not divide by zero.
    @Test func silenceAndEmptyFrames() {
        var floor = NoiseFloor(sampleRate: 8000, margin: 6, spreadFactor: 2)
        let zeros = [Int16](repeating: 0, count: 160)
        #expect(zeros.withUnsafeBufferPointer { floor.energy(of: $0) } == 0)
        #expect([Int16]().withUnsafeBufferPointer { floor.energy(of: $0) } == 0)
    }
}
