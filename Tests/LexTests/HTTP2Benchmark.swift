#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Lex
import LexStandIn
import Testing

/// Not a test: measurements for BENCHMARKS.md ("HTTP/2 streaming transport"), run on demand with
/// `LEXCONNECTOR_BENCH=1 swift test -c release --filter HTTP2Benchmark`. Client and stand-in
/// share the process; CPU comes from getrusage (process) and /proc/self/task/<tid>/schedstat
/// (the client thread `lex-http2`, the stand-in's `standin-h2` threads), curl's from
/// /proc/<pid>/schedstat.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["LEXCONNECTOR_BENCH"] != nil))
struct HTTP2Benchmark {
    static let seconds = Double(ProcessInfo.processInfo.environment["LEXCONNECTOR_BENCH_SECONDS"] ?? "") ?? 10

    /// A server that takes the request body and answers 200 at once (Lex while the caller speaks).
    final class Sink: @unchecked Sendable {
        private let lock = NSLock()
        private var bytes = 0
        var received: Int { lock.withLock { bytes } }
        let tls: Bool
        init(tls: Bool = false) { self.tls = tls }
        lazy var server: HTTP2StandInServer = try! HTTP2StandInServer(tls: tls ? .init(certificatePath: TestCertificate.shared.certificatePath, privateKeyPath: TestCertificate.shared.keyPath) : nil) { [self] stream in
            stream.respond(status: 200)
            stream.onData = { [self] data in lock.withLock { bytes += data.count } }
            stream.onEnd = { stream.finish() }
        }
    }

    private func openStreams(_ count: Int, client: HTTP2Client, port: UInt16, tls: Bool = false) throws -> ([HTTP2Stream], [StreamRecorder]) {
        let recorders = (0..<count).map { _ in StreamRecorder() }
        let url = tls ? "https://localhost:\(port)/conversation" : "http://127.0.0.1:\(port)/conversation"
        let streams = try recorders.map { try client.open(url: url, headers: [], queue: $0.queue, handlers: $0.handlers) }
        #expect(eventually(seconds: 30) { recorders.allSatisfy { $0.received.status == 200 } })
        return (streams, recorders)
    }

    @Test(arguments: [100, 1]) func idleStreams(streamsPerConnection: Int) throws {
        let sink = Sink()
        defer { sink.server.stop() }
        var configuration = HTTP2ClientConfiguration()
        configuration.maxStreamsPerConnection = streamsPerConnection
        let client = HTTP2Client(configuration: configuration)
        defer { client.shutdown() }
        let rss0 = CPUSample.residentKiB()
        let (streams, _) = try openStreams(200, client: client, port: sink.server.port)
        let rss1 = CPUSample.residentKiB()
        let before = CPUSample.take()
        Thread.sleep(forTimeInterval: Self.seconds)  // the measurement window itself
        let after = CPUSample.take()
        let d = after - before
        print(String(format: "HTTP2BENCH idle: 200 streams, %d per connection (%d connections), %.0f s: process %.1f ms CPU, client thread %.2f ms, stand-in threads %.1f ms; RSS %d -> %d KiB with the streams open (client and stand-in together: %.1f KiB per stream)",
                     streamsPerConnection, client.statistics.connections, Self.seconds, d.process, d.client, d.server,
                     rss0, rss1, Double(rss1 - rss0) / 200))
        streams.forEach { $0.cancel() }
    }

