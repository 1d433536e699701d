import Audio
import Foundation
import Lex
import LexStandIn
import LexcallCore

/// lexcall: calls a lexconnector as Vonage would. One call (prints the conversation, writes
/// the bot's audio) or N concurrent calls from one thread (progress and a summary).
@main
struct Lexcall {
    static func main() {
        let options: LexcallOptions
        do { options = try LexcallOptions.parse(Array(CommandLine.arguments.dropFirst())) } catch {
            writeError("\(error.message)\n")
            exit(error.message == LexcallOptions.usage ? 0 : 2)
        }
        do { try Session(options: options).run() } catch {
            writeError("lexcall: \(error)\n")
            exit(1)
        }
    }
}

struct LexcallError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Everything one invocation does.
final class Session {
    var options: LexcallOptions
    let url: WebSocketURL
    let address: sockaddr_in
    var standIn: LexStandIn?
    var printedRequests = 0

    init(options: LexcallOptions) throws {
        self.options = options
        guard case .success(let url) = WebSocketURL.parse(options.url) else { throw LexcallError("bad --url \(options.url)") }
        self.url = url
        guard let address = resolveIPv4(url.host, port: url.port) else { throw LexcallError("cannot resolve \(url.host)") }
        self.address = address
    }

    func run() throws {
        raiseFileLimit((options.calls ?? 1) + 256)
        if let port = options.lexStandinPort { try startStandIn(port: port) }
        let audio = try loadAudio()
        let engine = CallEngine(options: options, url: url, address: address, audio: audio)
        if standIn != nil { engine.expectedReplyFrames = options.replyMs / 20 }
        let before = options.serverMetrics ? ServerCounters.fetch(host: address, hostName: url.host, port: url.port) : nil
        if options.serverMetrics && before == nil { writeError("lexcall: could not read http://\(url.host):\(url.port)/metrics\n") }
        var serverIdle: ProcessSample?
        if let pid = options.serverPID { serverIdle = ProcessSample.read(pid: pid) }
        var serverWindow: (ProcessSample, ProcessSample)?
        var selfWindow: (ProcessSample, ProcessSample)?
        var windowTimes: (UInt64, UInt64) = (0, 0)
        var openAtWindowStart = 0
        var serverAtWindowStart: ProcessSample?
        var metricsAtWindowStart: ServerCounters?
        var metricsWindow: (ServerCounters, ServerCounters)?
        var selfAtWindowStart = ProcessSample.selfSample()

        if options.isLoad {
            let start = now()
            var lastSent = 0, lastReceived = 0
            engine.onSecond = { [unowned engine] t in
                guard !self.options.quiet else { return }
                let s = engine.stats
                let open = engine.calls.reduce(0) { $0 + ($1.state == .open ? 1 : 0) }
                let p99 = milliseconds(s.gaps.percentile(99))
                let line = String(format: "[%3.0f s] calls open %d/%d  sent %d/s  received %d/s  replies %d  gap p99 %@ ms  late %d  lost conns %d  wrong size %d",
                                  Double(t - start) / 1e9, open, engine.calls.count, s.framesSent - lastSent, s.framesReceived - lastReceived,
                                  s.replies, p99, s.lateFrames, s.lostConnections + s.connectFailures, s.wrongSize)
                lastSent = s.framesSent
                lastReceived = s.framesReceived
                writeError(line + "\n")
            }
            engine.onWindow = { [unowned engine] starting, t in
                if starting {
                    windowTimes.0 = t
                    openAtWindowStart = engine.calls.reduce(0) { $0 + ($1.state == .open ? 1 : 0) }
                    serverAtWindowStart = self.options.serverPID.flatMap { ProcessSample.read(pid: $0) }
                    if self.options.serverMetrics { metricsAtWindowStart = ServerCounters.fetch(host: self.address, hostName: self.url.host, port: self.url.port) }
                    selfAtWindowStart = ProcessSample.selfSample()
                } else {
                    windowTimes.1 = t
                    if let a = serverAtWindowStart, let pid = self.options.serverPID, let b = ProcessSample.read(pid: pid) { serverWindow = (a, b) }
                    selfWindow = (selfAtWindowStart, ProcessSample.selfSample())
                    if let a = metricsAtWindowStart, let b = ServerCounters.fetch(host: self.address, hostName: self.url.host, port: self.url.port) { metricsWindow = (a, b) }
                }
            }
            print("lexcall: \(options.calls!) calls to ws://\(url.host):\(url.port)\(url.path) at \(options.rate) Hz, ramp \(options.ramp) s, \(options.duration) s after the ramp (first \(options.warmup) s not measured)")
        } else {
            let origin = now()
            engine.narrator = { t, text in
                self.printStandInRequests(origin: origin)
                print(String(format: "%8.3f  ", Double(Int64(t) - Int64(origin)) / 1e9) + text)
            }
        }
        engine.run()
        if !options.isLoad {
            printStandInRequests(origin: 0)
            printStandInConversations()
        }
        usleep(300_000)  // lets the server flush its counters (every 20 ms) before they are read
        let after = options.serverMetrics ? ServerCounters.fetch(host: address, hostName: url.host, port: url.port) : nil

        if options.isLoad {
            let report = LoadReport(options: options, stats: engine.stats, calls: engine.calls, windowSeconds: Double(windowTimes.1 &- windowTimes.0) / 1e9,
                                    openAtWindowStart: openAtWindowStart, server: serverWindow, serverIdle: serverIdle, client: selfWindow,
                                    metrics: before.flatMap { b in after.map { (b, $0) } }, metricsWindow: metricsWindow, lex: standInTimings(engine))
            print(report.text)
            if let path = options.jsonPath { try report.json.write(toFile: path, atomically: true, encoding: .utf8) }
        } else {
            try finishSingleCall(engine)
        }
    }

