import Dispatch
import Foundation
import Lex
import LexStandIn

/// Benchmarks for the Lex module: microseconds to sign a request, and
/// requests per second through `LexClient` against the in-process stand-in.
///
///     swift run -c release --scratch-path .build-lex lex-bench [--quick] [--only=signing|throughput]
@main
struct LexBench {
    static func main() throws {
        let quick = CommandLine.arguments.contains("--quick")
        print("lex-bench (\(quick ? "quick" : "full")): \(ProcessInfo.processInfo.activeProcessorCount) cores, "
            + "\(ProcessInfo.processInfo.operatingSystemVersionString)")
        let only = CommandLine.arguments.first { $0.hasPrefix("--only=") }.map { String($0.dropFirst(7)) }
        if only == nil || only == "signing" { try signing(iterations: quick ? 5_000 : 100_000) }
        if only == nil || only == "throughput" { try throughput(requests: quick ? 300 : 3_000) }
    }

    static let credentials = AWSCredentials(accessKeyId: "AKIDBENCH", secretAccessKey: "bench/secret+KEY",
                                            sessionToken: "FQoGZXIvYXdzEXAMPLE-token")

    /// Runs `body` `iterations` times in each of 5 rounds; returns the
    /// median round's microseconds per call.
    static func perCall(_ iterations: Int, _ body: () -> Void) -> Double {
        var rounds: [Double] = []
        for _ in 0..<5 {
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<iterations { body() }
            let elapsed = DispatchTime.now().uptimeNanoseconds - start
            rounds.append(Double(elapsed) / Double(iterations) / 1000)
        }
        return rounds.sorted()[2]
    }

    static func signing(iterations: Int) throws {
        let audio = LexRequest(
            target: .v2(botId: "ABCDEFGHIJ", aliasId: "TSTALIASID", localeId: "en_GB", sessionId: "call:1234.abcd_ef-01"),
            region: "eu-west-2", input: .audio(pcm: [UInt8](repeating: 7, count: 32_000), sampleRate: 16000),
            sessionAttributes: ["caller": "447700900123", "nexmo-call-id": "63f61863-4a51-4f6b-86e1-46edebcf9356"],
            requestAttributes: ["x-amz-lex:channel": "phone"])
        let v1 = LexRequest(target: .v1(bot: "BookTrip", alias: "prod", user: "call:1234.abcd_ef-01"), region: "us-east-1",
                            input: .text("I would like to book a room"), sessionAttributes: ["caller": "447700900123"])
        let unsigned = try audio.httpRequest()
        let path = URLComponents(string: unsigned.url)?.percentEncodedPath ?? "/"
        let sigRequest = SigV4Request(method: "POST", path: path, headers: unsigned.headers)
        let warm = SigningKeyCache()
        let signer = SigV4Signer(credentials: credentials, region: "eu-west-2", keyCache: warm)
        let date = Date()
        var sink = 0

        let signOnly = perCall(iterations) {
            sink &+= signer.signed(sigRequest, payload: .unsigned, date: date).headers.count
        }
        let coldKey = perCall(iterations / 10) {
            let cold = SigV4Signer(credentials: credentials, region: "eu-west-2", keyCache: SigningKeyCache())
            sink &+= cold.signed(sigRequest, payload: .unsigned, date: date).headers.count
        }
        let buildV2 = perCall(iterations / 10) {
            sink &+= (try? audio.signedHTTPRequest(credentials: credentials, date: date, keyCache: warm))?.headers.count ?? 0
        }
        let buildV1 = perCall(iterations / 10) {
            sink &+= (try? v1.signedHTTPRequest(credentials: credentials, date: date, keyCache: warm))?.headers.count ?? 0
        }
        print("signing (median of 5 rounds):")
        print(String(format: "  SigV4 sign, V2 headers, cached key:            %7.2f us", signOnly))
        print(String(format: "  SigV4 sign, V2 headers, key derived each time: %7.2f us", coldKey))
        print(String(format: "  build + sign V2 request (1 s audio, gzip attrs):%7.2f us", buildV2))
        print(String(format: "  build + sign V1 request (text, base64 attrs):  %7.2f us", buildV1))
        if sink == 42 { print("") }  // keeps the work observable
    }

    /// One throughput level: keeps `concurrency` requests in flight until
    /// `total` have completed.
    final class Run: @unchecked Sendable {
        let lock = NSLock()
        let done = DispatchSemaphore(value: 0)
        let client: LexClient
        let queues: [DispatchQueue]
        let total: Int
        var sent = 0
        var completed = 0
        var failed = 0
        var latencies: [UInt64] = []

        init(client: LexClient, queues: [DispatchQueue], total: Int) {
            self.client = client
            self.queues = queues
            self.total = total
            latencies.reserveCapacity(total)
        }

        func start(concurrency: Int) {
            lock.lock()
            let initial = min(concurrency, total)
            sent = initial
            lock.unlock()
            for i in 0..<initial { send(i) }
        }

        func send(_ i: Int) {
            let sentAt = DispatchTime.now().uptimeNanoseconds
            let request = LexRequest(
                target: .v2(botId: "ABCDEFGHIJ", aliasId: "TSTALIASID", localeId: "en_GB", sessionId: "bench-\(i % 512)"),
                region: "eu-west-2", input: .text("hello \(i)"))
            client.send(request, credentials: LexBench.credentials, callbackQueue: queues[i % queues.count],
                        onAudio: { _ in }, logger: client.configuration.logger) { [self] result in
                let now = DispatchTime.now().uptimeNanoseconds
                lock.lock()
                completed += 1
                if case .failure = result { failed += 1 }
                latencies.append(now - sentAt)
                let next: Int? = sent < total ? sent : nil
                if next != nil { sent += 1 }
                let finished = completed == total
                lock.unlock()
                if let next { send(next) }
                if finished { done.signal() }
            }
        }
    }

    static func throughput(requests: Int) throws {
        let standIn = try LexStandIn(credentials: [credentials])
        standIn.setDefaultReply(.init(message: "ok", audio: .tone(milliseconds: 100)))
        var configuration = LexClientConfiguration(endpoints: standIn.endpoints)
        configuration.maxAttempts = 1
        configuration.requestTimeout = .seconds(60)
        let client = LexClient(configuration: configuration)
        let queues = (0..<4).map { DispatchQueue(label: "bench.callback.\($0)") }
        print("throughput: \(requests) V2 text requests per level, reply 100 ms of audio (3200 bytes), stand-in on loopback:")
        for concurrency in [1, 8, 32, 128] {
            let run = Run(client: client, queues: queues, total: requests)
            let start = DispatchTime.now().uptimeNanoseconds
            run.start(concurrency: concurrency)
            run.done.wait()
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let sorted = run.latencies.sorted()
            let p50 = Double(sorted[sorted.count / 2]) / 1e6
            let p99 = Double(sorted[min(sorted.count - 1, sorted.count * 99 / 100)]) / 1e6
            print(String(format: "  concurrency %3d: %7.0f requests/s   p50 %6.2f ms   p99 %6.2f ms   failures %d",
                         concurrency, Double(requests) / seconds, p50, p99, run.failed))
        }
        print("  connections opened by the stand-in's clients: \(standIn.requests.map(\.connection).max() ?? 0)")
        client.shutdown()
        standIn.stop()
    }
}
