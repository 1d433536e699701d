import Dispatch
import Foundation
import Logging

/// Talks to Lex over an `HTTPClient` (one libcurl multi handle driven by one thread).
///
/// The transport moves bytes; this type gives them their Lex meaning: it signs the
/// request, decides at the response head whether the body is reply audio (2xx
/// `audio/pcm`) or an error body to read, maps the headers to a `LexTurn`, maps failures to
/// `LexError` (secrets redacted), and retries by `configuration.retry` within the request's
/// deadline. Response metadata, audio chunks and the completion are delivered on the
/// `callbackQueue` each request names (use a serial queue: chunks arrive there in order).
/// The same `http` client carries the connector's webhook posts.
public final class LexClient: Sendable {
    public let configuration: LexClientConfiguration
    /// The transport, shared with webhook posts (one client thread for both).
    public let http: HTTPClient

    public init(configuration: LexClientConfiguration = LexClientConfiguration()) {
        self.configuration = configuration
        self.http = HTTPClient(configuration: configuration.http)
    }

    deinit {
        http.shutdown()
    }

    /// Sends one turn to Lex.
    ///
    /// - `logger`: the request's lines (retries, the failure) at debug level, with the
    ///   logger's metadata (for example the call id). The caller writes the operator's line.
    /// - `onResponseStart` gets the turn's metadata (no audio) once the 2xx response
    ///   headers are in; it is called exactly once before any `.success` completion.
    /// - `onAudio`, when given, gets the reply audio (16 kHz 16-bit LE PCM, whole samples)
    ///   chunk by chunk as it arrives; the final turn's `audio` then stays empty. Without it
    ///   the audio is collected into the final turn. A body that is not `audio/pcm`, or with
    ///   a non-2xx status, is never delivered as audio.
    /// - `onComplete` is called exactly once (with `.cancelled` after `cancel()`). Retries
    ///   (throttling, 5xx, connection failures; never once audio was handed on) happen
    ///   before it, within `configuration.requestTimeout` in total: the caller hears of a
    ///   failure once.
    ///
    /// If `cancel()` is called on `callbackQueue`, no callback other than
    /// `onComplete(.failure(.cancelled))` runs after it returns.
    @discardableResult
    public func send(
        _ request: LexRequest, credentials: AWSCredentials, callbackQueue: DispatchQueue,
        onResponseStart: @escaping @Sendable (LexTurn) -> Void = { _ in },
        onAudio: (@Sendable ([UInt8]) -> Void)? = nil,
        logger: Logger,
        onComplete: @escaping @Sendable (Result<LexTurn, LexError>) -> Void
    ) -> LexRequestHandle {
        let handle = LexRequestHandle()
        let message: HTTPRequestMessage
        do {
            message = try request.signedHTTPRequest(
                credentials: credentials, endpoints: configuration.endpoints, date: Date(),
                keyCache: configuration.signingKeyCache)
        } catch {
            _ = handle.state.markFinished()
            callbackQueue.async { onComplete(.failure(error)) }
            return handle
        }
        let secrets = [credentials.secretAccessKey] + (credentials.sessionToken.map { [$0] } ?? [])
        let exchange = LexExchange(
            http: http, configuration: configuration, message: message, api: request.api, secrets: secrets, handle: handle,
            queue: callbackQueue, logger: logger,
            deadline: HTTPClient.deadline(in: configuration.requestTimeout),
            onResponseStart: onResponseStart, onAudio: onAudio, onComplete: onComplete)
        exchange.startAttempt(notBefore: nil)
        return handle
    }

    /// Fails every request in flight with `.shutdown` and stops the thread.
    /// Called by `deinit`; safe to call more than once.
    public func shutdown() {
        http.shutdown()
    }

    /// Attempts accepted by the transport and not yet completed (in flight or waiting for
    /// their retry time).
    public var pendingRequestCount: Int { http.pendingRequestCount }
}

/// Lets the caller stop a Lex request (the caller hung up), whichever attempt is under way.
public final class LexRequestHandle: Sendable {
    public let id: UInt64
    let state = RequestState()

    private static let counter = LockedValue<UInt64>(0)

    init() {
        self.id = Self.counter.withLock { value in
            value += 1
            return value
        }
    }

    /// Stops the request. `onComplete` gets `.failure(.cancelled)` unless it already ran;
    /// no-op after completion.
    public func cancel() {
        if let attempt = state.requestCancel() { attempt?.cancel() }
    }

    /// True once `cancel()` was called before completion.
    public var isCancelled: Bool { state.isCancelled }
}
