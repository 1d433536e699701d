/// A reading of the process's monotonic clock (`DispatchTime.uptimeNanoseconds` on Linux:
/// CLOCK_MONOTONIC, which does not count suspended time and never goes back).
///
/// The one time type of the call path: the pacing tick, the call's state machine and its
/// timeouts take an `Instant` as an argument instead of reading a clock, so tests drive them in
/// virtual time. Differences are `Duration`s; an earlier instant minus a later one is zero
/// (monotonic readings taken on different threads may cross by a few nanoseconds).
public struct Instant: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Nanoseconds since an arbitrary origin (boot, for the monotonic clock).
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    public static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }

    /// `a - b`, or zero when `b` is later than `a`.
    public static func - (a: Instant, b: Instant) -> Duration {
        a.nanoseconds > b.nanoseconds ? .nanoseconds(Int64(a.nanoseconds - b.nanoseconds)) : .zero
    }

    /// `d` later (a negative `d`: earlier, not before the origin).
    public static func + (a: Instant, d: Duration) -> Instant {
        let n = d.wholeNanoseconds
        return Instant(nanoseconds: n >= 0 ? a.nanoseconds &+ UInt64(n) : a.nanoseconds - min(a.nanoseconds, UInt64(-n)))
    }

    public static func - (a: Instant, d: Duration) -> Instant { a + (Duration.zero - d) }

    public var description: String { "\(nanoseconds) ns" }
}

extension Duration {
    /// The duration in whole nanoseconds (sub-nanosecond parts dropped).
    public var wholeNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// Whole milliseconds (rounded down).
    public var milliseconds: Int {
        let (s, a) = components
        return Int(s) * 1000 + Int(a / 1_000_000_000_000_000)
    }

    /// Seconds as a `Double` (for logs and for APIs that take seconds, such as Dispatch's).
    public var seconds: Double {
        let (s, a) = components
        return Double(s) + Double(a) / 1e18
    }
}
