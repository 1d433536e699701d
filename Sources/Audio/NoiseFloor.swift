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

    // Biquad coefficients (normalised by a0) and its state.
    private let b0, b1, b2, a1, a2: Float
    private var s1: Float = 0, s2: Float = 0

    public init(sampleRate: Int, margin: Double, spreadFactor: Double) {
        self.margin = margin
        self.spreadFactor = spreadFactor
        // Cookbook high-pass: w0 = 2π f0 / Fs, alpha = sin(w0) / (2Q).
        let w0 = 2 * Double.pi * Self.highPassHz / Double(sampleRate)
        let alpha = sin(w0) / (2 * (1 / 2.0.squareRoot()))
        let a0 = 1 + alpha
        b0 = Float((1 + cos(w0)) / 2 / a0)
        b1 = Float(-(1 + cos(w0)) / a0)
        b2 = b0
        a1 = Float(-2 * cos(w0) / a0)
        a2 = Float((1 - alpha) / a0)
    }

    /// The gate (dB): frames below it are not speech. Nil before the first `adapt(to:)`.
    public var gate: Double? {
        level.map { $0 + max(margin, spreadFactor * spread) }
    }

    /// Energy (dB) of `frame` after the high-pass; advances the filter, so call it for every
    /// frame in order.
    public mutating func energy(of frame: UnsafeBufferPointer<Int16>) -> Double {
        // Transposed direct form II: two state values.
        var sum: Float = 0
        var (s1, s2) = (self.s1, self.s2)
        for sample in frame {
            let x = Float(sample)
            let y = b0 * x + s1
            s1 = b1 * x - a1 * y + s2
            s2 = b2 * x - a2 * y
            sum += y * y
        }
        (self.s1, self.s2) = (s1, s2)
        return 10 * log10(Double(sum) / Double(max(frame.count, 1)) + 1)
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
