import Foundation
import Lex

/// Server-side AWS credentials: `[profile.NAME]` sections (keys inline, or from the AWS
/// shared-credentials file named in `[credentials] file`), and optionally the process
/// environment. Each profile is bound to tenants; only authenticated calls use any of them.
public struct CredentialStore: Sendable {
    public struct Entry: Sendable {
        public var credentials: AWSCredentials
        public var tenants: Set<String>
        public var region: String?
    }

    public private(set) var profiles: [String: Entry] = [:]
    public private(set) var environmentDefault: AWSCredentials?

    public enum LookupError: Error, Equatable, Sendable, CustomStringConvertible {
        case unauthenticated
        case unknownOrForbidden(String)
        public var description: String {
            switch self {
            case .unauthenticated: return "aws_profile needs an authenticated connection ([security] mode token or vonage)"
            case .unknownOrForbidden(let p): return "aws_profile \(p) does not exist or is not bound to this tenant"
            }
        }
    }

    public init() {}

    /// Loads the profiles of `config`, reading the shared-credentials file when a profile has
    /// no inline keys. The error names the file and the profile.
    public init(config: LexmoConfiguration, environment: [String: String]) throws(ConfigurationError) {
        var file: [String: [String: String]] = [:]
        if let path = config.credentials.file {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ConfigurationError(file: path, line: 0, reason: "cannot read the AWS credentials file")
            }
            file = Self.parseSharedCredentials(text)
        }
        for p in config.profiles.values {
            let creds: AWSCredentials
            if let key = p.accessKeyId, let secret = p.secretAccessKey {
                creds = AWSCredentials(accessKeyId: key, secretAccessKey: secret, sessionToken: p.sessionToken)
            } else {
                guard let section = file[p.name], let key = section["aws_access_key_id"], let secret = section["aws_secret_access_key"] else {
                    throw ConfigurationError(file: config.credentials.file ?? "credentials", line: 0,
                                             reason: "no [\(p.name)] section with aws_access_key_id and aws_secret_access_key for [profile.\(p.name)]")
                }
                creds = AWSCredentials(accessKeyId: key, secretAccessKey: Secret(secret),
                                       sessionToken: section["aws_session_token"].map { Secret($0) })
            }
            profiles[p.name] = Entry(credentials: creds, tenants: Set(p.tenants), region: p.region)
        }
        if config.credentials.useEnvironment {
            guard let key = environment["AWS_ACCESS_KEY_ID"], !key.isEmpty,
                  let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else {
                throw ConfigurationError(file: "environment", line: 0,
                                         reason: "[credentials] use_environment = true but AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY is not set")
            }
            environmentDefault = AWSCredentials(accessKeyId: key, secretAccessKey: Secret(secret),
                                                sessionToken: environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : Secret($0) })
        }
    }

    /// The profile's credentials, if this principal may use it.
    public func lookup(profile: String, principal: Principal?) -> Result<Entry, LookupError> {
        guard let principal else { return .failure(.unauthenticated) }
        guard let entry = profiles[profile], entry.tenants.contains(principal.tenant) || entry.tenants.contains("*") else {
            return .failure(.unknownOrForbidden(profile))
        }
        return .success(entry)
    }

    /// `[name]` sections of `key = value` lines (the AWS shared-credentials format).
    static func parseSharedCredentials(_ text: String) -> [String: [String: String]] {
        var out: [String: [String: String]] = [:]
        var section: String?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                var name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                if name.hasPrefix("profile ") { name = String(name.dropFirst(8)).trimmingCharacters(in: .whitespaces) }
                section = name
                continue
            }
            guard let s = section, let eq = line.firstIndex(of: "=") else { continue }
            out[s, default: [:]][line[..<eq].trimmingCharacters(in: .whitespaces).lowercased()] = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
        }
        return out
    }
}
