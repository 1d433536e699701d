import Foundation
import Lex
import Logging

/// The keys of `lexmo.conf`, section by section (README "Configuration"): what each sets and
/// which values it takes. `LexmoConfiguration.parse` looks keys up here.
extension LexmoConfiguration {
    /// Applies one value; returns what is wrong with it, or nil.
    typealias Setter = @Sendable (inout LexmoConfiguration, String) -> String?

    /// Every section and key of the file, each with the setter that checks and applies its value.
    static let settings: [String: [String: Setter]] = [
        "lexmo": [
            "host": { c, v in v.isEmpty ? "must not be empty" : { c.server.host = v; return nil }() },
            "bind": { c, v in v.isEmpty ? "must not be empty" : { c.server.host = v; return nil }() },
            "port": int(0...65535) { $0.server.port = $1 },
            "event_loops": int(0...256) { $0.server.eventLoops = $1 },
            "reuse_port": bool { $0.server.reusePort = $1 },
            "max_calls": int(1...1_000_000) { $0.server.maxCalls = $1 },
            "max_message_bytes": int(1024...(64 << 20)) { $0.server.maxMessageBytes = $1 },
            "drain_timeout": int(0...86_400) { $0.server.drainTimeout = $1 },
        ],
        "limits": [
            "handshake_timeout": int(1...300) { $0.limits.handshakeTimeout = $1 },
            "calls_per_client": int(0...1_000_000) { $0.limits.callsPerClient = $1 },
            "output_queue_bytes": int(16 * 1024...(256 << 20)) { $0.limits.outputQueueBytes = $1 },
            "trusted_proxies": { c, v in c.limits.trustedProxies = list(v); return nil },
        ],
        "security": [
            "mode": { c, v in
                guard let m = AuthMode(rawValue: v.lowercased()) else { return "use none, token or vonage" }
                c.security.mode = m
                return nil
            },
            "signature_secret": { c, v in
                guard v.count >= 16 else { return "too short (at least 16 characters)" }
                c.security.signatureSecret = Secret(v)
                return nil
            },
            "application_id": { c, v in c.security.applicationIds = list(v); return nil },
            "max_token_age": int(10...86_400) { $0.security.maxTokenAge = $1 },
            "allowed_regions": { c, v in
                let l = list(v)
                if let bad = l.first(where: { !isRegion($0) }) { return "\(bad) is not an AWS region name" }
                c.security.allowedRegions = l
                return nil
            },
            "allowed_bots": { c, v in c.security.allowedBots = list(v); return nil },
        ],
        "credentials": [
            "file": { c, v in
                if v.isEmpty { c.credentials.file = nil; return nil }
                guard FileManager.default.isReadableFile(atPath: v) else { return "file not found or not readable" }
                c.credentials.file = v
                return nil
            },
            "use_environment": bool { $0.credentials.useEnvironment = $1 },
        ],
        "lex": [
            "region": { c, v in isRegion(v) ? { c.lex.region = v; return nil }() : "not an AWS region name such as us-east-1" },
            "endpoint_v1": { c, v in c.lex.endpointV1 = v; return nil },
            "endpoint_v2": { c, v in c.lex.endpointV2 = v; return nil },
            "timeout_ms": int(100...300_000) { $0.lex.timeoutMs = $1 },
            "connect_timeout_ms": int(100...60_000) { $0.lex.connectTimeoutMs = $1 },
            "max_attempts": int(1...10) { $0.lex.maxAttempts = $1 },
            "ca_file": { c, v in
                if v.isEmpty { c.lex.caFile = nil; return nil }
                guard FileManager.default.isReadableFile(atPath: v) else { return "file not found or not readable" }
                c.lex.caFile = v
                return nil
            },
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
            "start_timeout_ms": int(100...60_000) { $0.call.startTimeoutMs = $1 },
            "idle_timeout": int(0...86_400) { $0.call.idleTimeout = $1 },
            "max_duration": int(0...86_400 * 7) { $0.call.maxDuration = $1 },
            "close_on_final": bool { $0.call.closeOnFinal = $1 },
            "fallback_prompt": { c, v in
                if v.isEmpty { c.call.fallbackPrompt = nil; return nil }
                guard FileManager.default.isReadableFile(atPath: v) else { return "file not found or not readable" }
                c.call.fallbackPrompt = v
                return nil
            },
            "dtmf_timeout_ms": int(200...30_000) { $0.call.dtmfTimeoutMs = $1 },
            "max_queued_utterances": int(0...20) { $0.call.maxQueuedUtterances = $1 },
            "no_input_timeout_ms": int(0...600_000) { $0.call.noInputTimeoutMs = $1 },
            "no_input_text": { c, v in
                // Lex's limit for a text input (RecognizeText / PostContent text) is 1024 characters.
                guard (1...1024).contains(v.count) else { return "must be 1 to 1024 characters" }
                c.call.noInputText = v
                return nil
            },
        ],
        "events": [
            "webhook_url": { c, v in
                if v.isEmpty { c.events.webhookURL = nil; return nil }
                guard v.hasPrefix("http://") || v.hasPrefix("https://") else { return "must be an http:// or https:// URL" }
                c.events.webhookURL = v
                return nil
            },
            "secret": { c, v in c.events.secret = v.isEmpty ? nil : Secret(v); return nil },
            "timeout_ms": int(100...60_000) { $0.events.timeoutMs = $1 },
        ],
        "log": [
            "level": { c, v in
                guard let l = Logger.Level(rawValue: v.lowercased()) else { return "use trace, debug, info, notice, warning, error or critical" }
                c.log.level = l
                return nil
            },
            "format": { c, v in
                guard let f = LogFormat(rawValue: v.lowercased()) else { return "use text or json" }
                c.log.format = f
                return nil
            },
        ],
        "debug": [
            "record_dir": { c, v in c.debug.recordDirectory = v.isEmpty ? nil : v; return nil },
        ],
    ]

    private static func int(_ range: ClosedRange<Int>, _ set: @escaping @Sendable (inout LexmoConfiguration, Int) -> Void) -> Setter {
        { c, v in
            guard let n = Int(v) else { return "not a whole number" }
            guard range.contains(n) else { return "must be between \(range.lowerBound) and \(range.upperBound)" }
            set(&c, n)
            return nil
        }
    }

    private static func bool(_ set: @escaping @Sendable (inout LexmoConfiguration, Bool) -> Void) -> Setter {
        { c, v in
            switch v.lowercased() {
            case "true", "yes", "on", "1": set(&c, true)
            case "false", "no", "off", "0": set(&c, false)
            default: return "use true or false"
            }
            return nil
        }
    }
}