    @Test(arguments: [(100, 0.0, false), (100, 0.002, false), (100, 0.005, false), (1, 0.005, false), (100, 0.005, true)])
    func pacedChunks(streamsPerConnection: Int, coalescing: Double, tls: Bool) throws {
        let sink = Sink(tls: tls)
        defer { sink.server.stop() }
        var configuration = HTTP2ClientConfiguration()
        configuration.caFilePath = TestCertificate.shared.certificatePath
        configuration.maxStreamsPerConnection = streamsPerConnection
        configuration.sendCoalescingInterval = coalescing
        let client = HTTP2Client(configuration: configuration)
        defer { client.shutdown() }
        let (streams, _) = try openStreams(500, client: client, port: sink.server.port, tls: tls)
        let pacer = DispatchQueue(label: "bench-pacer")
        let timer = DispatchSource.makeTimerSource(queue: pacer)
        let counts = Counts()
        let chunk = audioChunk(1)
        // Calls' frames arrive spread over the 20 ms, not in one burst: each millisecond sends
        // on the streams whose index is that millisecond modulo 20 (25 of the 500).
        var tick = 0
        timer.schedule(deadline: .now(), repeating: .milliseconds(1), leeway: .nanoseconds(0))
        timer.setEventHandler {
            for i in stride(from: tick % 20, to: streams.count, by: 20) {
                do { try streams[i].send(chunk); counts.sent += 1 } catch { counts.refused += 1 }
            }
            tick += 1
        }
        let rssBefore = CPUSample.residentKiB()
        let before = CPUSample.take()
        timer.resume()
        Thread.sleep(forTimeInterval: Self.seconds)  // the measurement window itself
        pacer.sync { timer.cancel() }
        let after = CPUSample.take()
        let rssAfter = CPUSample.residentKiB()
        let d = after - before
        let sent = pacer.sync { counts.sent }
        #expect(eventually(seconds: 30) { sink.received == sent * 320 })
        let perChunk = { (ms: Double) in ms * 1000 / Double(max(1, sent)) }
        print(String(format: "HTTP2BENCH paced: 500 streams x 50 chunks/s x 320 B (25 streams each ms), %@, %d per connection (%d connections), coalescing %.0f ms, %.0f s: %d chunks sent, %d refused, %d bytes received by the server; per chunk: process %.2f µs, client thread %.2f µs, stand-in threads %.2f µs; client thread %.1f%% of a core; RSS %d -> %d KiB",
                     tls ? "TLS" : "h2c", streamsPerConnection, client.statistics.connections, coalescing * 1000, Self.seconds, sent, pacer.sync { counts.refused }, sink.received,
                     perChunk(d.process), perChunk(d.client), perChunk(d.server),
                     d.client / (Self.seconds * 10), rssBefore, rssAfter))
        streams.forEach { $0.finish() }
    }

    /// Debian 12's curl (libcurl 7.88.1) uploading stdin over h2c prior knowledge, unknown length:
    /// first idle (stdin open, nothing written), then 320 bytes every 20 ms. Compared with one
    /// stream of this client doing the same.
    @Test func curlUploadOfUnknownLength() throws {
        let sink = Sink()
        defer { sink.server.stop() }
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-sS", "--http2-prior-knowledge", "-T", "-", "-o", "/dev/null", "http://127.0.0.1:\(sink.server.port)/conversation"]
        let input = Pipe()
        curl.standardInput = input
        try curl.run()
        defer {
            try? input.fileHandleForWriting.close()
            curl.waitUntilExit()
        }
        let schedstat = "/proc/\(curl.processIdentifier)/schedstat"
        let idle0 = CPUSample.runMilliseconds(schedstat)
        Thread.sleep(forTimeInterval: Self.seconds)  // the measurement window itself
        let idle1 = CPUSample.runMilliseconds(schedstat)
        let chunk = audioChunk(2)
        let chunks = Int(Self.seconds * 50)
        let start = Date()
        for i in 0..<chunks {
            // Not FileHandle.write: curl exiting early would raise SIGPIPE and end the run unseen.
            guard writeToPipe(input.fileHandleForWriting.fileDescriptor, chunk) else {
                Issue.record("curl stopped reading its input after \(i) chunks")
                break
            }
            let due = start.addingTimeInterval(Double(i + 1) * 0.02)
            Thread.sleep(until: due)  // pacing, as a caller speaks
        }
        let busy1 = CPUSample.runMilliseconds(schedstat)
        print(String(format: "HTTP2BENCH curl %@ upload of unknown length over h2c: idle %.0f s: %.1f ms CPU; %d chunks of 320 B at 50/s: %.1f ms CPU (%.1f µs per chunk); server received %d bytes",
                     curlVersion(), Self.seconds, idle1 - idle0, chunks, busy1 - idle1, (busy1 - idle1) * 1000 / Double(chunks), sink.received))
    }

