import Audio
import Testing

/// The due-frame arithmetic of paced playback: frame k is due at start + k × 20 ms.
@Suite struct PacedPlaybackTests {
    static let t0 = Instant(nanoseconds: 5_000_000_000)

    func at(_ ms: Double) -> Instant { Instant(nanoseconds: Self.t0.nanoseconds + UInt64(ms * 1_000_000)) }

    /// Ticks at `times` (ms after t0), sending every due frame: the frames sent at each.
    func run(_ p: inout PacedPlayback, ticks times: [Double]) -> [Int] {
        times.map { t in
            let due = p.due(at: at(t))
            for _ in 0..<due.frames { p.didSend() }
            return due.frames
        }
    }

    @Test func oneFrameAtOnceThenOnePerTick() {
        var p = PacedPlayback.begin(at: at(0), lastTick: nil)
        #expect(p.due(at: at(0)) == .init(frames: 1, late: 0))
        p.didSend()
        #expect(run(&p, ticks: [20, 40, 60, 80]) == [1, 1, 1, 1])
        #expect(p.framesSent == 5)
    }

    @Test func jitteryTicksStillSendOneFrameEach() {
        var p = PacedPlayback(start: at(0))
        p.didSend()
        // Ticks up to 9 ms early or late against the grid: rounding keeps one frame per tick.
        #expect(run(&p, ticks: [29, 31, 69, 71, 100]) == [1, 1, 1, 1, 1])
    }

    @Test func anEarlyTickSendsNothing() {
        var p = PacedPlayback(start: at(0))
        p.didSend()
        #expect(p.due(at: at(5)) == .init(frames: 0, late: 0))
    }

    @Test func twoOrThreeBehindAreSentAndCountedLate() {
        var p = PacedPlayback(start: at(0))
        p.didSend()
        #expect(p.due(at: at(60)) == .init(frames: 3, late: 2))
    }

    @Test func aStallResumesFromNowWithoutABurst() {
        var p = PacedPlayback(start: at(0))
        p.didSend()
        // 200 ms stalled: 10 frames due, 1 sent; the other 9 are late, and the grid moves.
        #expect(p.due(at: at(200)) == .init(frames: 1, late: 9))
        p.didSend()
        #expect(p.start == at(180), "frame 1 is now due at 200 ms")
        #expect(run(&p, ticks: [220, 240]) == [1, 1])
    }

    @Test func beginAlignsWithARecentTick() {
        #expect(PacedPlayback.begin(at: at(13), lastTick: at(0)).start == at(0), "on the tick grid: frame 1 goes with the next tick")
        #expect(PacedPlayback.begin(at: at(25), lastTick: at(0)).start == at(25), "the last tick was over a frame ago")
        #expect(PacedPlayback.begin(at: at(13), lastTick: nil).start == at(13))
    }

    @Test func instantArithmetic() {
        #expect(at(30) - at(10) == .milliseconds(20))
        #expect(at(10) - at(30) == .zero, "earlier minus later is zero")
        #expect(at(10) + .milliseconds(20) == at(30))
        #expect(at(30) - .milliseconds(20) == at(10))
    }
}
