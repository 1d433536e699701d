import ArgumentParser
import Dispatch
import Foundation
import Lex
import LexStandIn
#if canImport(Glibc)
import Glibc
#endif

/// `lex-standin --port N`: the in-process Lex stand-in as a process, so scripts
/// (scripts/test/nginx-e2e.sh) can point a real lexconnector at it with
/// `endpoint_v1 = endpoint_v2 = http://127.0.0.1:N`. The same port serves
/// StartConversation over h2c; `--tls-cert`/`--tls-key` add a TLS (h2) port for it.
///
/// Prints `lex-standin listening on PORT` (and `lex-standin streaming TLS on PORT`), then one
/// line per request it answered (method, path, signature check, status) and one per
/// conversation stream when it closes, and exits 0 on SIGTERM or SIGINT.
@main
struct LexStandInCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lex-standin",
        abstract: "An Amazon Lex V1/V2 stand-in on 127.0.0.1 that checks SigV4 signatures (for tests).")

    @Option(help: "TCP port on 127.0.0.1 (0 picks a free one).")
    var port: UInt16 = 0

    @Option(help: "Access key id requests must be signed with.")
    var key = "AKIDEXAMPLE"

    @Option(help: "Secret access key requests must be signed with.")
    var secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

    @Option(help: "Session token requests must carry (none by default).")
    var token: String?

    @Option(help: "PEM certificate for StartConversation over TLS (with --tls-key).")
    var tlsCert: String?

    @Option(help: "PEM private key for StartConversation over TLS.")
    var tlsKey: String?

    @Option(help: "Seconds between HeartbeatEvents on each conversation stream (0: none).")
    var heartbeat: Double = 5

    @Option(help: "Seconds after which the stand-in ends a conversation stream itself (none by default).")
    var maxStreamSeconds: Double?

    func run() throws {
        var settings = LexStandIn.Configuration(credentials: [
            AWSCredentials(accessKeyId: key, secretAccessKey: secret, sessionToken: token),
        ])
        settings.port = port
        settings.streaming.heartbeatIntervalSeconds = heartbeat
        settings.streaming.recordsEvents = false
        settings.streaming.maxStreamLifetimeSeconds = maxStreamSeconds
        if let tlsCert, let tlsKey {
            settings.streaming.tls = .init(certificatePath: tlsCert, privateKeyPath: tlsKey)
        }
        let standIn: LexStandIn
        do {
            standIn = try LexStandIn(configuration: settings)
        } catch {
            FileHandle.standardError.write(Data("lex-standin: cannot listen on 127.0.0.1:\(port): \(error)\n".utf8))
            throw ExitCode(1)
        }
        say("lex-standin listening on \(standIn.port)")
        if let tls = standIn.conversations.tlsPort { say("lex-standin streaming TLS on \(tls)") }

        let reporter = Thread { RequestReporter(standIn: standIn).run() }
        reporter.name = "lex-standin-report"
        reporter.start()
        let streams = Thread { ConversationReporter(conversations: standIn.conversations).run() }
        streams.name = "lex-standin-streams"
        streams.start()

        var signals: [DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            _ = signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .main)
            source.setEventHandler {
                standIn.stop()
                say("lex-standin: stopped (\(standIn.requestCount) requests, \(standIn.conversations.streamCount) conversations)")
                Glibc.exit(0)
            }
            source.resume()
            signals.append(source)
        }
        withExtendedLifetime(signals) { dispatchMain() }
    }
}

/// One line on standard output, written at once (no buffering: a script
/// reads it while the process runs).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Prints each recorded request once, as it is recorded.
struct RequestReporter {
    let standIn: LexStandIn

    func run() {
        var printed = 0
        while true {
            standIn.waitUntil(timeout: 3600) { $0.requestCount > printed }
            let requests = standIn.requests
            for request in requests.dropFirst(printed) {
                say(Self.line(request))
            }
            printed = requests.count
        }
    }

    static func line(_ r: LexStandIn.RecordedRequest) -> String {
        let signature: String
        switch r.signature {
        case .valid: signature = "valid"
        case .missing: signature = "missing"
        case .invalid(let why): signature = "invalid (\(why))"
        }
        var fields = ["request \(r.sequence):", r.method, r.path]
        if let api = r.api { fields.append("api=\(api)") }
        if r.isWebhook { fields.append("webhook") }
        fields.append("content-type=\"\(r.contentType ?? "")\"")
        if let text = r.inputText, !r.isWebhook { fields.append("input=\"\(text)\"") }
        fields.append("body=\(r.bodyLength)")
        fields.append("signature=\(signature)")
        fields.append("status=\(r.replyStatus)")
        return fields.joined(separator: " ")
    }
}

/// Prints each conversation stream once, when it has closed.
struct ConversationReporter {
    let conversations: ConversationStandIn

    func run() {
        var printed = 0
        while true {
            conversations.waitUntil(timeout: 3600) { $0.streams.dropFirst(printed).first?.closed != nil }
            let streams = conversations.streams
            while printed < streams.count, streams[printed].closed != nil {
                say(Self.line(streams[printed]))
                printed += 1
            }
        }
    }

    static func line(_ r: ConversationRecord) -> String { r.summary }
}