    // MARK: - Audio

    func loadAudio() throws -> CallAudio {
        guard let path = options.wav else { return CallAudio.silence(rate: options.rate) }
        do {
            let wav = try WAV(contentsOf: URL(fileURLWithPath: path))
            let audio = try CallAudio(wav: wav, trim: options.trim, rate: options.rate)
            if !options.quiet {
                print("lexcall: \(path): \(wav.sampleRate) Hz, \(String(format: "%.2f", Double(wav.samples.count) / Double(wav.sampleRate))) s"
                    + (wav.sampleRate != options.rate ? ", resampled to \(options.rate) Hz" : "")
                    + "; \(audio.frames.count) frames of 20 ms, speech ends in frame \(audio.lastSpeechFrame.map(String.init) ?? "none")")
            }
            return audio
        } catch let e as WAV.Error {
            throw LexcallError(e.description)
        }
    }

    // MARK: - The embedded stand-in

    func startStandIn(port: UInt16) throws {
        func param(_ k: String, _ fallback: String?) -> String? {
            if let v = options.param(k) { return v }
            if let fallback { options.params.append((k, fallback)) }
            return fallback
        }
        let key = param("aws_key", "AKIDLEXCALLSTANDIN")!
        let secret = param("aws_secret", "lexcall-stand-in-secret")!
        let token = param("aws_session_token", nil)
        var config = LexStandIn.Configuration(credentials: [AWSCredentials(accessKeyId: key, secretAccessKey: secret, sessionToken: token)])
        config.port = port
        config.defaultReply = LexStandIn.Reply(transcript: nil, intentName: "LexcallDemo", message: "Hello from the Lex stand-in",
                                               audio: .bytes(LexStandIn.tone(milliseconds: options.replyMs)))
        config.streaming.defaultReply = ConversationReply(intentName: "LexcallDemo", message: "Hello from the Lex stand-in",
                                                          audio: .tone(milliseconds: options.replyMs))
        config.streaming.recordsEvents = !options.isLoad
        let lex = try LexStandIn(configuration: config)
        standIn = lex
        print("lexcall: Lex stand-in on \(lex.baseURL) (set [lex] endpoint_v1 and endpoint_v2 to it); it accepts aws_key=\(key)"
            + (options.param("aws_secret") == "lexcall-stand-in-secret" ? " aws_secret=lexcall-stand-in-secret" : "")
            + " and answers every request, and every streaming turn, with \(options.replyMs) ms of tone")
    }

    /// Single call: prints each conversation stream the stand-in served (at the end).
    func printStandInConversations() {
        guard let lex = standIn, !options.isLoad else { return }
        _ = lex.conversations.waitUntil(timeout: 2) { $0.streams.allSatisfy { $0.closed != nil } }
        for r in lex.conversations.streams {
            print("          lex: StartConversation " + r.summary)
            for (turn, transcript) in r.turns.enumerated() {
                print("          lex:   turn \(turn + 1): \"\(transcript)\" answered with \(options.replyMs) ms of audio")
            }
        }
    }

    /// Single call: prints each request the stand-in received since the last call.
    func printStandInRequests(origin: UInt64) {
        guard let lex = standIn, !options.isLoad, lex.requestCount > printedRequests else { return }
        let all = lex.requests
        for r in all[printedRequests...] {
            printedRequests += 1
            if r.isWebhook { continue }
            let at = r.receivedAt > 0 && origin > 0 ? String(format: "%8.3f  ", Double(Int64(r.receivedAt) - Int64(origin)) / 1e9) : "          "
            let input = r.inputText.map { "text \"\($0)\"" } ?? String(format: "%.2f s of audio (%@)", Double(r.bodyLength) / (r.contentType?.contains("8000") == true ? 16000 : 32000), r.contentType ?? "?")
            print(at + "lex: \(r.api.map { $0 == .v2 ? "V2 RecognizeUtterance" : "V1 PostContent" } ?? r.path) \(input), signature \(r.signature == .valid ? "valid" : "\(r.signature)"), answers \(r.replyStatus)"
                + (r.replyStatus == 200 ? " \"Hello from the Lex stand-in\" (\(options.replyMs) ms of audio)" : ""))
        }
    }

