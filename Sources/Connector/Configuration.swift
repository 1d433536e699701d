import Foundation
import Lex
import Logging

/// An invalid configuration file: which file, which line, what is wrong.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    public var line: Int
    public var reason: String
    public var description: String { line > 0 ? "\(file):\(line): \(reason)" : "\(file): \(reason)" }
}

/// Everything `lexmo.conf` can say. Every key, its default and its meaning are documented in
/// `lexmo.conf.template`; the defaults here are the same. Times are `Duration`s, whatever unit
/// the file's key takes (`idle_timeout` seconds, `timeout_ms` milliseconds); the `[vad]`
/// times are whole milliseconds, the unit of the segmenter and of Vonage's start parameters.
public struct LexmoConfiguration: Sendable {
    public struct Server: Sendable {
        public var host = "127.0.0.1"
        public var port = 8000
        /// 0: one per core.
        public var eventLoops = 0
        public var reusePort = false
        public var maxCalls = 2000
        public var maxMessageBytes = 64 * 1024
        /// How long calls may go on after SIGTERM/SIGINT before they are closed with 1001 (`drain_timeout`, s).
        public var drainTimeout: Duration = .seconds(30)
    }

    public struct LexSettings: Sendable {
        public var region = "us-east-1"
        public var endpointV1 = "https://runtime.lex.{region}.amazonaws.com"
        public var endpointV2 = "https://runtime-v2-lex.{region}.amazonaws.com"
        /// A whole Lex request, retries included (`timeout_ms`).
        public var timeout: Duration = .milliseconds(15_000)
        /// Opening a connection, per attempt (`connect_timeout_ms`).
        public var connectTimeout: Duration = .milliseconds(3_000)
        public var maxAttempts = 3
        public var caFile: String?
        /// StartConversation streams that share one HTTP/2 connection (`streams_per_connection`),
        /// further bounded by Lex's SETTINGS_MAX_CONCURRENT_STREAMS. Whether Lex takes several
        /// on one connection is not documented (Amazon Transcribe takes one): 1 gives each
        /// streaming call a connection of its own.
        public var streamsPerConnection = 100
    }

    public struct VADDefaults: Sendable {
        public var sensitivity = 2
        // Whole milliseconds, named after the start message's parameters and the segmenter's.
        public var silenceTime = 400
        public var clipMin = 200
        public var clipMax = 10_000
        public var preRoll = 300
        /// Noise gate margin (dB) over the call's noise floor; 0: the VAD alone decides.
        public var noiseMargin = 3
    }

    public struct Call: Sendable {
        public var bargeIn = true
        /// How long audio may arrive before a valid start message (`start_timeout_ms`).
        public var startTimeout: Duration = .milliseconds(1_000)
        /// Without an inbound frame this long the call is closed (`idle_timeout`, s; zero: never).
        public var idleTimeout: Duration = .seconds(30)
        /// Longest call (`max_duration`, s; zero: no limit).
        public var maxDuration: Duration = .seconds(4 * 3600)
        /// Close with 1000 after the reply that ends the conversation (V1 Fulfilled/Failed, V2 Close).
        public var closeOnFinal = false
        /// A WAV file played when Lex fails.
        public var fallbackPrompt: String?
        /// A pause that ends DTMF input (`dtmf_timeout_ms`).
        public var dtmfTimeout: Duration = .milliseconds(2_000)
        /// Utterances kept while Lex is busy; older ones beyond this are dropped (logged, counted).
        public var maxQueuedUtterances = 3
        /// `no_input_timeout_ms`: silence after a prompt has played before `noInputText` goes to
        /// Lex (zero: never, unless Lex's `x-amz-lex:audio:start-timeout-ms` sets a time for the turn).
        public var noInputTimeout: Duration = .zero
        /// The text input Lex receives when the caller says nothing, so the bot can re-prompt.
        public var noInputText = "no input"
    }

    public struct Events: Sendable {
        public var webhookURL: String?
        public var secret: Secret?
        /// `timeout_ms`.
        public var timeout: Duration = .milliseconds(5_000)
    }

    public enum LogFormat: String, Sendable { case text, json }

    public struct LogSettings: Sendable {
        public var level: Logger.Level = .info
        public var format: LogFormat = .text
    }

    public struct Debug: Sendable {
        public var recordDirectory: String?
    }

    /// `[limits]`: what one peer or call may use. Each limit hit is logged and counted.
    public struct Limits: Sendable {
        /// How long a client has to send its request head (`handshake_timeout`, s).
        public var handshakeTimeout: Duration = .seconds(10)
        /// Most concurrent calls from one client address (0 = no limit). Behind a trusted proxy
        /// the address is the proxy's `X-Real-IP`. Vonage connects many calls from few
        /// addresses, so keep this off unless you know your callers' addresses.
        public var callsPerClient = 0
        /// Bytes queued for one connection before it is cut off (a peer that stops reading).
        public var outputQueueBytes = 1 << 20
        /// Peers whose `X-Real-IP` header is believed.
        public var trustedProxies: [String] = ["127.0.0.1", "::1"]
    }

