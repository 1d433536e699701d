import Dispatch
import Foundation
import Logging

/// An HTTP client that only moves bytes: one libcurl multi handle driven by one thread
/// (`lex-curl`), HTTP/2 multiplexing where the server offers it, connections kept open.
///
/// A request (`execute`) is one attempt: the request goes out, the final response head
/// (status and headers; interim 1xx are skipped), then the body chunk by chunk as libcurl
/// reads it, then the completion. Everything is delivered on the `callbackQueue` the
/// request names (use a serial queue: chunks arrive there in order). What the bytes mean,
/// and whether to try again, is the caller's business (`LexClient` for Lex, `post` for
/// webhooks, both with `RetryPolicy`).
public final class HTTPClient: Sendable {
    /// Transport settings.
    public struct Configuration: Sendable {
        /// Time allowed to open a connection (TCP + TLS), per attempt.
        public var connectTimeout: Duration = .seconds(3)
        /// PEM bundle of trusted CAs; nil uses the system's.
        public var caBundlePath: String?
        /// Concurrent connections per host; 0 = no limit. With HTTP/2 curl multiplexes
        /// requests onto one connection instead.
        public var maxConnectionsPerHost: Int = 0
        /// Idle connections kept open for reuse.
        public var maxIdleConnections: Int = 256
        public var userAgent: String = "lexconnector"

        public init() {}
    }

    public let configuration: Configuration
    let engine: CurlEngine

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        self.engine = CurlEngine(configuration: configuration)
    }

    deinit {
        engine.shutdown()
    }

    /// Sends `request` once.
    ///
    /// - `deadline`: the whole attempt (connect, send, the complete response) must end by
    ///   then, else `.deadlinePassed`. The connect phase is also bounded by
    ///   `configuration.connectTimeout` (`.connectTimeout`).
    /// - `notBefore`: the attempt starts no earlier (a retry's delay); the wait is on the
    ///   client thread and `cancel()` ends it.
    /// - `onHead` gets the final response's status and headers, once, before any body;
    ///   `onBody` each body chunk as it arrives (libcurl's buffer copied once into the array);
    ///   `onComplete` is called exactly once, last, with the transfer's figures or the error
    ///   (`.cancelled` after `cancel()`).
    ///
    /// If `cancel()` is called on `callbackQueue`, no callback other than
    /// `onComplete(.failure(.cancelled))` runs after it returns.
    @discardableResult
    public func execute(
        _ request: HTTPRequestMessage, deadline: DispatchTime, notBefore: DispatchTime? = nil,
        logger: Logger, callbackQueue: DispatchQueue,
        onHead: @escaping @Sendable (HTTPResponse) -> Void,
        onBody: @escaping @Sendable ([UInt8]) -> Void,
        onComplete: @escaping @Sendable (Result<HTTPTransferStats, HTTPClientError>) -> Void
    ) -> HTTPRequestHandle {
        let handle = makeHandle()
        submit(request, handle: handle, deadline: deadline, notBefore: notBefore, logger: logger, callbackQueue: callbackQueue,
               onHead: onHead, onBody: onBody, onComplete: onComplete)
        return handle
    }

    /// A handle for an attempt not yet submitted: a retrying caller records it before the
    /// attempt can call back.
    func makeHandle() -> HTTPRequestHandle {
        HTTPRequestHandle(engine: engine)
    }

    /// `execute` with a handle from `makeHandle()`.
    func submit(
        _ request: HTTPRequestMessage, handle: HTTPRequestHandle, deadline: DispatchTime, notBefore: DispatchTime?,
        logger: Logger, callbackQueue: DispatchQueue,
        onHead: @escaping @Sendable (HTTPResponse) -> Void,
        onBody: @escaping @Sendable ([UInt8]) -> Void,
        onComplete: @escaping @Sendable (Result<HTTPTransferStats, HTTPClientError>) -> Void
    ) {
        engine.submit(CurlJob(
            id: handle.id, message: request, handle: handle, queue: callbackQueue, deadline: deadline,
            notBefore: notBefore, logger: logger, onHead: onHead, onBody: onBody, onComplete: onComplete))
    }

    /// Fails every request in flight with `.shutdown` and stops the thread. Called by
    /// `deinit`; safe to call more than once.
    public func shutdown() {
        engine.shutdown()
    }

    /// Attempts accepted and not yet completed (in flight or waiting for `notBefore`).
    public var pendingRequestCount: Int { engine.pendingCount }

    /// `now` plus `duration` (clamped to [0, 1 day]).
    public static func deadline(in duration: Duration, from now: DispatchTime = .now()) -> DispatchTime {
        now + .nanoseconds(Int(min(max(duration, .zero), .seconds(86_400)).wholeNanoseconds))
    }

    /// `retry.decide` now, for the exchanges that retry (Lex requests, webhook posts): the
    /// clocks are read here (the time left before `deadline`, the wall clock for an HTTP-date
    /// `Retry-After`) and the jitter is drawn here.
    static func retryDecision(_ retry: RetryPolicy, attempt: Int, failure: RetryPolicy.Failure,
                              deadline: DispatchTime) -> RetryPolicy.Decision {
        let now = DispatchTime.now().uptimeNanoseconds
        let remaining = Double(deadline.uptimeNanoseconds &- min(now, deadline.uptimeNanoseconds)) / 1e9
        return retry.decide(attempt: attempt, failure: failure, remaining: remaining,
                            now: Date().timeIntervalSince1970, random: Double.random(in: 0...1))
    }
}

