import Dispatch
import Foundation
import Logging

/// One Lex request across its attempts. Confined to the request's callback queue (the
/// transport delivers there); built and started by `LexClient.send`.
///
/// At each response head it decides what the body is: 2xx `audio/pcm` is the reply (the
/// turn is parsed from the headers and announced; the audio is handed on in whole samples),
/// anything else is read (up to `maxErrorBodyBytes`) as an error body. At the end of an
/// attempt it maps the outcome to a `LexTurn` or a `LexError`, and asks the retry policy
/// whether to try again while no audio was handed on.
final class LexExchange: @unchecked Sendable {
    private enum Body {
        case audio
        case read
    }

    private let http: HTTPClient
    private let configuration: LexClientConfiguration
    private let message: HTTPRequestMessage
    private let api: LexAPI
    /// Redacted from error messages (AWS echoes the canonical request, session token
    /// included, in some 403 messages).
    private let secrets: [Secret]
    private let handle: LexRequestHandle
    private let queue: DispatchQueue
    private let logger: Logger
    private let deadline: DispatchTime
    private let onResponseStart: @Sendable (LexTurn) -> Void
    private let onAudio: (@Sendable ([UInt8]) -> Void)?
    private let onComplete: @Sendable (Result<LexTurn, LexError>) -> Void

    private var attempt = 0
    private var newConnections = 0
    /// Set once a 2xx audio reply was announced: no retry after that.
    private var responseStarted = false

    // Per attempt.
    private var attemptHandle: HTTPRequestHandle?
    private var head: HTTPResponse?
    private var body = Body.read
    private var turn: LexTurn?
    private var collected: [UInt8] = []
    private var discardedBytes = 0
    private var audio: [UInt8] = []
    private var audioBytes = 0
    private var carryByte: UInt8?
    private var localFailure: LexError?

    init(http: HTTPClient, configuration: LexClientConfiguration, message: HTTPRequestMessage, api: LexAPI, secrets: [Secret], handle: LexRequestHandle,
         queue: DispatchQueue, logger: Logger, deadline: DispatchTime,
         onResponseStart: @escaping @Sendable (LexTurn) -> Void, onAudio: (@Sendable ([UInt8]) -> Void)?,
         onComplete: @escaping @Sendable (Result<LexTurn, LexError>) -> Void) {
        self.http = http
        self.configuration = configuration
        self.message = message
        self.api = api
        self.secrets = secrets
        self.handle = handle
        self.queue = queue
        self.logger = logger
        self.deadline = deadline
        self.onResponseStart = onResponseStart
        self.onAudio = onAudio
        self.onComplete = onComplete
    }

    func startAttempt(notBefore: DispatchTime?) {
        attempt += 1
        head = nil
        body = .read
        turn = nil
        collected = []
        discardedBytes = 0
        audio = []
        audioBytes = 0
        carryByte = nil
        localFailure = nil
        // The attempt's handle is in place before the attempt can call back (the first
        // attempt starts on the caller's thread, the callbacks run on `queue`).
        let h = http.makeHandle()
        attemptHandle = h
        handle.state.attach(h)
        http.submit(
            message, handle: h, deadline: deadline, notBefore: notBefore, logger: logger, callbackQueue: queue,
            onHead: { [self] head in receivedHead(head) },
            onBody: { [self] chunk in receivedBody(chunk) },
            onComplete: { [self] result in attemptCompleted(result) })
    }

    private func receivedHead(_ head: HTTPResponse) {
        self.head = head
        guard (200..<300).contains(head.status.code), Self.isPCM(head.headers["content-type"]) else { return }
        do {
            let turn = try LexTurn.parse(api: api, status: head.status.code, headers: head.headers)
            self.turn = turn
            body = .audio
            responseStarted = true
            if !handle.isCancelled { onResponseStart(turn) }
        } catch {
            // Headers that do not decode: stop reading this reply.
            localFailure = error
            attemptHandle?.cancel()
        }
    }

    private func receivedBody(_ chunk: [UInt8]) {
        switch body {
        case .read:
            let room = max(0, configuration.maxErrorBodyBytes - collected.count)
            collected.append(contentsOf: chunk.prefix(room))
            discardedBytes += chunk.count - min(room, chunk.count)
        case .audio:
            audioBytes += chunk.count
            // Hand on whole 16-bit samples only; carry an odd byte over. An even chunk with
            // nothing carried (the usual case) goes on as it is, without a copy.
            var samples = chunk
            if let carry = carryByte {
                samples.insert(carry, at: 0)
                carryByte = nil
            }
            if samples.count % 2 == 1 { carryByte = samples.removeLast() }
            guard !samples.isEmpty else { return }
            if let onAudio {
                if !handle.isCancelled { onAudio(samples) }
            } else {
                audio.append(contentsOf: samples)
            }
        }
    }

