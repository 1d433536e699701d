import Audio
import Connector
import Foundation
import Lex
import LexStandIn
import Logging
import Synchronization
import Testing

/// A connector on 127.0.0.1 port 0 talking to a Lex stand-in, for one test.
final class Harness: @unchecked Sendable {
    static let credentials = AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken: "FQoGZXIvYXdzEXAMPLETOKEN//////////wEaDEXAMPLE")
    let standIn: LexStandIn
    let connector: Connector
    let logs: LogCapture
    var port: Int { connector.server?.port ?? 0 }

    init(configure: (inout LexmoConfiguration) -> Void = { _ in }, standIn tweak: (inout LexStandIn.Configuration) -> Void = { _ in },
         withStandIn: (inout LexmoConfiguration, LexStandIn) -> Void = { _, _ in }) throws {
        var standInConfiguration = LexStandIn.Configuration(credentials: [Self.credentials])
        tweak(&standInConfiguration)
        standIn = try LexStandIn(configuration: standInConfiguration)
        var config = LexmoConfiguration()
        config.server.port = 0
        config.server.eventLoops = 2
        config.lex.endpointV1 = standIn.baseURL
        config.lex.endpointV2 = standIn.baseURL
        config.lex.timeout = .seconds(4)
        config.lex.maxAttempts = 2
        config.call.idleTimeout = .zero
        configure(&config)
        withStandIn(&config, standIn)
        logs = LogCapture()
        let capture = logs
        var logger = Logger(label: "test") { label in CapturingLogHandler(label: label, capture: capture) }
        logger.logLevel = .trace
        connector = try Connector(configuration: config, logger: logger)
        try connector.start()
    }

    func stop() {
        let done = DispatchSemaphore(value: 0)
        connector.stop(drainTimeout: .zero) { done.signal() }
        _ = done.wait(timeout: .now() + 10)
        standIn.stop()
        // Every test on a harness: no log line at any level shows the secret or the token.
        let secrets = [Self.credentials.secretAccessKey.withRevealedValue { $0 }, Self.credentials.sessionToken!.withRevealedValue { $0 }]
        let leaks = logs.all.filter { line in secrets.contains { line.contains($0) } }
        Testing.Issue.recordIf(!leaks.isEmpty, "secret in log lines: \(leaks.prefix(3).map { $0.prefix(200) })")
    }

    func client(_ path: String = Harness.v2Path) throws -> VonageTestClient {
        try VonageTestClient(port: port, path: path)
    }

    static let v2Path = "/bots/ABCDEFGHIJ/botAliases/TSTALIASID/botLocales/en_US/sessions/caller:4477.0_x-1/utterance"
    static let v1Path = "/bot/Order_Flowers/alias/prod/user/caller:4477.0_x-1/content"

    var webhookURL: String { standIn.baseURL + "/events/test" }

    /// Webhook events received by the stand-in, decoded.
    func events() -> [[String: Any]] {
        standIn.requests.filter(\.isWebhook).compactMap { r in
            r.inputText.flatMap { $0.data(using: .utf8) }.flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
        }
    }

    func lexRequests() -> [LexStandIn.RecordedRequest] { standIn.requests.filter { !$0.isWebhook } }
}

/// Every log line, formatted, with metadata.
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ s: String) { lines.withLock { $0.append(s) } }
    var all: [String] { lines.withLock { $0 } }
}

struct CapturingLogHandler: LogHandler {
    let label: String
    let capture: LogCapture
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        var all = metadata
        if let m = event.metadata { all.merge(m) { $1 } }
        capture.append("\(event.level) \(label): \(event.message) \(all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
    }
}

enum Fixture {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("AudioTests/Fixtures")

    /// A fixture's PCM bytes (16-bit LE) at its own rate.
    static func pcm(_ name: String) throws -> (bytes: [UInt8], rate: Int) {
        let wav = try WAV(contentsOf: root.appendingPathComponent(name))
        return (PCM.littleEndianBytes(wav.samples), wav.sampleRate)
    }

    /// Samples [from, to) of a fixture.
    static func slice(_ name: String, from: Int, to: Int) throws -> [UInt8] {
        let wav = try WAV(contentsOf: root.appendingPathComponent(name))
        return PCM.littleEndianBytes(wav.samples[from..<min(to, wav.samples.count)])
    }

    static func resample(_ bytes: [UInt8], from: Int, to: Int) throws -> [UInt8] {
        let r = try Resampler(from: from, to: to)
        return PCM.littleEndianBytes(r.process(PCM.samples(littleEndian: bytes)) + r.flush())
    }
}

extension Testing.Issue {
    static func recordIf(_ condition: Bool, _ message: String) {
        if condition { Issue.record(Comment(rawValue: message)) }
    }
}
