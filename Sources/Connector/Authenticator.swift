import COpenSSL
import Foundation
import Lex

/// Who opened a connection, once authenticated: a tenant name (a token's name, or the Vonage
/// application id of the JWT).
public struct Principal: Sendable, Equatable {
    public var tenant: String
    public init(tenant: String) { self.tenant = tenant }
}

/// Why an upgrade was refused with 401. The reason goes to the operator's log, never to the peer.
public struct AuthenticationFailure: Error, Equatable, Sendable, CustomStringConvertible {
    public var reason: String
    /// The `reason` label of `lexconnector_auth_failures_total`.
    public var metric: ConnectorMetrics.AuthFailureReason
    public var description: String { reason }
}

/// `[security] mode`: `none`, `token` (a bearer token per tenant) or `vonage` (the HS256 JWT
/// Vonage sends with `"authorization":{"type":"vonage"}`, signed with the account's
/// signature secret). Pure: the time is a parameter.
public struct Authenticator: Sendable {
    public let security: LexmoConfiguration.Security
    /// Tolerated clock difference with the signer, in seconds.
    public var clockSkew: Double = 60

    public init(security: LexmoConfiguration.Security) { self.security = security }

    /// nil principal: mode `none` (anyone may connect, nobody is a tenant).
    public func authenticate(authorization: String?, now: Date) -> Result<Principal?, AuthenticationFailure> {
        switch security.effectiveMode {
        case .none:
            return .success(nil)
        case .token:
            guard let token = bearer(authorization) else { return .failure(.init(reason: "missing bearer token", metric: .missing)) }
            let presented = Self.sha256(Array(token.utf8))
            var match: String?
            // Every token is compared, in constant time, whatever matched before.
            for (tenant, secret) in security.tokens.sorted(by: { $0.key < $1.key }) {
                let expected = secret.withRevealedValue { Self.sha256(Array($0.utf8)) }
                if Self.constantTimeEqual(presented, expected) && match == nil { match = tenant }
            }
            guard let tenant = match else { return .failure(.init(reason: "unknown bearer token", metric: .badToken)) }
            return .success(Principal(tenant: tenant))
        case .vonage:
            guard let token = bearer(authorization) else { return .failure(.init(reason: "missing bearer JWT", metric: .missing)) }
            guard let secret = security.signatureSecret else { return .failure(.init(reason: "no signature secret configured", metric: .config)) }
            return verifyJWT(token, secret: secret, now: now).map { Optional($0) }
        }
    }

    private func bearer(_ header: String?) -> String? {
        guard let h = header?.trimmingCharacters(in: .whitespaces), h.count > 7, h.prefix(7).lowercased() == "bearer " else { return nil }
        let t = h.dropFirst(7).trimmingCharacters(in: .whitespaces)
        return t.isEmpty || t.count > 8192 ? nil : t
    }

    /// HS256 JWT: alg must be HS256, the signature must match (constant time), `iat` must be
    /// present, not in the future and not older than `max_token_age`, `exp` (if present) not
    /// passed, and `application_id` one of the configured ones (if any are).
    func verifyJWT(_ token: String, secret: Secret, now: Date) -> Result<Principal, AuthenticationFailure> {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Self.base64URLDecode(parts[0]), let payloadBytes = Self.base64URLDecode(parts[1]),
              let signature = Self.base64URLDecode(parts[2]) else {
            return .failure(.init(reason: "malformed JWT", metric: .malformed))
        }
        guard let header = (try? JSONSerialization.jsonObject(with: Data(headerBytes))) as? [String: Any],
              let claims = (try? JSONSerialization.jsonObject(with: Data(payloadBytes))) as? [String: Any] else {
            return .failure(.init(reason: "JWT header or claims are not JSON objects", metric: .malformed))
        }
        guard header["alg"] as? String == "HS256" else {
            return .failure(.init(reason: "JWT alg \(header["alg"] ?? "none") is not HS256", metric: .badAlgorithm))
        }
        let signingInput = Array("\(parts[0]).\(parts[1])".utf8)
        let expected = secret.withRevealedValue { Self.hmacSHA256(key: Array($0.utf8), data: signingInput) }
        guard signature.count == expected.count, Self.constantTimeEqual(signature, expected) else {
            return .failure(.init(reason: "JWT signature does not match the signature secret", metric: .badSignature))
        }
        let t = now.timeIntervalSince1970
        guard let iat = (claims["iat"] as? NSNumber)?.doubleValue else {
            return .failure(.init(reason: "JWT has no iat", metric: .badClaims))
        }
        if iat > t + clockSkew { return .failure(.init(reason: "JWT iat is in the future", metric: .notYetValid)) }
        if t - iat > security.maxTokenAge.seconds + clockSkew {
            return .failure(.init(reason: "JWT issued \(Int(t - iat)) s ago, more than max_token_age", metric: .expired))
        }
        if let exp = (claims["exp"] as? NSNumber)?.doubleValue, exp + clockSkew < t {
            return .failure(.init(reason: "JWT expired", metric: .expired))
        }
        let application = claims["application_id"] as? String
        if !security.applicationIds.isEmpty {
            guard let app = application, security.applicationIds.contains(app) else {
                return .failure(.init(reason: "JWT application_id \(application ?? "missing") is not allowed", metric: .badApplication))
            }
        }
        return .success(Principal(tenant: application ?? "vonage"))
    }

    static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        bytes.withUnsafeBytes { lc_sha256($0.baseAddress, $0.count, &out) }
        return out
    }

    static func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        key.withUnsafeBytes { k in data.withUnsafeBytes { d in _ = lc_hmac_sha256(k.baseAddress, k.count, d.baseAddress, d.count, &out) } }
        return out
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in lc_const_time_equal(x.baseAddress, y.baseAddress, a.count) == 1 } }
    }

    static func base64URLDecode<S: StringProtocol>(_ s: S) -> [UInt8]? {
        guard s.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { return nil }
        var b = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b.count % 4 != 0 { b += "=" }
        return Data(base64Encoded: b).map { [UInt8]($0) }
    }

    static func base64URLEncode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
