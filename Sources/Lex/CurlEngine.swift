import CCurl
import Dispatch
import Foundation
import Logging

/// One attempt as handed to the engine thread.
struct CurlJob: Sendable {
    let id: UInt64
    let message: HTTPRequestMessage
    let handle: HTTPRequestHandle
    let queue: DispatchQueue
    let deadline: DispatchTime
    let notBefore: DispatchTime?
    let logger: Logger
    let onHead: @Sendable (HTTPResponse) -> Void
    let onBody: @Sendable ([UInt8]) -> Void
    let onComplete: @Sendable (Result<HTTPTransferStats, HTTPClientError>) -> Void
}

private let curlGlobalInit: Bool = {
    curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK
}()

/// The thread that owns the curl multi handle. Everything below `inbox` is touched only on
/// that thread. It moves bytes: head, body chunks and completion go to the job's queue as
/// they arrive; it neither reads them nor retries.
final class CurlEngine: @unchecked Sendable {
    private enum Command {
        case start(CurlJob)
        case cancel(UInt64)
    }

    let configuration: HTTPClient.Configuration

    // Shared, under `lock`.
    private let lock = NSLock()
    private var inbox: [Command] = []
    private var stopRequested = false
    private var closed = false
    private var pending = 0
    private let finishedRunning = DispatchSemaphore(value: 0)
    private var threadStarted = false

    // Engine thread only.
    private let multi: UnsafeMutableRawPointer?
    private var active: [UInt64: CurlTransfer] = [:]
    private var waiting: [CurlTransfer] = []

