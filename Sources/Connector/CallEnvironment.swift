import Audio
import Dispatch
import Foundation
import Lex
import Logging
import Synchronization

/// What every call on one event loop shares: the Lex client, metrics, the loop's pacer, the
/// debug recorder and the fallback prompt. (A call's configuration comes with its settings.)
final class CallEnvironment: @unchecked Sendable {
    let lexClient: LexClient
    let metrics: ConnectorMetrics
    let pacer: Pacer
    let recorder: DebugRecorder?
    let prompt: FallbackPrompt?
    /// Streaming calls' HTTP/2 client and endpoints (nil: the server takes no streaming calls).
    let streaming: StreamingTransport?

    init(lexClient: LexClient, metrics: ConnectorMetrics, pacer: Pacer, recorder: DebugRecorder?, prompt: FallbackPrompt?,
         streaming: StreamingTransport? = nil) {
        self.streaming = streaming
        self.lexClient = lexClient
        self.metrics = metrics
        self.pacer = pacer
        self.recorder = recorder
        self.prompt = prompt
    }
}

/// The `[call] fallback_prompt` WAV, converted once per call rate.
final class FallbackPrompt: Sendable {
    private let wav: WAV
    private let cache = Mutex<[Int: [UInt8]]>([:])

    init(path: String) throws {
        wav = try WAV(contentsOf: URL(fileURLWithPath: path))
    }

    func pcm(rate: Int) -> [UInt8] {
        if let hit = cache.withLock({ $0[rate] }) { return hit }
        var samples = wav.samples
        if wav.sampleRate != rate, let r = try? Resampler(from: wav.sampleRate, to: rate) {
            samples = r.process(samples) + r.flush()
        }
        let bytes = PCM.littleEndianBytes(samples)
        cache.withLock { $0[rate] = bytes }
        return bytes
    }
}

/// `[debug] record_dir`: every utterance sent to Lex and every reply, as WAV files named
/// after the call. Written off the event loops.
final class DebugRecorder: Sendable {
    let directory: URL
    private let queue = DispatchQueue(label: "lexconnector.recorder", qos: .utility)
    private let counter = Atomic<Int>(0)
    private let logger: Logger

    init(directory: String, logger: Logger) throws {
        self.directory = URL(fileURLWithPath: directory)
        self.logger = logger
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
    }

    func record(samples: [Int16], rate: Int, call: String, kind: String) {
        let n = counter.add(1, ordering: .relaxed).newValue
        let url = directory.appendingPathComponent("\(call)-\(String(format: "%04d", n))-\(kind).wav")
        let logger = self.logger
        queue.async {
            do { try WAV(sampleRate: rate, samples: samples).write(to: url) } catch {
                logger.warning("could not write debug recording \(url.path): \(error)")
            }
        }
    }
}

/// The HTTP/2 client of streaming calls, made on the first streaming call (its thread,
/// `lex-http2`, runs only on servers that take them), and the V2 endpoint.
final class StreamingTransport: Sendable {
    let endpoints: LexEndpoints
    private let configuration: HTTP2ClientConfiguration
    private let made = Mutex<HTTP2Client?>(nil)

    init(endpoints: LexEndpoints, configuration: HTTP2ClientConfiguration) {
        self.endpoints = endpoints
        self.configuration = configuration
    }

    var client: HTTP2Client {
        made.withLock { client in
            if let c = client { return c }
            let c = HTTP2Client(configuration: configuration)
            client = c
            return c
        }
    }

    func shutdown() {
        made.withLock { $0?.shutdown(); $0 = nil }
    }
}
