import Foundation
import Lex
import Logging

/// The keys of `lexmo.conf`, section by section (README "Configuration"): what each sets and
/// which values it takes. `LexmoConfiguration.parse` looks keys up here.
extension LexmoConfiguration {
    /// Checks and applies one value, or throws what is wrong with it.
    typealias Setter = @Sendable (inout LexmoConfiguration, String) throws(ConfigurationValueError) -> Void

    /// Every section and key of the file, each with the setter that checks and applies its value.
    static let settings: [String: [String: Setter]] = [
        "lexmo": [
            "host": { c, v throws(ConfigurationValueError) in
                guard !v.isEmpty else { throw .empty }
                c.server.host = v
            },
            "bind": { c, v throws(ConfigurationValueError) in
                guard !v.isEmpty else { throw .empty }
                c.server.host = v
            },
            "port": int(0...65535) { $0.server.port = $1 },
            "event_loops": int(0...256) { $0.server.eventLoops = $1 },
            "reuse_port": bool { $0.server.reusePort = $1 },
            "max_calls": int(1...1_000_000) { $0.server.maxCalls = $1 },
            "max_message_bytes": int(1024...(64 << 20)) { $0.server.maxMessageBytes = $1 },
            "drain_timeout": seconds(0...86_400) { $0.server.drainTimeout = $1 },
        ],
        "limits": [
            "handshake_timeout": seconds(1...300) { $0.limits.handshakeTimeout = $1 },
            "calls_per_client": int(0...1_000_000) { $0.limits.callsPerClient = $1 },
            "output_queue_bytes": int(16 * 1024...(256 << 20)) { $0.limits.outputQueueBytes = $1 },
            "trusted_proxies": { c, v in c.limits.trustedProxies = list(v) },
        ],
        "security": [
            "mode": { c, v throws(ConfigurationValueError) in
                guard let m = AuthMode(rawValue: v.lowercased()) else { throw .notOneOf(["none", "token", "vonage"]) }
                c.security.mode = m
            },
            "signature_secret": { c, v throws(ConfigurationValueError) in
                guard v.count >= 16 else { throw .tooShort(minimumCharacters: 16) }
                c.security.signatureSecret = Secret(v)
            },
            "application_id": { c, v in c.security.applicationIds = list(v) },
            "max_token_age": seconds(10...86_400) { $0.security.maxTokenAge = $1 },
            "allowed_regions": { c, v throws(ConfigurationValueError) in
                let l = list(v)
                if let bad = l.first(where: { !isRegion($0) }) { throw .notARegionInList(bad) }
                c.security.allowedRegions = l
            },
            "allowed_bots": { c, v in c.security.allowedBots = list(v) },
        ],
        "credentials": [
            "file": { c, v throws(ConfigurationValueError) in c.credentials.file = try readableFile(v) },
            "use_environment": bool { $0.credentials.useEnvironment = $1 },
        ],
        "lex": [
            "region": { c, v throws(ConfigurationValueError) in
                guard isRegion(v) else { throw .notARegion }
                c.lex.region = v
            },
            "endpoint_v1": { c, v in c.lex.endpointV1 = v },
            "endpoint_v2": { c, v in c.lex.endpointV2 = v },
            "timeout_ms": milliseconds(100...300_000) { $0.lex.timeout = $1 },
            "connect_timeout_ms": milliseconds(100...60_000) { $0.lex.connectTimeout = $1 },
            "max_attempts": int(1...10) { $0.lex.maxAttempts = $1 },
            "ca_file": { c, v throws(ConfigurationValueError) in c.lex.caFile = try readableFile(v) },
            "streams_per_connection": int(1...1000) { $0.lex.streamsPerConnection = $1 },
        ],
        "vad": [
            "sensitivity": int(0...3) { $0.vad.sensitivity = $1 },
            "silence_time": int(20...10_000) { $0.vad.silenceTime = $1 },
            "clip_min": int(0...15_000) { $0.vad.clipMin = $1 },
            "clip_max": int(100...15_000) { $0.vad.clipMax = $1 },
            "pre_roll": int(0...1_000) { $0.vad.preRoll = $1 },
            "noise_margin": int(0...30) { $0.vad.noiseMargin = $1 },
        ],
        "call": [
            "barge_in": bool { $0.call.bargeIn = $1 },
            "start_timeout_ms": milliseconds(100...60_000) { $0.call.startTimeout = $1 },
            "idle_timeout": seconds(0...86_400) { $0.call.idleTimeout = $1 },
            "max_duration": seconds(0...86_400 * 7) { $0.call.maxDuration = $1 },
            "close_on_final": bool { $0.call.closeOnFinal = $1 },
            "fallback_prompt": { c, v throws(ConfigurationValueError) in c.call.fallbackPrompt = try readableFile(v) },
            "dtmf_timeout_ms": milliseconds(200...30_000) { $0.call.dtmfTimeout = $1 },
            "max_queued_utterances": int(0...20) { $0.call.maxQueuedUtterances = $1 },
            "no_input_timeout_ms": milliseconds(0...600_000) { $0.call.noInputTimeout = $1 },
            "no_input_text": { c, v throws(ConfigurationValueError) in
                // Lex's limit for a text input (RecognizeText / PostContent text) is 1024 characters.
                guard (1...1024).contains(v.count) else { throw .length(1...1024) }
                c.call.noInputText = v
            },
        ],
        "events": [
            "webhook_url": { c, v throws(ConfigurationValueError) in
                if v.isEmpty { c.events.webhookURL = nil; return }
                guard v.hasPrefix("http://") || v.hasPrefix("https://") else { throw .notAnHTTPURL }
                c.events.webhookURL = v
            },
            "secret": { c, v in c.events.secret = v.isEmpty ? nil : Secret(v) },
            "timeout_ms": milliseconds(100...60_000) { $0.events.timeout = $1 },
        ],
        "log": [
            "level": { c, v throws(ConfigurationValueError) in
                guard let l = Logger.Level(rawValue: v.lowercased()) else { throw .notOneOf(Logger.Level.allCases.map(\.rawValue)) }
                c.log.level = l
            },
            "format": { c, v throws(ConfigurationValueError) in
                guard let f = LogFormat(rawValue: v.lowercased()) else { throw .notOneOf(["text", "json"]) }
                c.log.format = f
            },
        ],
        "debug": [
            "record_dir": { c, v in c.debug.recordDirectory = v.isEmpty ? nil : v },
        ],
    ]