    init(configuration: HTTPClient.Configuration) {
        self.configuration = configuration
        _ = curlGlobalInit
        multi = curl_multi_init()
        if let multi {
            lc_multi_setopt_long(multi, CURLMOPT_PIPELINING, Int(CURLPIPE_MULTIPLEX))
            lc_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, max(0, configuration.maxConnectionsPerHost))
            lc_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, max(1, configuration.maxIdleConnections))
        }
    }

    var pendingCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return pending
    }

    func submit(_ job: CurlJob) {
        lock.lock()
        if closed || stopRequested || multi == nil {
            lock.unlock()
            Self.deliver(job, .failure(.shutdown))
            return
        }
        pending += 1
        inbox.append(.start(job))
        if !threadStarted {
            threadStarted = true
            let thread = Thread { [self] in run() }
            thread.name = "lex-curl"
            thread.start()
        }
        curl_multi_wakeup(multi)
        lock.unlock()
    }

    func cancel(id: UInt64) {
        lock.lock()
        defer { lock.unlock() }
        guard !closed, let multi else { return }
        inbox.append(.cancel(id))
        curl_multi_wakeup(multi)
    }

    func shutdown() {
        lock.lock()
        if stopRequested {
            lock.unlock()
            return
        }
        stopRequested = true
        let running = threadStarted
        if running, let multi { curl_multi_wakeup(multi) }
        if !running {
            closed = true
            if let multi { curl_multi_cleanup(multi) }
        }
        lock.unlock()
        if running && Thread.current.name != "lex-curl" {
            finishedRunning.wait()
        }
    }

    /// The completion, on the job's queue: `.cancelled` when a cancel came first.
    private static func deliver(_ job: CurlJob, _ result: Result<HTTPTransferStats, HTTPClientError>) {
        let handle = job.handle
        job.queue.async {
            let cancelled = !handle.markFinished()
            job.onComplete(cancelled ? .failure(.cancelled) : result)
        }
    }

    // MARK: Engine thread

    private func run() {
        guard let multi else { return }
        while true {
            lock.lock()
            let commands = inbox
            inbox.removeAll(keepingCapacity: true)
            let stop = stopRequested
            lock.unlock()

            for command in commands {
                switch command {
                case .start(let job):
                    let transfer = CurlTransfer(job: job, engine: self)
                    if let at = job.notBefore, at > DispatchTime.now() { waiting.append(transfer) } else { start(transfer) }
                case .cancel(let id): cancelTransfer(id)
                }
            }
            if stop { break }
            startDue()

            var running: Int32 = 0
            curl_multi_perform(multi, &running)
            drainCompletions()
            startDue()

            curl_multi_poll(multi, nil, 0, pollTimeoutMilliseconds(), nil)
        }
        // Shut down: fail what is left, then close the multi handle under the lock so no
        // wakeup can race the cleanup.
        for transfer in Array(active.values) + waiting {
            remove(transfer)
            finish(transfer, .failure(.shutdown))
        }
        waiting.removeAll()
        lock.lock()
        for command in inbox {
            if case .start(let job) = command {
                pending -= 1
                Self.deliver(job, .failure(.shutdown))
            }
        }
        inbox.removeAll()
        closed = true
        curl_multi_cleanup(multi)
        lock.unlock()
        finishedRunning.signal()
    }

    private func pollTimeoutMilliseconds() -> Int32 {
        guard let next = waiting.compactMap(\.job.notBefore).min() else { return 1000 }
        let now = DispatchTime.now().uptimeNanoseconds
        if next.uptimeNanoseconds <= now { return 0 }
        return Int32(min(1000, (next.uptimeNanoseconds - now) / 1_000_000 + 1))
    }

    private func startDue() {
        guard !waiting.isEmpty else { return }
        let now = DispatchTime.now()
        let isDue: (CurlTransfer) -> Bool = { ($0.job.notBefore ?? now) <= now }
        let due = waiting.filter(isDue)
        guard !due.isEmpty else { return }
        waiting.removeAll(where: isDue)
        for transfer in due { start(transfer) }
    }

    private func start(_ transfer: CurlTransfer) {
        guard let multi else { return }
        let now = DispatchTime.now()
        guard now < transfer.job.deadline else {
            finish(transfer, .failure(.deadlinePassed(beforeSending: true)))
            return
        }
        transfer.stats.attemptStartedAt = Instant(nanoseconds: now.uptimeNanoseconds)
        guard let easy = curl_easy_init() else {
            finish(transfer, .failure(.transport(code: Int(CURLE_FAILED_INIT.rawValue), message: "curl_easy_init failed")))
            return
        }
        transfer.easy = easy
        transfer.configure(easy, remainingNanoseconds: transfer.job.deadline.uptimeNanoseconds - now.uptimeNanoseconds)
        active[transfer.job.id] = transfer
        let rc = curl_multi_add_handle(multi, easy)
        if rc != CURLM_OK {
            remove(transfer)
            finish(transfer, .failure(.transport(code: Int(rc.rawValue), message: "curl_multi_add_handle failed")))
        }
    }

    private func drainCompletions() {
        guard let multi else { return }
        var left: Int32 = 0
        while let msg = curl_multi_info_read(multi, &left) {
            guard msg.pointee.msg == CURLMSG_DONE, let easy = msg.pointee.easy_handle else { continue }
            let code = msg.pointee.data.result
            var privatePointer: UnsafeMutableRawPointer? = nil
            lc_easy_getinfo_pointer(easy, CURLINFO_PRIVATE, &privatePointer)
            guard let privatePointer else { continue }
            let transfer = Unmanaged<CurlTransfer>.fromOpaque(privatePointer).takeUnretainedValue()
            attemptFinished(transfer, code: code)
        }
    }

    private func attemptFinished(_ transfer: CurlTransfer, code: CURLcode) {
        guard transfer.easy != nil else { return }
        let connected = transfer.readStats()
        let message = String(cString: curl_easy_strerror(code))
        remove(transfer)
        let result: Result<HTTPTransferStats, HTTPClientError>
        if code == CURLE_OK {
            result = .success(transfer.stats)
        } else if code == CURLE_OPERATION_TIMEDOUT {
            result = .failure(connected ? .deadlinePassed(beforeSending: false)
                : .connectTimeout(origin: Self.origin(transfer.job.message.url), timeout: configuration.connectTimeout))
        } else {
            result = .failure(.transport(code: Int(code.rawValue), message: message))
        }
        if case .failure(let error) = result {
            transfer.job.logger.trace("http attempt failed", metadata: ["request": "\(transfer.job.id)", "error": "\(error)"])
        }
        finish(transfer, result)
    }

    static var currentThreadID: UInt64 {
        UInt64(pthread_self())
    }

    static func origin(_ url: String) -> String {
        (try? BaseURL(url)).map(\.origin) ?? "the endpoint"
    }

    private func cancelTransfer(_ id: UInt64) {
        if let transfer = active[id] {
            remove(transfer)
            finish(transfer, .failure(.cancelled))
        } else if let index = waiting.firstIndex(where: { $0.job.id == id }) {
            finish(waiting.remove(at: index), .failure(.cancelled))
        }
    }

    /// Detaches and frees the easy handle.
    private func remove(_ transfer: CurlTransfer) {
        active[transfer.job.id] = nil
        if let easy = transfer.easy, let multi { curl_multi_remove_handle(multi, easy) }
        transfer.release()
    }

    private func finish(_ transfer: CurlTransfer, _ result: Result<HTTPTransferStats, HTTPClientError>) {
        lock.lock()
        pending -= 1
        lock.unlock()
        Self.deliver(transfer.job, result)
    }
}
