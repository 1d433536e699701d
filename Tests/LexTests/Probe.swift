import Dispatch
import Foundation
import Lex
import Logging

/// Records what a `LexClient` request delivers, in order, on its own serial
/// queue, and lets a test await the completion (with a timeout, no sleeping).
final class Probe: @unchecked Sendable {
    enum Event: Equatable {
        case start
        case audio(Int)
        case complete
    }

    let queue = DispatchQueue(label: "lex.tests.probe")
    private let lock = NSLock()
    private var _events: [Event] = []
    private var _starts: [LexTurn] = []
    private var _audio: [[UInt8]] = []
    private var _result: Result<LexTurn, LexError>?
    private var _completions = 0
    private var waiters: [UInt64: CheckedContinuation<Result<LexTurn, LexError>?, Never>] = [:]
    private var audioWaiters: [UInt64: CheckedContinuation<Bool, Never>] = [:]
    private var nextWaiter: UInt64 = 0

    var events: [Event] { locked { _events } }
    var starts: [LexTurn] { locked { _starts } }
    var audioChunks: [[UInt8]] { locked { _audio } }
    var audio: [UInt8] { locked { _audio.flatMap { $0 } } }
    var completions: Int { locked { _completions } }
    var currentResult: Result<LexTurn, LexError>? { locked { _result } }

    private func locked<R>(_ body: () -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    @discardableResult
    func send(_ client: LexClient, _ request: LexRequest, _ credentials: AWSCredentials, streaming: Bool = true,
              logMetadata: Logger.Metadata = [:]) -> LexRequestHandle {
        let onAudio: @Sendable ([UInt8]) -> Void = { [self] chunk in
            dispatchPrecondition(condition: .onQueue(queue))
            let waiting: [CheckedContinuation<Bool, Never>] = locked {
                _audio.append(chunk)
                _events.append(.audio(chunk.count))
                let w = Array(audioWaiters.values)
                audioWaiters.removeAll()
                return w
            }
            for w in waiting { w.resume(returning: true) }
        }
        let onStart: @Sendable (LexTurn) -> Void = { [self] turn in
            dispatchPrecondition(condition: .onQueue(queue))
            locked {
                _starts.append(turn)
                _events.append(.start)
            }
        }
        let onComplete: @Sendable (Result<LexTurn, LexError>) -> Void = { [self] result in
            dispatchPrecondition(condition: .onQueue(queue))
            let waiting: [CheckedContinuation<Result<LexTurn, LexError>?, Never>] = locked {
                _completions += 1
                _result = result
                _events.append(.complete)
                let w = Array(waiters.values)
                waiters.removeAll()
                return w
            }
            for w in waiting { w.resume(returning: result) }
        }
        // The request's logger: the client's (the tests capture it) with the caller's metadata.
        var logger = client.configuration.logger
        for (key, value) in logMetadata { logger[metadataKey: key] = value }
        return client.send(request, credentials: credentials, callbackQueue: queue, onResponseStart: onStart,
                           onAudio: streaming ? onAudio : nil, logger: logger, onComplete: onComplete)
    }

    /// The completion, or nil after `timeout` seconds.
    func result(timeout: Double = 15) async -> Result<LexTurn, LexError>? {
        await withCheckedContinuation { continuation in
            let id: UInt64? = locked {
                if _result != nil { return nil }
                nextWaiter += 1
                waiters[nextWaiter] = continuation
                return nextWaiter
            }
            guard let id else {
                continuation.resume(returning: currentResult)
                return
            }
            queue.asyncAfter(deadline: .now() + timeout) { [self] in
                if let c = locked({ waiters.removeValue(forKey: id) }) { c.resume(returning: nil) }
            }
        }
    }

    /// True once some audio arrived; false after `timeout` seconds without.
    func firstAudio(timeout: Double = 15) async -> Bool {
        await withCheckedContinuation { continuation in
            let id: UInt64? = locked {
                if !_audio.isEmpty { return nil }
                nextWaiter += 1
                audioWaiters[nextWaiter] = continuation
                return nextWaiter
            }
            guard let id else {
                continuation.resume(returning: true)
                return
            }
            queue.asyncAfter(deadline: .now() + timeout) { [self] in
                if let c = locked({ audioWaiters.removeValue(forKey: id) }) { c.resume(returning: false) }
            }
        }
    }
}

extension Result where Success == LexTurn, Failure == LexError {
    var turn: LexTurn? {
        if case .success(let t) = self { return t }
        return nil
    }

    var error: LexError? {
        if case .failure(let e) = self { return e }
        return nil
    }
}