    public enum AuthMode: String, Sendable { case none, token, vonage }

    /// `[security]`: who may connect, and what they may use.
    public struct Security: Sendable {
        /// nil: not set in the file (allowed only for loopback binds, where it means `none`).
        public var mode: AuthMode?
        /// `token.<tenant> = <token>`: the bearer tokens of `mode = token`, by tenant name.
        public var tokens: [String: Secret] = [:]
        /// The Vonage account's signature secret (HS256), for `mode = vonage`.
        public var signatureSecret: Secret?
        /// When set, the JWT's `application_id` must be one of these.
        public var applicationIds: [String] = []
        /// How long a JWT stays acceptable after its `iat` (`max_token_age`, s).
        public var maxTokenAge: Duration = .seconds(300)
        /// Empty: any region / bot.
        public var allowedRegions: [String] = []
        public var allowedBots: [String] = []

        public var effectiveMode: AuthMode { mode ?? .none }

        public init() {}
    }

    /// `[profile.NAME]`: server-side AWS credentials a call selects with `aws_profile`.
    public struct Profile: Sendable {
        public var name: String
        /// Tenants (token names, or Vonage application ids) allowed to use it.
        public var tenants: [String] = []
        public var accessKeyId: String?
        public var secretAccessKey: Secret?
        public var sessionToken: Secret?
        /// Region used when the call gives none.
        public var region: String?

        public init(name: String) { self.name = name }
    }

    /// `[credentials]`: where profiles without inline keys find theirs, and the environment default.
    public struct CredentialSources: Sendable {
        /// An AWS shared-credentials file (`[name]` sections with `aws_access_key_id`, ...).
        public var file: String?
        /// Use `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` for authenticated
        /// calls that bring no credentials.
        public var useEnvironment = false
    }

    public var server = Server()
    public var lex = LexSettings()
    public var vad = VADDefaults()
    public var call = Call()
    public var events = Events()
    public var log = LogSettings()
    public var debug = Debug()
    public var limits = Limits()
    public var security = Security()
    public var profiles: [String: Profile] = [:]
    public var credentials = CredentialSources()

    public init() {}

