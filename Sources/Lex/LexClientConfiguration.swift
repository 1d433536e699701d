import Foundation
import Logging

/// How `LexClient` talks to Lex.
public struct LexClientConfiguration: Sendable {
    /// Base URLs per API; `{region}` is replaced per request.
    public var endpoints: LexEndpoints = .aws
    /// The transport: connect timeout, CA bundle, connection limits, user agent.
    public var http = HTTPClient.Configuration()
    /// Deadline for a whole request, all attempts and waits included.
    public var requestTimeout: Duration = .seconds(20)
    /// When and how long to wait before sending a failed request again. Retries happen
    /// only for retryable errors (throttling, 5xx, connection failures, connect timeouts)
    /// and only while no part of the reply was handed on.
    public var retry = RetryPolicy()
    /// Error and non-audio bodies are read up to this size.
    public var maxErrorBodyBytes: Int = 64 * 1024
    /// `HTTPClient.post` responses larger than this fail (webhooks).
    public var maxPostResponseBytes: Int = 1 << 20
    /// Signing keys are derived once per key, day, region and service.
    public var signingKeyCache: SigningKeyCache = .shared
    /// A logger for callers that have none of their own to hand to `send` (tools, tests);
    /// the client itself logs only through the logger each request takes.
    public var logger: Logger = Logger(label: "lex")

    public init() {}

    public init(endpoints: LexEndpoints) {
        self.endpoints = endpoints
    }

    /// Time allowed to open a connection (TCP + TLS), per attempt (`http.connectTimeout`).
    public var connectTimeout: Duration {
        get { http.connectTimeout }
        set { http.connectTimeout = newValue }
    }

    /// PEM bundle of trusted CAs; nil uses the system's (`http.caBundlePath`).
    public var caBundlePath: String? {
        get { http.caBundlePath }
        set { http.caBundlePath = newValue }
    }

    /// Attempts per request, 1 = no retry (`retry.maxAttempts`).
    public var maxAttempts: Int {
        get { retry.maxAttempts }
        set { retry.maxAttempts = newValue }
    }
}
