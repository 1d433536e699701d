import Dispatch
import Foundation
import Logging

/// Talks to Lex (and posts webhook events) over one libcurl multi handle
/// driven by one thread.
///
/// Requests reach that thread through a locked queue; response metadata,
/// audio chunks and completions are delivered on the `callbackQueue` each
/// request names (use a serial queue: chunks are delivered in order there).
/// Connections stay open and are reused (HTTP/2 multiplexing where the server
/// offers it).
public final class LexClient: Sendable {
    public let configuration: LexClientConfiguration
    private let engine: CurlEngine

    public init(configuration: LexClientConfiguration = LexClientConfiguration()) {
        self.configuration = configuration
        self.engine = CurlEngine(configuration: configuration)
    }

    deinit {
        engine.shutdown()
    }

    /// Sends one turn to Lex.
    ///
    /// - `onResponseStart` gets the turn's metadata (no audio) once the 2xx
    ///   response headers are in; it is called exactly once before any
    ///   `.success` completion.
    /// - `onAudio`, when given, gets the reply audio (16 kHz 16-bit LE PCM,
    ///   whole samples) chunk by chunk as it arrives; the final turn's `audio`
    ///   then stays empty. Without it the audio is collected into the final
    ///   turn. A body that is not `audio/pcm`, or with a non-2xx status, is
    ///   never delivered as audio.
    /// - `onComplete` is called exactly once (with `.cancelled` after `cancel()`).
    ///
    /// If `cancel()` is called on `callbackQueue`, no callback other than
    /// `onComplete(.failure(.cancelled))` runs after it returns.
    @discardableResult
    public func send(
        _ request: LexRequest, credentials: AWSCredentials, callbackQueue: DispatchQueue,
        onResponseStart: @escaping @Sendable (LexTurn) -> Void = { _ in },
        onAudio: (@Sendable ([UInt8]) -> Void)? = nil,
        logMetadata: Logger.Metadata = [:],
        onComplete: @escaping @Sendable (Result<LexTurn, LexError>) -> Void
    ) -> LexRequestHandle {
        let handle = LexRequestHandle(engine: engine)
        let message: HTTPRequestMessage
        do {
            message = try request.signedHTTPRequest(
                credentials: credentials, endpoints: configuration.endpoints, date: Date(),
                keyCache: configuration.signingKeyCache)
        } catch {
            handle.markFinished()
            callbackQueue.async { onComplete(.failure(error)) }
            return handle
        }
        let secrets = [credentials.secretAccessKey] + (credentials.sessionToken.map { [$0] } ?? [])
        var job = CurlJob(
            id: handle.id, message: message, kind: .lex(request.api), handle: handle,
            queue: callbackQueue, secrets: secrets,
            deadline: DispatchTime.now() + .nanoseconds(Self.nanoseconds(configuration.requestTimeout)),
            onResponseStart: onResponseStart, onAudio: onAudio, onLexComplete: onComplete, onPostComplete: nil)
        job.logMetadata = logMetadata
        engine.submit(job)
        return handle
    }

    /// Posts `body` to `url` with `headers` (a webhook event). The completion
    /// gets any HTTP response, 2xx or not; it fails only when no response
    /// arrived (connection failures are retried like Lex requests), or the
    /// response exceeded `maxPostResponseBytes`.
    @discardableResult
    public func post(
        url: String, headers: [HTTPHeader], body: [UInt8], callbackQueue: DispatchQueue,
        completion: @escaping @Sendable (Result<HTTPResponse, LexError>) -> Void
    ) -> LexRequestHandle {
        let handle = LexRequestHandle(engine: engine)
        do {
            _ = try BaseURL(url)
        } catch {
            handle.markFinished()
            callbackQueue.async { completion(.failure(error)) }
            return handle
        }
        let job = CurlJob(
            id: handle.id, message: HTTPRequestMessage(method: "POST", url: url, headers: headers, body: body),
            kind: .post, handle: handle, queue: callbackQueue, secrets: [],
            deadline: DispatchTime.now() + .nanoseconds(Self.nanoseconds(configuration.requestTimeout)),
            onResponseStart: nil, onAudio: nil, onLexComplete: nil, onPostComplete: completion)
        engine.submit(job)
        return handle
    }

    /// Fails every request in flight with `.shutdown` and stops the thread.
    /// Called by `deinit`; safe to call more than once.
    public func shutdown() {
        engine.shutdown()
    }

    /// Requests accepted and not yet completed (in flight or waiting to retry).
    public var pendingRequestCount: Int { engine.pendingCount }

    static func nanoseconds(_ seconds: Double) -> Int {
        Int(min(max(seconds, 0), 86_400) * 1e9)
    }
}

/// A plain HTTP response (from `LexClient.post`).
public struct HTTPResponse: Sendable, Hashable {
    public var status: Int
    public var headers: HTTPResponseHeaders
    public var body: [UInt8]
    public var transfer: LexTransferStats
}

/// Lets the caller stop a request (the caller hung up).
public final class LexRequestHandle: Sendable {
    enum State {
        case active
        case cancelRequested
        case finished
    }

    public let id: UInt64
    private let engine: CurlEngine?
    private let state = LockedValue(State.active)

    private static let counter = LockedValue<UInt64>(0)

    init(engine: CurlEngine?) {
        self.id = Self.counter.withLock { value in
            value += 1
            return value
        }
        self.engine = engine
    }

    /// Stops the request. `onComplete` gets `.failure(.cancelled)` unless it
    /// already ran; no-op after completion.
    public func cancel() {
        let notify = state.withLock { s -> Bool in
            guard s == .active else { return false }
            s = .cancelRequested
            return true
        }
        if notify { engine?.cancel(id: id) }
    }

    /// True once `cancel()` was called before completion.
    public var isCancelled: Bool { state.withLock { $0 == .cancelRequested } }

    /// Marks the request finished; returns false when a cancel came first.
    @discardableResult
    func markFinished() -> Bool {
        state.withLock { s in
            if s == .cancelRequested { return false }
            s = .finished
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