    private func attemptCompleted(_ result: Result<HTTPTransferStats, HTTPClientError>) {
        var stats: HTTPTransferStats
        let outcome: Result<LexTurn, LexError>
        switch result {
        case .success(let s):
            stats = s
            newConnections += s.newConnections
            stats.attempts = attempt
            stats.newConnections = newConnections
            outcome = localFailure.map { .failure($0) } ?? turnOrError(stats)
        case .failure(let error):
            stats = HTTPTransferStats()
            outcome = .failure(localFailure ?? lexError(error))
        }
        if case .failure(let error) = outcome, !responseStarted, !handle.isCancelled {
            let failure = RetryPolicy.Failure(
                isRetryable: error.isRetryable, status: head?.status.code, errorCode: Self.errorCode(error),
                retryAfter: head?.headers["retry-after"])
            switch HTTPClient.retryDecision(configuration.retry, attempt: attempt, failure: failure, deadline: deadline) {
            case .retry(let delay):
                logger.debug("lex request retry", metadata: [
                    "request": "\(handle.id)", "attempt": "\(attempt + 1)", "delay_ms": "\(Int(delay * 1000))", "error": "\(error)",
                ])
                startAttempt(notBefore: HTTPClient.deadline(in: .seconds(delay)))
                return
            case .giveUp(let reason):
                logger.debug("lex request failed", metadata: [
                    "request": "\(handle.id)", "attempts": "\(attempt)", "error": "\(error)", "gave_up": "\(reason)",
                ])
            }
        }
        let cancelled = !handle.state.markFinished()
        onComplete(cancelled ? .failure(.cancelled) : outcome)
    }

    /// The outcome of an attempt that received a whole response.
    private func turnOrError(_ stats: HTTPTransferStats) -> Result<LexTurn, LexError> {
        guard let head else {
            return .failure(.unexpectedResponse(status: 0, contentType: nil, reason: "no response head"))
        }
        guard (200..<300).contains(head.status.code) else {
            var error = LexError.fromResponse(status: head.status.code, headers: head.headers, body: collected)
            if case .service(let status, let type, let message) = error {
                error = .service(status: status, type: type, message: Self.redact(message, secrets))
            }
            return .failure(error)
        }
        if var turn {
            turn.audio = audio
            turn.audioByteCount = audioBytes
            turn.transfer = stats
            return .success(turn)
        }
        // 2xx without audio/pcm: fine when there is no body at all.
        let contentType = head.headers["content-type"]
        guard collected.isEmpty && discardedBytes == 0 else {
            return .failure(.unexpectedResponse(
                status: head.status.code, contentType: contentType,
                reason: "body of \(collected.count + discardedBytes) bytes is not audio/pcm"))
        }
        do {
            var turn = try LexTurn.parse(api: api, status: head.status.code, headers: head.headers)
            turn.transfer = stats
            if !handle.isCancelled { onResponseStart(turn) }
            return .success(turn)
        } catch {
            return .failure(error)
        }
    }

    private func lexError(_ error: HTTPClientError) -> LexError {
        let timeout = configuration.requestTimeout.seconds
        switch error {
        case .invalidURL(let why): return .invalidRequest(why)
        case .connectTimeout(let origin, let after): return .timeout("connect to \(origin) within \(after.seconds) s")
        case .deadlinePassed(let beforeSending):
            return .timeout(beforeSending ? "request deadline of \(timeout) s passed before sending"
                : "no complete reply within the \(timeout) s deadline")
        case .transport(let code, let message): return .connection(code: code, message: message)
        case .responseTooLarge(let limit):
            return .unexpectedResponse(status: head?.status.code ?? 0, contentType: head?.headers["content-type"],
                                       reason: "response larger than \(limit) bytes")
        case .cancelled: return .cancelled
        case .shutdown: return .shutdown
        }
    }

    private static func errorCode(_ error: LexError) -> String? {
        if case .service(_, let type, _) = error { return type }
        return nil
    }

    static func isPCM(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let mime = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        return mime == "audio/pcm"
    }

    static func redact(_ message: String, _ secrets: [Secret]) -> String {
        var message = message
        for secret in secrets where !secret.isEmpty {
            secret.withRevealedValue { message = message.replacingOccurrences(of: $0, with: "<redacted>") }
        }
        return message
    }
}
