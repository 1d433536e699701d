import Foundation

/// A well-behaved call that runs while hostile peers attack the same server, to prove they
/// never disturb it. One thread streams 20 ms frames of silence in real time on absolute
/// deadlines (as Vonage does); another keeps the bot talking with DTMF turns: each turn sends
/// `1#`, the stand-in answers with `replyFrames` frames of tone, and the next turn starts once
/// every frame of the reply has arrived. At the end every reply frame the canary was due must
/// have come, 640 bytes each, at a sane pace, and the socket must never have closed.
final class CanaryCall: @unchecked Sendable {
    static let rate = 16000
    static let frameBytes = rate / 50 * 2
    let client: VonageTestClient
    let replyFrames: Int

    private let lock = NSCondition()
    private var stopping = false
    private var streamerDone = false
    private var turnsDone = false
    // Guarded by `lock`:
    private var framesSent = 0
    private var worstSendLateness = 0.0
    private var turns = 0
    private var turnFailures: [String] = []

    /// Connects, sends the start message and waits for `ok`.
    init(harness: Harness, replyFrames: Int) throws {
        self.replyFrames = replyFrames
        client = try harness.client()
        guard client.httpStatus == 101 else { throw TestFailure("canary upgrade answered \(client.httpStatus)") }
        client.sendStart(rate: Self.rate, secret: ConversationTests.secret, extra: ["barge_in": false])
        guard client.wait(timeout: 5, { $0.texts.first == "ok" }) else { throw TestFailure("canary start not answered") }
    }

    func start() {
        Thread { [self] in stream() }.start()
        Thread { [self] in talk() }.start()
    }

    /// Silence frames on the 20 ms grid until `stop()`.
    private func stream() {
        let silence = [UInt8](repeating: 0, count: Self.frameBytes)
        let start = Date()
        var n = 0
        while !isStopping {
            let lateness = -start.addingTimeInterval(Double(n) * 0.02).timeIntervalSinceNow
            client.sendBinary(silence)
            n += 1
            lock.lock()
            framesSent = n
            worstSendLateness = max(worstSendLateness, lateness)
            lock.unlock()
            let wait = start.addingTimeInterval(Double(n) * 0.02).timeIntervalSinceNow
            if wait > 0 { Thread.sleep(forTimeInterval: wait) }
        }
        lock.lock()
        streamerDone = true
        lock.broadcast()
        lock.unlock()
    }

    /// DTMF turns, each waiting for its whole reply, until `stop()`.
    private func talk() {
        var turn = 0
        while !isStopping {
            turn += 1
            client.sendDTMF("1")
            client.sendDTMF("#")
            let due = turn * replyFrames
            let complete = client.wait(timeout: 10) { $0.frames.count >= due || $0.closeCode != nil || $0.eof }
            lock.lock()
            turns = turn
            if !complete || client.snapshot.frames.count < due {
                turnFailures.append("turn \(turn): \(client.snapshot.frames.count) of \(due) frames")
            }
            lock.unlock()
            if !complete { break }
        }
        lock.lock()
        turnsDone = true
        lock.broadcast()
        lock.unlock()
    }

    private var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    /// Stops streaming and talking (the turn in progress completes). False when a thread did
    /// not finish within `timeout` seconds.
    func stop(timeout: Double = 15) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        stopping = true
        let deadline = Date(timeIntervalSinceNow: timeout)
        while !(streamerDone && turnsDone) {
            if !lock.wait(until: deadline) { return streamerDone && turnsDone }
        }
        return true
    }

    struct Report: CustomStringConvertible {
        var framesSent: Int
        var worstSendLateness: Double
        var turns: Int
        var turnFailures: [String]
        var framesReceived: Int
        var wrongSizes: Int
        /// Largest gap between two frames of the same reply, and the quickest and slowest reply
        /// (first to last frame), in seconds.
        var worstGap: Double
        var fastestReply: Double
        var slowestReply: Double
        var closeCode: UInt16?
        var eof: Bool

        var description: String {
            "canary: sent \(framesSent) frames (worst send lateness \(Int(worstSendLateness * 1000)) ms); \(turns) turns, "
                + "\(framesReceived) reply frames (\(wrongSizes) of a wrong size), worst gap in a reply \(Int(worstGap * 1000)) ms, "
                + "replies took \(Int(fastestReply * 1000))-\(Int(slowestReply * 1000)) ms; close \(closeCode.map(String.init) ?? "none"), eof \(eof)"
        }
    }

    var report: Report {
        let s = client.snapshot
        lock.lock()
        defer { lock.unlock() }
        var worstGap = 0.0, fastest = Double.infinity, slowest = 0.0
        for t in 0..<turns {
            let range = (t * replyFrames)..<min((t + 1) * replyFrames, s.frames.count)
            guard range.count == replyFrames else { continue }
            for i in range.dropFirst() { worstGap = max(worstGap, s.frames[i].at - s.frames[i - 1].at) }
            let span = s.frames[range.upperBound - 1].at - s.frames[range.lowerBound].at
            fastest = min(fastest, span)
            slowest = max(slowest, span)
        }
        return Report(framesSent: framesSent, worstSendLateness: worstSendLateness, turns: turns, turnFailures: turnFailures,
                      framesReceived: s.frames.count, wrongSizes: s.frames.filter { $0.bytes != Self.frameBytes }.count,
                      worstGap: worstGap, fastestReply: fastest.isFinite ? fastest : 0, slowestReply: slowest,
                      closeCode: s.closeCode, eof: s.eof)
    }
}
