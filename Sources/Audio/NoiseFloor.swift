import Foundation

/// A call's background noise level, for the segmenter's noise gate: frame energy in dB, a
/// floor that follows the quiet frames, and a gate above it that stationary noise rarely
/// reaches.
///
/// Energy. Each 20 ms frame is high-passed at `highPassHz` (a 2nd-order Butterworth biquad,
/// coefficients from the bilinear transform as in R. Bristow-Johnson's "Audio EQ Cookbook",
/// Q = 1/√2; state carried across frames), so rumble (car, wind, brown noise) that holds little
/// speech does not set the level; the frame's energy is `10·log10(mean square + 1)` dB re one
/// LSB² (0 dB for digital silence, 87 dB for a full-scale sine).
///
/// The biquad runs in scattered look-ahead form (K. K. Parhi and D. G. Messerschmitt,
/// "Pipeline interleaving and parallelism in recursive digital filters", IEEE Trans. ASSP
/// 37(7), 1989): numerator and denominator multiplied by `D(−z)`, so the recursion
/// `y[n] = h[n] − d2·y[n−2] − d4·y[n−4]` (with `d2 = 2·a2 − a1²`, `d4 = a2²`) and the 5-tap FIR
/// `h = b0·(1 − z⁻¹)²·(1 − a1·z⁻¹ + a2·z⁻²)·x` give the same output as the direct recursion,
/// up to rounding. The added poles are the originals mirrored (`−p`), inside the unit circle,
/// so rounding errors decay. Each output now waits for the one two samples back, not the one
/// before it, which lets the processor work on two samples at once: this runs on every frame
/// of every call, and the direct form cost about 1.5 µs per 20 ms frame (BENCHMARKS.md,
/// "Before and after the call state machine").
///
/// Floor, adapted only when the caller of `adapt(to:)` says so (the segmenter: while no
/// utterance is open). The first frame sets it; then, per frame of energy `e`:
/// - down: below the floor, `floor += downRate · (e − floor)` (3% of the way a frame, a time
///   constant of about 0.7 s: quick on a real drop, unmoved by the short dips of babble);
/// - up: above it, `floor += min(e − floor, upStep)`, at most 0.2 dB a frame
///   (10 dB/s), so the few frames of speech heard before an utterance opens lift it by 1 dB
///   or so;
/// - spread: `spread += rate · (clamp(e − floor, 0, spreadCap) − spread)`, the mean distance
///   of the frames above the floor, with `rate` 1/n over the first 50 frames and `spreadRate`
///   (about 1 s of memory) after: a fraction of a dB for steady hiss, 4 dB and more for babble.
///
/// Gate: `floor + max(margin, spreadFactor · spread)` dB. A frame whose energy is below it is
/// not speech, whatever the VAD says. The rates were chosen on the segmentation benchmark
/// (BENCHMARKS.md, "Segmentation in noise"): a faster way down (10%, 33%) let babble's dips
/// lower the gate enough for babble to open and hold utterances.
///
/// `rise(to:)` lifts a stale floor at once (the segmenter: noise that got louder during an
/// utterance).
///
/// Pure: samples in, numbers out; no clock.
public struct NoiseFloor: Sendable {
    /// High-pass corner (Hz) applied before measuring energy.
    public static let highPassHz = 200.0
    /// Share of the distance covered per frame when the energy is below the floor.
    public static let downRate = 0.03
    /// Largest rise (dB) per frame when the energy is above the floor.
    public static let upStep = 0.2
    /// Weight of one frame in the spread (about 50 frames of memory).
    public static let spreadRate = 0.02
    /// Largest distance above the floor (dB) one frame adds to the spread, so speech among
    /// idle frames cannot inflate it.
    public static let spreadCap = 12.0

    /// Gate margin above the floor (dB), at least.
    public let margin: Double
    /// Gate margin as a multiple of the spread, when that is larger.
    public let spreadFactor: Double

    /// The floor (dB), nil before the first `adapt(to:)`.
    public private(set) var level: Double?
    /// Mean distance (dB) of idle frames above the floor.
    public private(set) var spread = 0.0
    /// Frames adapted to so far.
    public private(set) var frames = 0

    // The look-ahead form's FIR taps and recursion coefficients (see the type's comment), and
    // its state: the last four input samples and the last four outputs.
    private let k0, k1, k2, k3, k4, d2, d4: Float
    private var x1: Float = 0, x2: Float = 0, x3: Float = 0, x4: Float = 0
    private var y1: Float = 0, y2: Float = 0, y3: Float = 0, y4: Float = 0