    /// libcurl 7.88.1 as a daemon would drive it (see `CurlUploadProbe`) and this client, each
    /// with `streams` uploads on its own thread: idle for the window (nothing to send), 50
    /// chunks/s of 320 bytes on every stream for the window, then against a server that stops
    /// returning window (flow-control stall, the trigger of curl #10618 and #7821) for the window.
    @Test(arguments: [1, 100]) func libcurlAgainstThisClient(streams count: Int) throws {
        let sink = Sink()
        defer { sink.server.stop() }
        var stalled = HTTP2StandInServer.Settings()
        stalled.returnsWindow = false
        stalled.initialWindowSize = 65535
        let staller = try HTTP2StandInServer(settings: stalled) { $0.respond(status: 200) }
        defer { staller.stop() }
        let chunks = Int(Self.seconds * 50)
        func paced(_ send: (Int, [UInt8]) -> Void, round: () -> Void) {
            let start = Date()
            for i in 0..<chunks {
                for s in 0..<count { send(s, audioChunk(i)) }
                round()
                Thread.sleep(until: start.addingTimeInterval(Double(i + 1) * 0.02))  // pacing, as callers speak
            }
        }
        func window() { Thread.sleep(forTimeInterval: Self.seconds) }  // the measurement window itself
        let stallBytes = [UInt8](repeating: 7, count: 128 * 1024)

        let probe = CurlUploadProbe(url: "http://127.0.0.1:\(sink.server.port)/conversation", streams: count)
        let started = eventually(seconds: 30) { probe.uploads.allSatisfy { u in u.lock.withLock { u.readCalls > 0 } } }
        if !started { print("HTTP2BENCH libcurl started \(probe.uploads.filter { u in u.lock.withLock { u.readCalls > 0 } }.count) of \(count) uploads; server connections \(sink.server.connectionsAccepted)") }
        #expect(started, "libcurl started \(probe.uploads.filter { u in u.lock.withLock { u.readCalls > 0 } }.count) of \(count) uploads")
        let c0 = CPUSample.thread("curl-upload"), r0 = probe.readCalls
        window()
        let c1 = CPUSample.thread("curl-upload"), r1 = probe.readCalls
        paced({ probe.append($1, to: $0) }, round: { probe.wake() })
        let c2 = CPUSample.thread("curl-upload")
        #expect(eventually(seconds: 30) { sink.received == chunks * count * 320 }, "the server received \(sink.received) bytes from libcurl")
        let curlBytes = sink.received
        let curlConnections = sink.server.connectionsAccepted
        probe.finish()
        let stallProbe = CurlUploadProbe(url: "http://127.0.0.1:\(staller.port)/conversation", streams: 1)
        stallProbe.append(stallBytes, to: 0)
        stallProbe.wake()
        #expect(eventually(seconds: 10) { stallProbe.readCalls > 0 })
        let s0 = CPUSample.thread("curl-upload"), sr0 = stallProbe.readCalls
        window()
        let s1 = CPUSample.thread("curl-upload"), sr1 = stallProbe.readCalls
        stallProbe.abandon()
        print(String(format: "HTTP2BENCH %@, %d stream(s) on %d connection(s): idle %.0f s: %.2f ms CPU, %d read callbacks; %d chunks at 50/s each: %.1f ms CPU (%.2f µs per chunk); stalled by flow control %.0f s: %.1f ms CPU, %d read callbacks",
                     curlVersion(), count, curlConnections, Self.seconds, c1 - c0, r1 - r0, chunks, c2 - c1, (c2 - c1) * 1000 / Double(chunks * count), Self.seconds, s1 - s0, sr1 - sr0))

        let client = HTTP2Client()
        defer { client.shutdown() }
        let (streams, _) = try openStreams(count, client: client, port: sink.server.port)
        let h0 = CPUSample.thread("lex-http2")
        window()
        let h1 = CPUSample.thread("lex-http2")
        paced({ try? streams[$0].send($1) }, round: {})
        let h2 = CPUSample.thread("lex-http2")
        #expect(eventually(seconds: 30) { sink.received == curlBytes + chunks * count * 320 })
        streams.forEach { $0.finish() }
        var small = HTTP2ClientConfiguration()
        small.sendBufferLimit = 256 * 1024
        let stallClient = HTTP2Client(configuration: small)
        defer { stallClient.shutdown() }
        let (stallStreams, _) = try openStreams(1, client: stallClient, port: staller.port)
        try stallStreams[0].send(stallBytes)
        #expect(eventually(seconds: 10) { stallStreams[0].bufferedOutboundBytes == stallBytes.count - 65535 })
        let t0 = CPUSample.thread("lex-http2")
        window()
        let t1 = CPUSample.thread("lex-http2")
        print(String(format: "HTTP2BENCH HTTP2Client, %d stream(s) on %d connection(s): idle %.0f s: %.2f ms CPU; %d chunks at 50/s each: %.1f ms CPU (%.2f µs per chunk); stalled by flow control %.0f s: %.2f ms CPU (lex-http2 threads)",
                     count, client.statistics.connections, Self.seconds, h1 - h0, chunks, h2 - h1, (h2 - h1) * 1000 / Double(chunks * count), Self.seconds, t1 - t0))
        stallStreams[0].cancel()
    }

