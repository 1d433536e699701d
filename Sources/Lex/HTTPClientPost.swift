import Dispatch
import Foundation
import Logging

/// What `HTTPClient.post` got: the whole response and how it travelled.
public struct HTTPClientResponse: Sendable, Hashable {
    public var response: HTTPResponse
    /// The last attempt's figures; `attempts` counts all of them.
    public var transfer: HTTPTransferStats
}

extension HTTPClient {
    /// Posts `body` to `url` with `headers` (a webhook event) and reads the whole response.
    ///
    /// The completion, on `callbackQueue`, gets the response, 2xx or not, once no retry is
    /// left to make. Connection failures, connect timeouts, 429 and 5xx (not 501) are tried
    /// again by `retry` (its rules: `Retry-After` on 429 and 503, throttling backoff, full
    /// jitter otherwise), all within `timeout`. It fails when no response arrived
    /// (`HTTPClientError`, the last attempt's), when the URL is not usable, or when the
    /// response exceeds `maxResponseBytes`. `cancel()` on the handle stops it at any attempt.
    @discardableResult
    public func post(
        url: String, headers: HTTPFields, body: [UInt8], timeout: Duration, retry: RetryPolicy,
        maxResponseBytes: Int = 1 << 20, logger: Logger, callbackQueue: DispatchQueue,
        completion: @escaping @Sendable (Result<HTTPClientResponse, HTTPClientError>) -> Void
    ) -> PostHandle {
        let handle = PostHandle()
        do {
            _ = try BaseURL(url)
        } catch {
            _ = handle.state.markFinished()
            callbackQueue.async { completion(.failure(.invalidURL("\(error)"))) }
            return handle
        }
        let exchange = PostExchange(
            client: self, message: HTTPRequestMessage(method: "POST", url: url, headers: headers, body: body),
            retry: retry, limit: maxResponseBytes, handle: handle, queue: callbackQueue, logger: logger,
            deadline: HTTPClient.deadline(in: timeout), completion: completion)
        exchange.startAttempt(notBefore: nil)
        return handle
    }

    /// Cancels a `post` at whichever attempt is under way.
    public final class PostHandle: Sendable {
        let state = RequestState()

        init() {}

        /// The completion gets `.cancelled` unless it already ran.
        public func cancel() {
            if let attempt = state.requestCancel() { attempt?.cancel() }
        }
    }
}

/// One `post` across its attempts; confined to the callback queue.
private final class PostExchange: @unchecked Sendable {
    let client: HTTPClient
    let message: HTTPRequestMessage
    let retry: RetryPolicy
    let limit: Int
    let handle: HTTPClient.PostHandle
    let queue: DispatchQueue
    let logger: Logger
    let deadline: DispatchTime
    let completion: @Sendable (Result<HTTPClientResponse, HTTPClientError>) -> Void

    var attempt = 0
    var attemptHandle: HTTPRequestHandle?
    var head: HTTPResponse?
    var body: [UInt8] = []
    var tooLarge = false

    init(client: HTTPClient, message: HTTPRequestMessage, retry: RetryPolicy, limit: Int, handle: HTTPClient.PostHandle,
         queue: DispatchQueue, logger: Logger, deadline: DispatchTime,
         completion: @escaping @Sendable (Result<HTTPClientResponse, HTTPClientError>) -> Void) {
        self.client = client
        self.message = message
        self.retry = retry
        self.limit = limit
        self.handle = handle
        self.queue = queue
        self.logger = logger
        self.deadline = deadline
        self.completion = completion
    }

    func startAttempt(notBefore: DispatchTime?) {
        attempt += 1
        head = nil
        body = []
        tooLarge = false
        let h = client.makeHandle()
        attemptHandle = h
        handle.state.attach(h)
        client.submit(
            message, handle: h, deadline: deadline, notBefore: notBefore, logger: logger, callbackQueue: queue,
            onHead: { [self] head in self.head = head },
            onBody: { [self] chunk in
                guard !tooLarge else { return }
                if body.count + chunk.count > limit {
                    tooLarge = true
                    attemptHandle?.cancel()
                } else {
                    body += chunk
                }
            },
            onComplete: { [self] result in completed(result) })
    }

    private func completed(_ result: Result<HTTPTransferStats, HTTPClientError>) {
        var outcome: Result<HTTPClientResponse, HTTPClientError>
        switch result {
        case .success(var stats):
            stats.attempts = attempt
            outcome = head.map { head in
                var response = head
                response.body = body
                return .success(HTTPClientResponse(response: response, transfer: stats))
            }
                ?? .failure(.transport(code: 0, message: "no response head"))
        case .failure(let error):
            outcome = .failure(tooLarge ? .responseTooLarge(limit: limit) : error)
        }
        let status: Int? = if case .success(let r) = outcome { r.response.status.code } else { nil }
        let retryable: Bool = switch outcome {
        case .success(let r): r.response.status.code == 429 || (r.response.status.code >= 500 && r.response.status.code != 501)
        case .failure(let e): e.isRetryable
        }
        if retryable, !handle.state.isCancelled {
            let failure = RetryPolicy.Failure(isRetryable: true, status: status, retryAfter: head?.headers["retry-after"])
            if case .retry(let delay) = HTTPClient.retryDecision(retry, attempt: attempt, failure: failure, deadline: deadline) {
                logger.debug("http post retry", metadata: [
                    "attempt": "\(attempt + 1)", "delay_ms": "\(Int(delay * 1000))", "status": "\(status.map(String.init) ?? "none")",
                ])
                startAttempt(notBefore: HTTPClient.deadline(in: .seconds(delay)))
                return
            }
        }
        let cancelled = !handle.state.markFinished()
        completion(cancelled ? .failure(.cancelled) : outcome)
    }
}
