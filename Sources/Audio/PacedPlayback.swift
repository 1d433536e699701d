/// When the frames of one stretch of playback are due: frame k (from 0) is due at
/// `start + k × frameDuration`, so pacing never drifts however late or early the ticks come.
///
/// The arithmetic, for a tick at `now`:
/// - `due = round((now − start) / frameDuration) + 1` frames should have gone by now. Rounding
///   to the nearest frame (not down) keeps one frame per tick when ticks jitter around the
///   grid, instead of none at one tick and two at the next;
/// - `behind = due − sent` frames go out now; each beyond the first counts as late;
/// - more than `maximumBurst` behind (a stalled loop) sends one frame, counts the rest late,
///   and moves `start` so that the frames resume from `now` instead of bursting.
///
/// `begin` aligns `start` with the pacing tick's grid when the last tick was under a frame
/// ago: frame 0 goes out at once and frame 1 with the next tick (a first gap under 20 ms
/// instead of up to 40 when playback began just after a tick).
///
/// Pure: no clock, no I/O; the caller sends the frames and tells `didSend()`.
public struct PacedPlayback: Sendable, Equatable {
    /// Due time of frame 0 (moved forward after a stall).
    public private(set) var start: Instant
    /// Frames sent since `begin`.
    public private(set) var framesSent = 0
    /// The frame duration in nanoseconds (kept so, as the tick's arithmetic needs it 50 times a second).
    private let frameNanoseconds: UInt64
    public var frameDuration: Duration { .nanoseconds(Int64(frameNanoseconds)) }
    /// Frames more than this behind are not sent in a burst.
    public static let maximumBurst = 3

    /// Frames to send now, and how many of them (or skipped over, after a stall) are late.
    public struct Due: Sendable, Equatable {
        public var frames: Int
        public var late: Int
        public init(frames: Int, late: Int) {
            self.frames = frames
            self.late = late
        }
    }

    /// Playback that begins at `now`, on the grid of `lastTick` (the pacing tick's last run,
    /// nil before the first) when that was less than one frame ago.
    public static func begin(at now: Instant, lastTick: Instant?, frameDuration: Duration = .milliseconds(20)) -> PacedPlayback {
        if let tick = lastTick, now >= tick, now - tick < frameDuration {
            return PacedPlayback(start: tick, frameDuration: frameDuration)
        }
        return PacedPlayback(start: now, frameDuration: frameDuration)
    }

    public init(start: Instant, frameDuration: Duration = .milliseconds(20)) {
        precondition(frameDuration > .zero, "PacedPlayback frameDuration must be positive")
        self.start = start
        frameNanoseconds = UInt64(frameDuration.wholeNanoseconds)
    }

    /// The frames due at `now` (zero when the tick came early).
    public mutating func due(at now: Instant) -> Due {
        let frame = frameNanoseconds
        let elapsed = now.nanoseconds > start.nanoseconds ? now.nanoseconds - start.nanoseconds : 0
        let due = Int((elapsed + frame / 2) / frame) + 1
        let behind = due - framesSent
        if behind > Self.maximumBurst {
            start = Instant(nanoseconds: now.nanoseconds - min(now.nanoseconds, UInt64(framesSent) * frame))
            return Due(frames: 1, late: behind - 1)
        }
        return Due(frames: max(behind, 0), late: max(behind - 1, 0))
    }

    /// One frame went out.
    public mutating func didSend() { framesSent += 1 }
}