    private func curlVersion() -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        p.arguments = ["--version"]
        let out = Pipe()
        p.standardOutput = out
        try? p.run()
        p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return text.split(separator: " ").prefix(5).joined(separator: " ")
    }
}

final class Counts: @unchecked Sendable {
    var sent = 0
    var refused = 0
}

/// CPU of this process (getrusage, µs) and of its threads by name (/proc/self/task/<tid>/schedstat, ns).
struct CPUSample {
    var user = 0.0, system = 0.0, client = 0.0, server = 0.0  // milliseconds
    var process: Double { user + system }

    static func take() -> CPUSample {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        var s = CPUSample()
        s.user = Double(usage.ru_utime.tv_sec) * 1000 + Double(usage.ru_utime.tv_usec) / 1000
        s.system = Double(usage.ru_stime.tv_sec) * 1000 + Double(usage.ru_stime.tv_usec) / 1000
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        for tid in tasks {
            guard let stat = try? String(contentsOfFile: "/proc/self/task/\(tid)/stat", encoding: .utf8) else { continue }
            let name = stat.split(separator: "(").dropFirst().first?.split(separator: ")").first.map(String.init) ?? ""
            let ms = runMilliseconds("/proc/self/task/\(tid)/schedstat")
            if name == "lex-http2" { s.client += ms }
            if name == "standin-h2" { s.server += ms }
        }
        return s
    }

    /// CPU milliseconds of this process's threads named `name`.
    static func thread(_ name: String) -> Double {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.reduce(0) { sum, tid in
            guard let stat = try? String(contentsOfFile: "/proc/self/task/\(tid)/stat", encoding: .utf8),
                  stat.contains("(\(name))") else { return sum }
            return sum + runMilliseconds("/proc/self/task/\(tid)/schedstat")
        }
    }

    /// Time on a CPU from a schedstat file (its first field, nanoseconds), in milliseconds.
    static func runMilliseconds(_ path: String) -> Double {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return (Double(text.split(separator: " ").first ?? "") ?? 0) / 1e6
    }

    static func - (a: CPUSample, b: CPUSample) -> CPUSample {
        CPUSample(user: a.user - b.user, system: a.system - b.system, client: a.client - b.client, server: a.server - b.server)
    }

    static func residentKiB() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
}