    public init(sampleRate: Int, margin: Double, spreadFactor: Double) {
        self.margin = margin
        self.spreadFactor = spreadFactor
        let c = Self.highPassCoefficients(sampleRate: sampleRate)
        // (1 − 2z⁻¹ + z⁻²)·(1 − a1·z⁻¹ + a2·z⁻²), times b0 (b1 = −2·b0, b2 = b0 for a high-pass).
        k0 = Float(c.b0)
        k1 = Float(c.b0 * (-c.a1 - 2))
        k2 = Float(c.b0 * (c.a2 + 2 * c.a1 + 1))
        k3 = Float(c.b0 * (-2 * c.a2 - c.a1))
        k4 = Float(c.b0 * c.a2)
        d2 = Float(2 * c.a2 - c.a1 * c.a1)
        d4 = Float(c.a2 * c.a2)
    }

    /// The high-pass biquad's coefficients, normalised by a0 (Audio EQ Cookbook:
    /// `w0 = 2π·f0/Fs`, `alpha = sin(w0)/(2Q)`), for `highPassHz` at `sampleRate`.
    public static func highPassCoefficients(sampleRate: Int) -> (b0: Double, b1: Double, b2: Double, a1: Double, a2: Double) {
        let w0 = 2 * Double.pi * highPassHz / Double(sampleRate)
        let alpha = sin(w0) / (2 * (1 / 2.0.squareRoot()))
        let a0 = 1 + alpha
        let b0 = (1 + cos(w0)) / 2 / a0
        return (b0, -2 * b0, b0, -2 * cos(w0) / a0, (1 - alpha) / a0)
    }

    /// The gate (dB): frames below it are not speech. Nil before the first `adapt(to:)`.
    public var gate: Double? {
        level.map { $0 + max(margin, spreadFactor * spread) }
    }

    /// Energy (dB) of `frame` after the high-pass; advances the filter, so call it for every
    /// frame in order.
    public mutating func energy(of frame: UnsafeBufferPointer<Int16>) -> Double {
        var (x1, x2, x3, x4) = (self.x1, self.x2, self.x3, self.x4)
        var (y1, y2, y3, y4) = (self.y1, self.y2, self.y3, self.y4)
        // Two samples a step, each with its own running sum, so that neither the recursion
        // nor the sum waits on the sample just before.
        var sumEven: Float = 0, sumOdd: Float = 0
        var i = 0
        let pairs = frame.count & ~1
        while i < pairs {
            let a = Float(frame[i]), b = Float(frame[i + 1])
            let ya = (k0 * a + k1 * x1 + k2 * x2 + k3 * x3 + k4 * x4) - d4 * y4 - d2 * y2
            let yb = (k0 * b + k1 * a + k2 * x1 + k3 * x2 + k4 * x3) - d4 * y3 - d2 * y1
            sumEven += ya * ya
            sumOdd += yb * yb
            (x4, x3, x2, x1) = (x2, x1, a, b)
            (y4, y3, y2, y1) = (y2, y1, ya, yb)
            i += 2
        }
        if i < frame.count {
            let a = Float(frame[i])
            let ya = (k0 * a + k1 * x1 + k2 * x2 + k3 * x3 + k4 * x4) - d4 * y4 - d2 * y2
            sumEven += ya * ya
            (x4, x3, x2, x1) = (x3, x2, x1, a)
            (y4, y3, y2, y1) = (y3, y2, y1, ya)
        }
        (self.x1, self.x2, self.x3, self.x4) = (x1, x2, x3, x4)
        // After digital silence the outputs decay toward zero and, left alone, reach the
        // subnormal range and stay there (the recursion's rounding keeps them from 0), where
        // every operation costs tens of times more (3x the frame's time, measured). Outputs this
        // small add nothing to the energy: they become 0.
        let tiny: Float = 1e-3
        if abs(y1) < tiny && abs(y2) < tiny && abs(y3) < tiny && abs(y4) < tiny {
            (self.y1, self.y2, self.y3, self.y4) = (0, 0, 0, 0)
        } else {
            (self.y1, self.y2, self.y3, self.y4) = (y1, y2, y3, y4)
        }
        return 10 * log10(Double(sumEven + sumOdd) / Double(max(frame.count, 1)) + 1)
    }

    /// Raises the floor to `energy` dB if it is below it (a stale floor: the caller has seen
    /// nothing quieter for a long while); the spread is kept.
    public mutating func rise(to energy: Double) {
        if let floor = level, floor < energy { level = energy }
    }

    /// Moves the floor and the spread toward a frame of `energy` dB (see the type's comment).
    public mutating func adapt(to energy: Double) {
        frames += 1
        guard let floor = level else {
            level = energy
            return
        }
        let next = energy < floor ? floor + Self.downRate * (energy - floor) : floor + min(energy - floor, Self.upStep)
        // A plain mean over the first frames, so the spread is known after a few of them.
        let rate = max(Self.spreadRate, 1 / Double(frames - 1))
        spread += rate * (min(max(energy - next, 0), Self.spreadCap) - spread)
        level = next
    }
}
