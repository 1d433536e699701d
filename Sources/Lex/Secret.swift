/// A secret string (an AWS secret access key, a session token, an auth token).
///
/// Its `description`, `debugDescription`, `dump` output and string interpolation
/// all print `<redacted>`, so a secret that reaches a log line by accident
/// shows nothing. The value is reachable only through `withRevealedValue`
/// (or `revealedUTF8` for signing code inside this module), which makes every
/// use greppable.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable, CustomLeafReflectable
{
    private let value: String

    public init(_ value: String) {
        self.value = value
    }

    /// Calls `body` with the secret in clear. Do not log what you get.
    public func withRevealedValue<R>(_ body: (String) throws -> R) rethrows -> R {
        try body(value)
    }

    var revealedUTF8: [UInt8] { Array(value.utf8) }

    public var isEmpty: Bool { value.isEmpty }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

/// AWS credentials of one tenant: the access key id (not secret: it appears in
/// every Authorization header), the secret access key and, for temporary
/// credentials, the session token.
public struct AWSCredentials: Sendable, Hashable, CustomStringConvertible {
    public var accessKeyId: String
    public var secretAccessKey: Secret
    public var sessionToken: Secret?

    public init(accessKeyId: String, secretAccessKey: Secret, sessionToken: Secret? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.init(
            accessKeyId: accessKeyId, secretAccessKey: Secret(secretAccessKey),
            sessionToken: sessionToken.map(Secret.init))
    }

    public var description: String {
        "AWSCredentials(accessKeyId: \(accessKeyId), secretAccessKey: <redacted>"
            + (sessionToken == nil ? ")" : ", sessionToken: <redacted>)")
    }
}
