import Audio
import Dispatch
import WebSocketServer

/// Something the loop's pacing tick serves every 20 ms.
protocol PacedSession: AnyObject {
    /// `now` is the tick's reading of the monotonic clock (the same for every session).
    func tick(at now: Instant)
}

/// One 20 ms timer per event loop that serves every call on it (not one timer per call).
/// Confined to its loop's queue.
final class Pacer: @unchecked Sendable {
    let loop: EventLoop
    private var sessions: [ObjectIdentifier: PacedSession] = [:]
    private var timer: DispatchSourceTimer?

    init(loop: EventLoop) { self.loop = loop }

    func add(_ session: PacedSession) {
        loop.assertOnLoop()
        sessions[ObjectIdentifier(session)] = session
        if timer == nil {
            let t = DispatchSource.makeTimerSource(flags: .strict, queue: loop.queue)
            t.schedule(deadline: .now() + .milliseconds(20), repeating: .milliseconds(20), leeway: .milliseconds(1))
            t.setEventHandler { [weak self] in self?.fire() }
            t.resume()
            timer = t
        }
    }

    func remove(_ session: PacedSession) {
        loop.assertOnLoop()
        sessions[ObjectIdentifier(session)] = nil
        if sessions.isEmpty {
            timer?.cancel()
            timer = nil
        }
    }

    var count: Int { sessions.count }

    private func fire() {
        let now = Instant(nanoseconds: DispatchTime.now().uptimeNanoseconds)
        // Iterates a snapshot without copying it into an array: a session that ends during its
        // tick removes itself, and only then is the dictionary's storage copied (copy on write).
        for s in sessions.values { s.tick(at: now) }
    }
}