    /// Load mode: the two latencies the stand-in lets us see, per call.
    func standInTimings(_ engine: CallEngine) -> LexTimings? {
        guard let lex = standIn else { return nil }
        var t = LexTimings()
        let silence = UInt64(Int(options.param("silence_time") ?? "") ?? 400) * 1_000_000
        t.silenceTime = silence
        var byCall: [String: [LexStandIn.RecordedRequest]] = [:]
        for r in lex.requests where !r.isWebhook && r.inputText == nil && r.receivedAt > 0 {
            byCall[sessionID(r.path), default: []].append(r)
        }
        for c in engine.calls {
            for r in byCall[sessionID(c.path)] ?? [] where engine.inWindow(r.receivedAt) {
                t.requests += 1
                // The latest end of speech before the request, and the first reply frame after the answer.
                if let end = c.speechEnds.last(where: { $0 <= r.receivedAt }) {
                    t.speechToRequest.append(Int64(r.receivedAt) - Int64(end) - Int64(silence))
                }
                if let first = c.replyStarts.first(where: { $0 >= r.respondedAt }) {
                    t.answerToFrame.append(first - r.respondedAt)
                }
            }
        }
        var conversations: [String: [ConversationRecord]] = [:]
        for r in lex.conversations.streams { conversations[r.sessionId, default: []].append(r) }
        for c in engine.calls {
            for r in conversations[sessionID(c.path)] ?? [] {
                t.conversations += 1
                t.chainedSignatures += r.verifiedSignatures
                if r.signatureFailure != nil || r.signature != .valid { t.signatureFailures += 1 }
                t.interruptions += r.interruptions.count
                for at in r.answeredAt where engine.inWindow(at) {
                    t.turns += 1
                    if let first = c.replyStarts.first(where: { $0 >= at }) { t.answerToFrame.append(first - at) }
                }
            }
        }
        return t
    }

    func sessionID(_ path: String) -> String {
        let parts = path.split(separator: "/")
        if let i = parts.firstIndex(of: "sessions"), i + 1 < parts.count { return String(parts[i + 1]) }
        if let i = parts.firstIndex(of: "user"), i + 1 < parts.count { return String(parts[i + 1]) }
        return path
    }

    // MARK: - Single call summary

    func finishSingleCall(_ engine: CallEngine) throws {
        let c = engine.calls[0]
        let s = engine.stats
        print("")
        if let f = c.failure { print("call failed: \(f)") }
        print("frames sent \(s.framesSent), received \(s.framesReceived) (\(s.wrongSize) of a wrong size); replies \(c.replyStarts.count); texts \(s.texts) (ok \(s.oks), clear \(s.clears))")
        if s.gaps.count > 0 {
            print("reply frame gaps: p50 \(milliseconds(s.gaps.percentile(50))) ms, p99 \(milliseconds(s.gaps.percentile(99))) ms, max \(milliseconds(s.gaps.max)) ms; late frames \(s.lateFrames)")
        }
        if s.replyLatency.count > 0 {
            print("end of speech to first reply frame: \(milliseconds(s.replyLatency.percentile(50))) ms (p50 of \(s.replyLatency.count))")
        }
        if let code = c.closeCode { print("closed by the server: \(code) \(c.closeReason)") }
        if let out = options.out {
            let wav = WAV(sampleRate: options.rate, samples: PCM.samples(littleEndian: c.replyAudio))
            try wav.write(to: URL(fileURLWithPath: out))
            print("wrote \(out): what the bot said, \(String(format: "%.2f", Double(wav.samples.count) / Double(options.rate))) s at \(options.rate) Hz")
        }
        if c.failure != nil { exit(1) }
    }

    func raiseFileLimit(_ wanted: Int) {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < rlim_t(wanted) {
            limit.rlim_cur = min(limit.rlim_max, rlim_t(wanted))
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        if limit.rlim_cur < rlim_t(wanted) { writeError("lexcall: open file limit \(limit.rlim_cur) is below \(wanted): raise it (ulimit -n)\n") }
    }
}

struct LexTimings {
    var silenceTime: UInt64 = 0
    var requests = 0
    /// End of speech to the Lex request (complete), minus silence_time; can be negative.
    var speechToRequest: [Int64] = []
    /// Stand-in starts its answer (a turn-based reply or a streaming turn's first event) to the
    /// first reply frame at the caller.
    var answerToFrame: [UInt64] = []
    /// Streaming: conversation streams, turns answered in the window, chained signatures
    /// verified, streams with a bad opening or chained signature, interruptions sent.
    var conversations = 0
    var turns = 0
    var chainedSignatures = 0
    var signatureFailures = 0
    var interruptions = 0
}