    private static func int(_ range: ClosedRange<Int>, _ set: @escaping @Sendable (inout LexmoConfiguration, Int) -> Void) -> Setter {
        { c, v throws(ConfigurationValueError) in
            guard let n = Int(v) else { throw .notAWholeNumber }
            guard range.contains(n) else { throw .outOfRange(range) }
            set(&c, n)
        }
    }

    /// A key in whole seconds (`idle_timeout`, `drain_timeout`...), kept as a `Duration`.
    private static func seconds(_ range: ClosedRange<Int>, _ set: @escaping @Sendable (inout LexmoConfiguration, Duration) -> Void) -> Setter {
        int(range) { c, n in set(&c, .seconds(n)) }
    }

    /// A key in whole milliseconds (the `*_ms` keys), kept as a `Duration`.
    private static func milliseconds(_ range: ClosedRange<Int>, _ set: @escaping @Sendable (inout LexmoConfiguration, Duration) -> Void) -> Setter {
        int(range) { c, n in set(&c, .milliseconds(n)) }
    }

    private static func bool(_ set: @escaping @Sendable (inout LexmoConfiguration, Bool) -> Void) -> Setter {
        { c, v throws(ConfigurationValueError) in
            switch v.lowercased() {
            case "true", "yes", "on", "1": set(&c, true)
            case "false", "no", "off", "0": set(&c, false)
            default: throw .notOneOf(["true", "false"])
            }
        }
    }

    /// nil for an empty value (the key is unset); else the path, which must be readable.
    private static func readableFile(_ v: String) throws(ConfigurationValueError) -> String? {
        if v.isEmpty { return nil }
        guard FileManager.default.isReadableFile(atPath: v) else { throw .unreadableFile }
        return v
    }
}

/// What is wrong with one value of `lexmo.conf`; `ConfigurationError` adds the file, the line
/// and the key.
enum ConfigurationValueError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case notAWholeNumber
    case outOfRange(ClosedRange<Int>)
    /// Not one of these words (any case).
    case notOneOf([String])
    case tooShort(minimumCharacters: Int)
    case unreadableFile
    case notARegion
    /// This element of a list is not a region name.
    case notARegionInList(String)
    case notAnHTTPURL
    /// Not this many characters.
    case length(ClosedRange<Int>)
    case notAnAccessKeyId
    /// A key `[profile.NAME]` does not have.
    case unknownProfileKey

    var description: String {
        switch self {
        case .empty: return "must not be empty"
        case .notAWholeNumber: return "not a whole number"
        case .outOfRange(let r): return "must be between \(r.lowerBound) and \(r.upperBound)"
        case .notOneOf(let words):
            return "use " + (words.count > 1 ? words.dropLast().joined(separator: ", ") + " or " + words.last! : words.joined())
        case .tooShort(let n): return "too short (at least \(n) characters)"
        case .unreadableFile: return "file not found or not readable"
        case .notARegion: return "not an AWS region name such as us-east-1"
        case .notARegionInList(let bad): return "\(bad) is not an AWS region name"
        case .notAnHTTPURL: return "must be an http:// or https:// URL"
        case .length(let r): return "must be \(r.lowerBound) to \(r.upperBound) characters"
        case .notAnAccessKeyId: return "not an access key id"
        case .unknownProfileKey: return "unknown key; known: tenants, aws_access_key_id, aws_secret_access_key, aws_session_token, region"
        }
    }
}
