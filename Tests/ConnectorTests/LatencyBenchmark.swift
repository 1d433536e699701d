import Foundation
import LexStandIn
import Testing

/// Not a test: a measurement, run on demand with
/// `LEXCONNECTOR_BENCH=1 swift test -c release --filter LatencyBenchmark`.
/// Prints, for one call, the time from the end of speech (the last speech frame sent) to the
/// first reply frame received, minus `silence_time`: the connector's whole reaction time
/// (end detection, Lex request over loopback to the stand-in, first reply frame out).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["LEXCONNECTOR_BENCH"] != nil))
struct LatencyBenchmark {
    @Test func endOfSpeechToFirstReplyFrame() throws {
        let h = try Harness()
        defer { h.stop() }
        h.standIn.setDefaultReply(.init(message: "ok", audio: .tone(milliseconds: 100)))
        let c = try h.client()
        c.sendStart(rate: 16000, secret: ConversationTests.secret, extra: ["barge_in": false, "silence_time": 400])
        #expect(c.wait { $0.texts.first == "ok" })
        // "yes": ground truth [16000, 22560) in the fixture; send 300 ms before it and stop at its end.
        let yes = try Fixture.slice("speech16-clean.wav", from: 16000 - 4800, to: 22560)
        var samples: [Double] = []
        var toRequest: [Double] = []
        var requestToFrame: [Double] = []
        let rounds = Int(ProcessInfo.processInfo.environment["LEXCONNECTOR_BENCH_ROUNDS"] ?? "") ?? 40
        for _ in 0..<rounds {
            let before = c.snapshot.frames.count
            let requestsBefore = h.standIn.requestCount
            // The stand-in is in this process: a thread blocked on it wakes when the request lands.
            let requestAt = RequestClock()
            let watcher = Thread { [standIn = h.standIn, started = c.started] in
                if standIn.waitForRequests(requestsBefore + 1, timeout: 10) { requestAt.set(Date().timeIntervalSince(started)) }
            }
            watcher.start()
            c.stream(yes, rate: 16000)
            let endOfSpeech = Date().timeIntervalSince(c.started)
            c.streamSilence(milliseconds: 900, rate: 16000)
            guard c.wait(timeout: 5, { $0.frames.count > before }) else { Issue.record("no reply"); return }
            let first = c.snapshot.frames[before].at
            samples.append((first - endOfSpeech) * 1000 - 400)
            if let r = requestAt.get() {
                toRequest.append((r - endOfSpeech) * 1000 - 400)
                requestToFrame.append((first - r) * 1000)
            }
            c.streamSilence(milliseconds: 300, rate: 16000)
        }
        func report(_ name: String, _ values: [Double]) {
            let v = values.sorted()
            guard !v.isEmpty else { return }
            func pct(_ p: Double) -> Double { v[min(v.count - 1, Int(Double(v.count) * p))] }
            print(String(format: "LATENCY %@ (n=%d): p50 %.1f ms, p99 %.1f ms, min %.1f ms, max %.1f ms", name, v.count, pct(0.5), pct(0.99), v[0], v[v.count - 1]))
        }
        report("end of speech -> Lex request, beyond silence_time", toRequest)
        report("Lex request received -> first reply frame at the caller", requestToFrame)
        report("end of speech -> first reply frame, beyond silence_time", samples)
        #expect(samples.count == rounds)
    }
}

final class RequestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Double?
    func set(_ v: Double) { lock.lock(); value = v; lock.unlock() }
    func get() -> Double? { lock.lock(); defer { lock.unlock() }; return value }
}
