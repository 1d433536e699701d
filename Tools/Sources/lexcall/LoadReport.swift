import Foundation
import LexcallCore

/// The summary of a load run, as text and as JSON (for scripts/bench/capacity.sh).
struct LoadReport {
    let text: String
    let json: String

    init(options: LexcallOptions, stats s: RunStats, calls: [Call], windowSeconds: Double, openAtWindowStart: Int,
         server: (ProcessSample, ProcessSample)?, serverIdle: ProcessSample?, client: (ProcessSample, ProcessSample)?,
         metrics: (ServerCounters, ServerCounters)?, metricsWindow: (ServerCounters, ServerCounters)?, lex: LexTimings?) {
        var j: [String: Any] = [:]
        var lines: [String] = []
        let n = calls.count
        let dropped = calls.filter { $0.closedByServer }.count
        let failed = calls.filter { $0.failure != nil }
        j["calls"] = n
        j["connected"] = s.connected
        j["completed"] = s.callsCompleted
        j["closed_by_server"] = dropped
        j["failed"] = failed.count
        j["open_at_window_start"] = openAtWindowStart
        j["window_s"] = windowSeconds
        lines.append("")
        lines.append("calls: \(n) started, \(s.connected) connected, \(s.callsCompleted) completed (hung up by lexcall, close answered), \(dropped) closed by the server, \(failed.count) failed; \(openAtWindowStart) open when the measured window (\(String(format: "%.1f", windowSeconds)) s) began")
        var failures: [String: Int] = [:]
        for c in failed { failures[c.failure!, default: 0] += 1 }
        for (why, count) in failures.sorted(by: { $0.value > $1.value }).prefix(5) { lines.append("  \(count) x \(why)") }
        for (code, count) in s.closedByServer.sorted(by: { $0.key < $1.key }) { lines.append("  \(count) closed by the server with \(code)") }

        lines.append("frames: sent \(s.framesSent) (\(s.windowFramesSent) in the window), received \(s.framesReceived) (\(s.windowFramesReceived) in the window), \(s.wrongSize) of a wrong size; texts \(s.texts) (ok \(s.oks), clear \(s.clears))")
        j["frames_sent"] = s.framesSent
        j["frames_received"] = s.framesReceived
        j["window_frames_sent"] = s.windowFramesSent
        j["window_frames_received"] = s.windowFramesReceived
        j["wrong_size"] = s.wrongSize
        j["clears"] = s.clears
        if let (a, b) = metrics {
            let inLost = Double(s.framesSent) - (b.framesReceived - a.framesReceived)
            let outLost = (b.framesPlayed - a.framesPlayed) - Double(s.framesReceived)
            lines.append("server counters: received \(Int(b.framesReceived - a.framesReceived)) (lexcall sent \(s.framesSent): \(Int(inLost)) lost), played \(Int(b.framesPlayed - a.framesPlayed)) (lexcall received \(s.framesReceived): \(Int(outLost)) lost), late \(Int(b.framesLate - a.framesLate))")
            j["server_frames_received"] = b.framesReceived - a.framesReceived
            j["server_frames_played"] = b.framesPlayed - a.framesPlayed
            j["server_frames_late"] = b.framesLate - a.framesLate
            j["inbound_lost"] = inLost
            j["outbound_lost"] = outLost
        }
        func dist(_ h: DurationHistogram) -> [String: Any] {
            ["n": h.count, "p50_ms": Double(h.percentile(50) ?? 0) / 1e6, "p99_ms": Double(h.percentile(99) ?? 0) / 1e6, "max_ms": Double(h.max) / 1e6]
        }
        lines.append("outbound gap (consecutive reply frames): p50 \(milliseconds(s.gaps.percentile(50))) ms, p99 \(milliseconds(s.gaps.percentile(99))) ms, p99.9 \(milliseconds(s.gaps.percentile(99.9))) ms, max \(milliseconds(s.gaps.max)) ms over \(s.gaps.count) gaps; late frames \(s.lateFrames) (more than 20 ms behind the reply's 20 ms grid)")
        j["gap"] = dist(s.gaps)
        j["gap_p999_ms"] = Double(s.gaps.percentile(99.9) ?? 0) / 1e6
        j["late_frames"] = s.lateFrames
        var replyLine = "replies: \(s.replies) in the window"
        if options.lexStandinPort != nil { replyLine += ", \(s.shortReplies) short of the \(options.replyMs / 20) frames sent (\(s.missingFrames) frames missing)" }
        replyLine += ", \(s.noReply) utterances unanswered within \(options.replyTimeout) s"
        lines.append(replyLine)
        j["replies"] = s.replies
        j["short_replies"] = s.shortReplies
        j["missing_frames"] = s.missingFrames
        j["no_reply"] = s.noReply
        if s.replyLatency.count > 0 {
            lines.append("end of speech to first reply frame: p50 \(milliseconds(s.replyLatency.percentile(50))) ms, p99 \(milliseconds(s.replyLatency.percentile(99))) ms, max \(milliseconds(s.replyLatency.max)) ms (includes silence_time)")
        }
        j["reply_latency"] = dist(s.replyLatency)
        if let lex, lex.conversations > 0 {
            lines.append("Lex streaming (stand-in): \(lex.conversations) conversations, \(lex.turns) turns answered in the window, \(lex.interruptions) interruptions, \(lex.chainedSignatures) chained event signatures verified, \(lex.signatureFailures) streams with a bad signature")
            j["lex_conversations"] = lex.conversations
            j["lex_streaming_turns"] = lex.turns
            j["lex_chained_signatures"] = lex.chainedSignatures
            j["lex_signature_failures"] = lex.signatureFailures
            j["lex_interruptions"] = lex.interruptions
        }
        if let lex, lex.requests + lex.turns > 0 {
            let a = lex.speechToRequest.sorted(), b = lex.answerToFrame.sorted()
            func pct<T: BinaryInteger>(_ v: [T], _ p: Double) -> T? { v.isEmpty ? nil : v[min(v.count - 1, max(0, Int((p / 100 * Double(v.count)).rounded(.up)) - 1))] }
            func ms<T: BinaryInteger>(_ v: T?) -> String { v.map { milliseconds(signed: Int64($0)) } ?? "-" }
            lines.append("Lex (stand-in, \(lex.requests) audio requests, \(lex.turns) streaming turns): end of speech to request, minus silence_time \(lex.silenceTime / 1_000_000) ms: p50 \(ms(pct(a, 50))) ms, p99 \(ms(pct(a, 99))) ms, max \(ms(a.last)) ms")
            lines.append("  stand-in answer to first reply frame at the caller: p50 \(ms(pct(b, 50))) ms, p99 \(ms(pct(b, 99))) ms, max \(ms(b.last)) ms")
            j["lex_requests"] = lex.requests
            j["speech_to_request_ms"] = ["n": a.count, "p50": Double(pct(a, 50) ?? 0) / 1e6, "p99": Double(pct(a, 99) ?? 0) / 1e6, "max": Double(a.last ?? 0) / 1e6]
            j["answer_to_frame_ms"] = ["n": b.count, "p50": Double(pct(b, 50) ?? 0) / 1e6, "p99": Double(pct(b, 99) ?? 0) / 1e6, "max": Double(b.last ?? 0) / 1e6]
        }
        if let (a, b) = metricsWindow {
            // The server's own share, on its clock (histograms from /metrics over the window).
            func ms(_ v: Double?) -> String { v.map { $0.isInfinite ? "inf" : String(format: "%g", $0) } ?? "-" }
            // JSON has no infinity: -1 stands for "above the last bound" or "none".
            func finite(_ v: Double?) -> Double { v.flatMap { $0.isFinite ? $0 : nil } ?? -1 }
            let measured = [("end of utterance to request sent", "server_speech_to_request", "lexconnector_speech_to_request_seconds"),
                            ("reply's first bytes to first frame out", "server_reply_to_first_frame", "lexconnector_reply_to_first_frame_seconds"),
                            ("streaming: Lex's first audio chunk to first frame out", "server_prompt_to_first_frame", "lexconnector_prompt_to_first_frame_seconds")]
            for (label, key, metric) in measured {
                let h = HistogramDelta(a.histograms[metric] ?? [:], b.histograms[metric] ?? [:])
                guard h.count > 0 else { continue }
                lines.append("  server, \(label): \(Int(h.count)) turns, p50 <= \(ms(h.bound(percentile: 50))) ms, p99 <= \(ms(h.bound(percentile: 99))) ms, " +
                             String(format: "%.2f%% within 5 ms", h.share(atMost: 5) ?? 0))
                j[key] = ["n": h.count, "p50_le_ms": finite(h.bound(percentile: 50)), "p99_le_ms": finite(h.bound(percentile: 99)),
                          "max_le_ms": finite(h.bound(percentile: 100)), "share_within_5ms": finite(h.share(atMost: 5))]
            }
        }
        let callSeconds = Double(openAtWindowStart) * windowSeconds
        if callSeconds > 0 {
            let playing = Double(s.playingNanoseconds) / 1e9 / callSeconds
            lines.append(String(format: "calls were hearing a reply %.0f%% of the measured call time", playing * 100))
            j["playing_fraction"] = playing
        }
        if let (a, b) = server, callSeconds > 0 {
            let u = (b.user - a.user) / callSeconds * 1e6, sy = (b.system - a.system) / callSeconds * 1e6
            lines.append(String(format: "server CPU per call-second: user %.1f µs, system %.1f µs, total %.1f µs (%.2f cores)", u, sy, u + sy, (b.user - a.user + b.system - a.system) / windowSeconds))
            j["server_user_us_per_call_s"] = u
            j["server_sys_us_per_call_s"] = sy
            j["server_cores"] = (b.user - a.user + b.system - a.system) / windowSeconds
            j["server_rss_kib_window_start"] = a.rssKiB
            j["server_rss_kib_window_end"] = b.rssKiB
            if let idle = serverIdle, openAtWindowStart > 0 {
                let per = Double(a.rssKiB - idle.rssKiB) / Double(openAtWindowStart)
                lines.append(String(format: "server RSS: %d KiB before the calls, %d KiB at the window's start, %d KiB at its end (%.1f KiB per open call at the start)", idle.rssKiB, a.rssKiB, b.rssKiB, per))
                j["server_rss_kib_before"] = idle.rssKiB
                j["server_rss_kib_per_call"] = per
            }
        }
        if let (a, b) = client, windowSeconds > 0 {
            lines.append(String(format: "lexcall CPU: %.2f cores (user %.2f s, system %.2f s)%@; its sends behind their deadline p50 %@ ms, p99 %@ ms, max %@ ms (%d more than 2 ms); sends that found the socket full: %d",
                                (b.user - a.user + b.system - a.system) / windowSeconds, b.user - a.user, b.system - a.system,
                                options.lexStandinPort != nil ? " with the stand-in" : "", milliseconds(s.sendLateness.percentile(50)),
                                milliseconds(s.sendLateness.percentile(99)), milliseconds(s.sendLateness.max), s.generatorLateSends, s.backloggedSends))
            j["lexcall_cores"] = (b.user - a.user + b.system - a.system) / windowSeconds
        }
        j["generator_late_sends"] = s.generatorLateSends
        j["send_lateness"] = dist(s.sendLateness)
        j["lost_connections"] = s.lostConnections
        j["connect_failures"] = s.connectFailures
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
        lines.append("load average after the run: \(load)")
        j["loadavg_after"] = load
        text = lines.joined(separator: "\n")
        let data = (try? JSONSerialization.data(withJSONObject: j, options: [.sortedKeys, .prettyPrinted])) ?? Data()
        json = String(decoding: data, as: UTF8.self) + "\n"
    }
}
