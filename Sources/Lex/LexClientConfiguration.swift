import Foundation
import Logging

/// How `LexClient` talks to Lex. Times are in seconds.
public struct LexClientConfiguration: Sendable {
    /// Base URLs per API; `{region}` is replaced per request.
    public var endpoints: LexEndpoints = .aws
    /// Time allowed to open a connection (TCP + TLS), per attempt.
    public var connectTimeout: Double = 3
    /// Deadline for a whole request, all attempts and backoff included.
    public var requestTimeout: Double = 20
    /// Attempts per request (1 = no retry). Retries happen only for
    /// retryable errors (throttling, 5xx, connection failures, connect
    /// timeouts) and only while no part of the response was handed on.
    public var maxAttempts: Int = 3
    /// Backoff before retry n (n = 1, 2...): uniformly random in
    /// [0, min(retryMaxDelay, retryBaseDelay * 2^(n-1))] ("full jitter").
    public var retryBaseDelay: Double = 0.1
    public var retryMaxDelay: Double = 1
    /// PEM bundle of trusted CAs; nil uses the system's.
    public var caBundlePath: String?
    /// Concurrent connections per host; 0 = no limit. With HTTP/2 curl
    /// multiplexes requests onto one connection instead.
    public var maxConnectionsPerHost: Int = 0
    /// Idle connections kept open for reuse.
    public var maxIdleConnections: Int = 256
    /// Error and non-audio bodies are read up to this size.
    public var maxErrorBodyBytes: Int = 64 * 1024
    /// `post` responses larger than this fail.
    public var maxPostResponseBytes: Int = 1 << 20
    public var userAgent: String = "lexconnector"
    /// Signing keys are derived once per key, day, region and service.
    public var signingKeyCache: SigningKeyCache = .shared
    /// One line per retry and failure; never headers or bodies.
    public var logger: Logger = Logger(label: "lex")

    public init() {}

    public init(endpoints: LexEndpoints) {
        self.endpoints = endpoints
    }
}