    /// Reads and parses a file.
    public static func load(path: String) throws(ConfigurationError) -> LexmoConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(file: path, line: 0, reason: "cannot read the file (missing or not readable)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(file: path, line: 0, reason: "the file is not UTF-8 text")
        }
        return try parse(text, file: path)
    }

    /// Parses INI text: `[section]`, `key = value`, `#` or `;` comments. Unknown sections and
    /// keys are errors, so a typo never goes unnoticed.
    public static func parse(_ text: String, file: String = "lexmo.conf") throws(ConfigurationError) -> LexmoConfiguration {
        var config = LexmoConfiguration()
        var section = ""
        var seen = Set<String>()
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let line = stripComment(rawLine).trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else { throw ConfigurationError(file: file, line: lineNumber, reason: "section header must end with ]") }
                section = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                if section.lowercased().hasPrefix("profile.") {
                    let name = String(section.dropFirst("profile.".count))
                    guard CallRoute.isConversationId(name) || name.count == 1 else {
                        throw ConfigurationError(file: file, line: lineNumber, reason: "profile name `\(name)` must be letters, digits and ._:-")
                    }
                    guard config.profiles[name] == nil else {
                        throw ConfigurationError(file: file, line: lineNumber, reason: "[profile.\(name)] appears twice")
                    }
                    config.profiles[name] = Profile(name: name)
                    section = "profile." + name
                    continue
                }
                section = section.lowercased()
                guard settings[section] != nil else {
                    throw ConfigurationError(file: file, line: lineNumber, reason: "unknown section [\(section)]; known: \(settings.keys.sorted().map { "[\($0)]" }.joined(separator: ", "))")
                }
                continue
            }
            guard let eq = line.firstIndex(of: "=") else {
                throw ConfigurationError(file: file, line: lineNumber, reason: "expected `key = value`")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.first == "\"", value.last == "\"" { value = String(value.dropFirst().dropLast()) }
            if section.hasPrefix("profile.") {
                let name = String(section.dropFirst("profile.".count))
                guard seen.insert("\(section).\(key)").inserted else {
                    throw ConfigurationError(file: file, line: lineNumber, reason: "`\(key)` is set twice in [\(section)]")
                }
                do {
                    try setProfile(&config.profiles[name]!, key: key, value: value)
                } catch {
                    throw ConfigurationError(file: file, line: lineNumber, reason: "[\(section)] \(key): \(error)")
                }
                continue
            }
            if section == "security", key.hasPrefix("token.") {
                let tenant = String(key.dropFirst("token.".count))
                guard !tenant.isEmpty, tenant.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._:-".contains($0)) }) else {
                    throw ConfigurationError(file: file, line: lineNumber, reason: "tenant name in `\(key)` must be letters, digits and ._:-")
                }
                guard value.count >= 16 else {
                    throw ConfigurationError(file: file, line: lineNumber, reason: "[security] \(key): a token must be at least 16 characters")
                }
                guard config.security.tokens[tenant] == nil else {
                    throw ConfigurationError(file: file, line: lineNumber, reason: "[security] \(key) is set twice")
                }
                config.security.tokens[tenant] = Secret(value)
                continue
            }
            guard !section.isEmpty, let keys = settings[section] else {
                throw ConfigurationError(file: file, line: lineNumber, reason: "`\(key)` is outside any [section]")
            }
            guard let setter = keys[key] else {
                throw ConfigurationError(file: file, line: lineNumber, reason: "unknown key `\(key)` in [\(section)]; known: \(keys.keys.sorted().joined(separator: ", "))")
            }
            guard seen.insert("\(section).\(key)").inserted else {
                throw ConfigurationError(file: file, line: lineNumber, reason: "`\(key)` is set twice in [\(section)]")
            }
            do {
                try setter(&config, value)
            } catch {
                throw ConfigurationError(file: file, line: lineNumber, reason: "[\(section)] \(key) = \(secretKeys.contains(key) ? "<redacted>" : value): \(error)")
            }
        }
        try config.validate(file: file)
        return config
    }

    /// `HOST` and `PORT` from the environment override `[lexmo]`, as the original connector did.
    public mutating func applyEnvironment(_ environment: [String: String]) throws(ConfigurationError) {
        if let host = environment["HOST"], !host.isEmpty { server.host = host }
        if let port = environment["PORT"], !port.isEmpty {
            guard let p = Int(port), (0...65535).contains(p) else {
                throw ConfigurationError(file: "environment", line: 0, reason: "PORT=\(port) is not a port number (0-65535)")
            }
            server.port = p
        }
    }

    /// Cross-key checks; the error names the keys.
    func validate(file: String) throws(ConfigurationError) {
        func fail(_ reason: String) -> ConfigurationError { ConfigurationError(file: file, line: 0, reason: reason) }
        switch security.mode {
        case nil where !Self.isLoopback(server.host):
            throw fail("[security] mode must be set when listening on \(server.host) (not a loopback address): token, vonage, or none to accept anyone")
        case .token? where security.tokens.isEmpty:
            throw fail("[security] mode = token needs at least one `token.<tenant> = <token>` line")
        case .vonage? where security.signatureSecret == nil:
            throw fail("[security] mode = vonage needs signature_secret (the Vonage account's signature secret)")
        default: break
        }
        for p in profiles.values {
            if p.tenants.isEmpty { throw fail("[profile.\(p.name)] needs tenants = ... (who may use it)") }
            if (p.accessKeyId == nil) != (p.secretAccessKey == nil) {
                throw fail("[profile.\(p.name)] needs both aws_access_key_id and aws_secret_access_key, or neither (then [credentials] file is read)")
            }
            if p.accessKeyId == nil && credentials.file == nil {
                throw fail("[profile.\(p.name)] has no keys and [credentials] file is not set")
            }
        }
        if vad.clipMin >= vad.clipMax { throw fail("[vad] clip_min (\(vad.clipMin)) must be below clip_max (\(vad.clipMax))") }
        for (name, template) in [("endpoint_v1", lex.endpointV1), ("endpoint_v2", lex.endpointV2)] {
            guard template.hasPrefix("https://") || template.hasPrefix("http://") else {
                throw fail("[lex] \(name) must be an http:// or https:// URL template")
            }
        }
    }

    /// Loopback binds may run without authentication.
    public static func isLoopback(_ host: String) -> Bool {
        ["127.0.0.1", "::1", "localhost"].contains(host) || host.hasPrefix("127.")
    }

    private static let secretKeys: Set<String> = ["secret", "signature_secret", "aws_secret_access_key", "aws_session_token"]

    private static func setProfile(_ p: inout Profile, key: String, value: String) throws(ConfigurationValueError) {
        switch key {
        case "tenants": p.tenants = list(value)
        case "aws_access_key_id":
            guard !value.isEmpty, value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else { throw .notAnAccessKeyId }
            p.accessKeyId = value
        case "aws_secret_access_key":
            guard !value.isEmpty else { throw .empty }
            p.secretAccessKey = Secret(value)
        case "aws_session_token": p.sessionToken = value.isEmpty ? nil : Secret(value)
        case "region":
            guard isRegion(value) else { throw .notARegion }
            p.region = value
        default:
            throw .unknownProfileKey
        }
    }

    static func list(_ value: String) -> [String] {
        value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    private static func stripComment<S: StringProtocol>(_ line: S) -> String {
        let s = String(line)
        let trimmed = s.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { return "" }
        // An inline comment needs whitespace before it, so URLs with # survive.
        for marker in [" #", "\t#", " ;", "\t;"] {
            if let r = s.range(of: marker) { return String(s[..<r.lowerBound]) }
        }
        return s
    }

    static func isRegion(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 32 && s.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }
    }
}
