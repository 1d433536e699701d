/// Durations in a fixed-size histogram: 0.1 ms bins up to 10 s, the exact maximum kept.
/// Memory stays constant however many samples a long load run records.
public struct DurationHistogram: Sendable, Equatable {
    public static let binNanoseconds: UInt64 = 100_000
    public static let bins = 100_000
    private var counts: [UInt32]
    public private(set) var count = 0
    public private(set) var max: UInt64 = 0
    public private(set) var total: UInt64 = 0

    public init() { counts = [UInt32](repeating: 0, count: Self.bins + 1) }

    public mutating func record(_ nanoseconds: UInt64) {
        let bin = Swift.min(Int(nanoseconds / Self.binNanoseconds), Self.bins)
        counts[bin] &+= 1
        count += 1
        total &+= nanoseconds
        if nanoseconds > max { max = nanoseconds }
    }

    public mutating func merge(_ other: DurationHistogram) {
        guard other.count > 0 else { return }
        for i in 0..<counts.count where other.counts[i] != 0 { counts[i] &+= other.counts[i] }
        count += other.count
        total &+= other.total
        if other.max > max { max = other.max }
    }

    /// The `p`th percentile (0-100) in nanoseconds: the upper edge of the bin holding it
    /// (at most 0.1 ms above the true value), never above the maximum. nil when empty.
    public func percentile(_ p: Double) -> UInt64? {
        guard count > 0 else { return nil }
        let rank = Swift.max(1, Int((p / 100 * Double(count)).rounded(.up)))
        var seen = 0
        for (i, c) in counts.enumerated() where c != 0 {
            seen += Int(c)
            if seen >= rank {
                return i == Self.bins ? max : Swift.min(max, UInt64(i + 1) * Self.binNanoseconds)
            }
        }
        return max
    }

    public var mean: Double? { count == 0 ? nil : Double(total) / Double(count) }
}

/// Follows the reply frames of one call as they arrive: a reply is a run of binary frames with
/// no pause of `quiet` or more. Within a reply it measures the gap between consecutive frames
/// and counts late frames: frame j of a reply is due `j` × 20 ms after the reply's first frame,
/// and is late when it arrives more than `lateAfter` after that. A late frame re-anchors the
/// schedule (as the connector's pacer does after a stall), so one stall counts once.
public struct ReplyTracker: Sendable {
    public static let frameNanoseconds: UInt64 = 20_000_000
    public let quiet: UInt64
    public let lateAfter: UInt64
    public private(set) var inReply = false
    public private(set) var replyStart: UInt64 = 0
    public private(set) var lastFrame: UInt64 = 0
    public private(set) var framesInReply = 0
    private var anchor: UInt64 = 0

    public init(quiet: UInt64, lateAfter: UInt64 = 20_000_000) {
        self.quiet = quiet
        self.lateAfter = lateAfter
    }

    public enum Arrival: Equatable, Sendable {
        /// The first frame of a reply.
        case started
        /// A later frame: the gap since the previous one and whether it was late.
        case continued(gap: UInt64, late: Bool)
    }

    public struct EndedReply: Equatable, Sendable {
        public var start: UInt64
        public var lastFrame: UInt64
        public var frames: Int

        public init(start: UInt64, lastFrame: UInt64, frames: Int) {
            self.start = start
            self.lastFrame = lastFrame
            self.frames = frames
        }
    }

    /// A reply frame arrived at `t`. Call `end(now:)` first so a pause of `quiet` ends the
    /// previous reply; `frame` does it too, returning the ended reply through `ended`.
    public mutating func frame(at t: UInt64, ended: inout EndedReply?) -> Arrival {
        ended = end(now: t)
        guard inReply else {
            inReply = true
            replyStart = t
            anchor = t
            lastFrame = t
            framesInReply = 1
            return .started
        }
        let gap = t &- lastFrame
        let due = anchor + UInt64(framesInReply) * Self.frameNanoseconds
        let late = t > due + lateAfter
        if late { anchor = t - UInt64(framesInReply) * Self.frameNanoseconds }
        lastFrame = t
        framesInReply += 1
        return .continued(gap: gap, late: late)
    }

    /// Ends the current reply if no frame came for `quiet`.
    public mutating func end(now: UInt64) -> EndedReply? {
        guard inReply, now >= lastFrame, now - lastFrame >= quiet else { return nil }
        return forceEnd()
    }

    /// Ends the current reply now (the call is over).
    public mutating func forceEnd() -> EndedReply? {
        guard inReply else { return nil }
        inReply = false
        return EndedReply(start: replyStart, lastFrame: lastFrame, frames: framesInReply)
    }
}

/// Formats nanoseconds as milliseconds with one decimal.
public func milliseconds(_ ns: UInt64?) -> String {
    guard let ns else { return "-" }
    return milliseconds(signed: Int64(clamping: ns))
}

public func milliseconds(signed ns: Int64) -> String {
    let tenths = (ns >= 0 ? ns + 50_000 : ns - 50_000) / 100_000
    let sign = tenths < 0 ? "-" : ""
    let a = tenths < 0 ? -tenths : tenths
    return "\(sign)\(a / 10).\(a % 10)"
}
