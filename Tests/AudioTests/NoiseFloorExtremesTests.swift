import Foundation
import Testing
@testable import Audio

/// `NoiseFloor.energy(of:)` at the edges of 16-bit audio: full-scale DC at `Int16.min`,
/// full-scale alternation (the Nyquist frequency, which the high-pass passes whole), a sudden
/// step from one extreme to the other, and ten minutes of digital silence (the subnormal flush
/// at work) before speech. Every energy is finite and within 0.01 dB of the direct biquad.
@Suite struct NoiseFloorExtremesTests {
    static func frames(rate: Int) -> [[Int16]] {
        let n = rate / 50
        var out: [[Int16]] = []
        out += Array(repeating: [Int16](repeating: .min, count: n), count: 50)
        out += Array(repeating: (0..<n).map { $0 % 2 == 0 ? Int16.max : Int16.min }, count: 50)
        out.append([Int16](repeating: .max, count: 7))          // odd length, a full-scale step
        out.append((0..<(n + 1)).map { $0 % 2 == 0 ? Int16.min : Int16.max })
        out += Array(repeating: [Int16](repeating: 0, count: n), count: 30_000)  // ten minutes of silence
        out += Array(repeating: (0..<n).map { $0 % 2 == 0 ? Int16(1) : Int16(-1) }, count: 5)  // one LSB
        out += Array(repeating: (0..<n).map { Int16(8000 * sin(2 * Double.pi * 440 * Double($0) / Double(rate))) }, count: 5)
        return out
    }

    @Test(arguments: [8000, 16_000, 24_000])
    func extremesAreFiniteAndMatchTheDirectBiquad(rate: Int) {
        var floor = NoiseFloor(sampleRate: rate, margin: 6, spreadFactor: 2)
        var reference = NoiseFloorEnergyTests.DirectBiquad(rate: rate)
        var worst = 0.0, worstAt = -1
        for (i, frame) in Self.frames(rate: rate).enumerated() {
            let got = frame.withUnsafeBufferPointer { floor.energy(of: $0) }
            let want = reference.energy(frame)
            #expect(got.isFinite, "frame \(i): \(got)")
            if abs(got - want) > worst { (worst, worstAt) = (abs(got - want), i) }
        }
        #expect(worst < 0.01, "worst difference \(worst) dB at frame \(worstAt)")
    }

    @Test(arguments: [8000, 16_000, 24_000])
    func afterTenMinutesOfDigitalSilenceTheFirstSpeechFrameIsAboveTheGate(rate: Int) {
        var floor = NoiseFloor(sampleRate: rate, margin: 6, spreadFactor: 2)
        let silence = [Int16](repeating: 0, count: rate / 50)
        for _ in 0..<30_000 {
            let e = silence.withUnsafeBufferPointer { floor.energy(of: $0) }
            floor.adapt(to: e)
        }
        let speech = (0..<(rate / 50)).map { Int16(3000 * sin(2 * Double.pi * 300 * Double($0) / Double(rate))) }
        let e = speech.withUnsafeBufferPointer { floor.energy(of: $0) }
        let gate = floor.gate ?? .infinity
        #expect(e > gate + 20, "speech \(e) dB against the gate \(gate) dB")
    }
}