/// Why an HTTP attempt produced no complete response.
public enum HTTPClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The URL cannot be used (not http or https, no host...).
    case invalidURL(String)
    /// No connection to `origin` within `timeout`.
    case connectTimeout(origin: String, timeout: Duration)
    /// The request's deadline passed (before it could start, or before the response was
    /// complete).
    case deadlinePassed(beforeSending: Bool)
    /// DNS, connect, TLS, reset, a truncated body. `code` is libcurl's CURLcode.
    case transport(code: Int, message: String)
    /// The response body was larger than the caller accepts.
    case responseTooLarge(limit: Int)
    case cancelled
    /// The client was shut down before the request finished.
    case shutdown

    /// Whether the same request may succeed when sent again.
    public var isRetryable: Bool {
        switch self {
        case .connectTimeout, .transport: return true
        case .invalidURL, .deadlinePassed, .responseTooLarge, .cancelled, .shutdown: return false
        }
    }

    public var description: String {
        switch self {
        case .invalidURL(let why): return "invalid URL: \(why)"
        case .connectTimeout(let origin, let timeout): return "no connection to \(origin) within \(timeout.seconds) s"
        case .deadlinePassed(let before):
            return before ? "the request's deadline passed before it was sent" : "no complete response before the request's deadline"
        case .transport(let code, let message): return "HTTP transfer failed (curl error \(code)): \(message); check the URL, DNS and network"
        case .responseTooLarge(let limit): return "response larger than \(limit) bytes"
        case .cancelled: return "request cancelled"
        case .shutdown: return "HTTP client shut down before the request finished"
        }
    }
}

/// How one attempt travelled. Cheap figures read from libcurl at the end.
public struct HTTPTransferStats: Sendable, Hashable {
    /// Attempts made (1 when no retry happened); filled by the retrying caller.
    public var attempts: Int = 0
    /// New connections opened (CURLINFO_NUM_CONNECTS): 0 means an open connection was
    /// reused. A retrying caller sums them over its attempts.
    public var newConnections: Int = 0
    /// 11 for HTTP/1.1, 20 for HTTP/2, 0 when unknown.
    public var httpVersion: Int = 0
    /// From the start of the attempt to the first response byte (CURLINFO_STARTTRANSFER_TIME_T).
    public var timeToFirstByte: Duration = .zero
    /// The attempt's whole time (CURLINFO_TOTAL_TIME_T).
    public var totalTime: Duration = .zero
    /// From the start of the attempt until libcurl began sending the request
    /// (CURLINFO_PRETRANSFER_TIME_T: connection reused or made, TLS done).
    public var timeToRequest: Duration = .zero
    /// When the client thread started the attempt (monotonic clock); nil before it started.
    public var attemptStartedAt: Instant?
    /// When the first bytes of the response body reached the client thread (monotonic
    /// clock); nil when the body was empty.
    public var firstBodyBytesAt: Instant?
    /// Identifies the client thread that drove the transfer (every request of one
    /// `HTTPClient` shows the same value).
    public var clientThread: UInt64 = 0

    public init() {}
}

/// Lets the caller stop a request (the caller hung up). For a request made of several
/// attempts, the handle of the attempt under way is attached to it and cancelled with it.
public final class HTTPRequestHandle: Sendable {
    public let id: UInt64
    private let engine: CurlEngine?
    let state = RequestState()

    private static let counter = LockedValue<UInt64>(0)

    init(engine: CurlEngine?) {
        self.id = Self.counter.withLock { value in
            value += 1
            return value
        }
        self.engine = engine
    }

    /// Stops the request: the completion gets `.cancelled` unless it already ran; no-op
    /// after completion.
    public func cancel() {
        guard let attached = state.requestCancel() else { return }
        if let attached { attached.cancel() } else { engine?.cancel(id: id) }
    }

    /// True once `cancel()` was called before completion.
    public var isCancelled: Bool { state.isCancelled }

    /// Marks the request finished; returns false when a cancel came first.
    @discardableResult
    func markFinished() -> Bool { state.markFinished() }
}

/// A request's cancel state, shared by the handles of the HTTP and Lex layers: active (with
/// the handle of the attempt under way, if any), cancel requested, or finished.
final class RequestState: Sendable {
    private enum Phase {
        case active
        case cancelRequested
        case finished
    }

    private let value = LockedValue<(phase: Phase, attempt: HTTPRequestHandle?)>((.active, nil))

    init() {}

    /// Moves active to cancel-requested. Returns nil when not active, else the attached
    /// attempt (itself nil when none is attached).
    func requestCancel() -> HTTPRequestHandle?? {
        value.withLock { s -> HTTPRequestHandle?? in
            guard case .active = s.phase else { return nil }
            s.phase = .cancelRequested
            let attempt = s.attempt
            s.attempt = nil
            return .some(attempt)
        }
    }

    /// Attaches the attempt under way; cancels it at once when a cancel came first.
    func attach(_ attempt: HTTPRequestHandle) {
        let cancelNow = value.withLock { s -> Bool in
            guard case .active = s.phase else { return true }
            s.attempt = attempt
            return false
        }
        if cancelNow { attempt.cancel() }
    }

    var isCancelled: Bool {
        value.withLock { s in
            if case .cancelRequested = s.phase { return true }
            return false
        }
    }

    func markFinished() -> Bool {
        value.withLock { s in
            s.attempt = nil
            if case .cancelRequested = s.phase { return false }
            s.phase = .finished
            return true
        }
    }
}

/// A value behind a lock.
final class LockedValue<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
