import CCurl
import Dispatch
import Foundation
import Logging

/// One request as handed to the engine thread.
struct CurlJob: Sendable {
    enum Kind: Sendable {
        case lex(LexAPI)
        case post
    }

    let id: UInt64
    let message: HTTPRequestMessage
    let kind: Kind
    let handle: LexRequestHandle
    let queue: DispatchQueue
    /// Redacted from any error message (AWS echoes the canonical request,
    /// session token included, in some 403 messages).
    let secrets: [Secret]
    let deadline: DispatchTime
    let onResponseStart: (@Sendable (LexTurn) -> Void)?
    let onAudio: (@Sendable ([UInt8]) -> Void)?
    let onLexComplete: (@Sendable (Result<LexTurn, LexError>) -> Void)?
    let onPostComplete: (@Sendable (Result<HTTPResponse, LexError>) -> Void)?
    /// Added to the engine's log lines about this request (for example the call's id).
    var logMetadata: Logger.Metadata = [:]
}

private let curlGlobalInit: Bool = {
    curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK
}()

/// The thread that owns the curl multi handle. Everything below `inbox` is
/// touched only on that thread.
final class CurlEngine: @unchecked Sendable {
    private enum Command {
        case start(CurlJob)
        case cancel(UInt64)
    }

    private let configuration: LexClientConfiguration
    private let logger: Logger

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
    private var active: [UInt64: Transfer] = [:]
    private var waitingToRetry: [Transfer] = []

    init(configuration: LexClientConfiguration) {
        self.configuration = configuration
        self.logger = configuration.logger
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
            deliverFailure(job, .shutdown)
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

    private func deliverFailure(_ job: CurlJob, _ error: LexError) {
        let handle = job.handle
        job.queue.async {
            let cancelled = !handle.markFinished()
            let result: LexError = cancelled ? .cancelled : error
            job.onLexComplete?(.failure(result))
            job.onPostComplete?(.failure(result))
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
                case .start(let job): start(Transfer(job: job))
                case .cancel(let id): cancelTransfer(id)
                }
            }
            if stop { break }
            startDueRetries()

            var running: Int32 = 0
            curl_multi_perform(multi, &running)
            drainCompletions()
            startDueRetries()

            curl_multi_poll(multi, nil, 0, pollTimeoutMilliseconds(), nil)
        }
        // Shut down: fail what is left, then close the multi handle under the
        // lock so no wakeup can race the cleanup.
        for transfer in Array(active.values) + waitingToRetry {
            remove(transfer)
            finish(transfer, .failure(.shutdown))
        }
        waitingToRetry.removeAll()
        lock.lock()
        for command in inbox {
            if case .start(let job) = command {
                pending -= 1
                deliverFailure(job, .shutdown)
            }
        }
        inbox.removeAll()
        closed = true
        curl_multi_cleanup(multi)
        lock.unlock()
        finishedRunning.signal()
    }

    private func pollTimeoutMilliseconds() -> Int32 {
        guard let next = waitingToRetry.map(\.retryAt).min() else { return 1000 }
        let now = DispatchTime.now().uptimeNanoseconds
        if next.uptimeNanoseconds <= now { return 0 }
        return Int32(min(1000, (next.uptimeNanoseconds - now) / 1_000_000 + 1))
    }

    private func start(_ transfer: Transfer) {
        guard let multi else { return }
        let now = DispatchTime.now()
        guard now < transfer.job.deadline else {
            finish(transfer, .failure(.timeout("request deadline of \(configuration.requestTimeout) s passed before sending")))
            return
        }
        transfer.attempt += 1
        transfer.resetResponse()
        transfer.stats.attemptStartedAt = now.uptimeNanoseconds
        transfer.stats.firstBodyBytesAt = 0
        guard let easy = curl_easy_init() else {
            finish(transfer, .failure(.connection(code: Int(CURLE_FAILED_INIT.rawValue), message: "curl_easy_init failed")))
            return
        }
        transfer.easy = easy
        configure(easy, for: transfer, remainingNanoseconds: transfer.job.deadline.uptimeNanoseconds - now.uptimeNanoseconds)
        active[transfer.job.id] = transfer
        let rc = curl_multi_add_handle(multi, easy)
        if rc != CURLM_OK {
            remove(transfer)
            finish(transfer, .failure(.connection(code: Int(rc.rawValue), message: "curl_multi_add_handle failed")))
        }
    }

    private func configure(_ easy: UnsafeMutableRawPointer, for transfer: Transfer, remainingNanoseconds: UInt64) {
        let message = transfer.job.message
        lc_easy_setopt_string(easy, CURLOPT_URL, message.url)
        lc_easy_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https")
        lc_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        lc_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1)
        lc_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS))
        if message.url.hasPrefix("https") {
            // Wait for a connection that may multiplex rather than open another.
            lc_easy_setopt_long(easy, CURLOPT_PIPEWAIT, 1)
        }
        if let ca = configuration.caBundlePath {
            lc_easy_setopt_string(easy, CURLOPT_CAINFO, ca)
        }
        lc_easy_setopt_string(easy, CURLOPT_USERAGENT, configuration.userAgent)
        let remainingMs = max(1, Int(remainingNanoseconds / 1_000_000))
        lc_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, remainingMs)
        lc_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, max(1, min(remainingMs, Int(configuration.connectTimeout * 1000))))
        lc_easy_setopt_long(easy, CURLOPT_POST, 1)
        lc_easy_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(transfer.body.count))
        lc_easy_setopt_pointer(easy, CURLOPT_POSTFIELDS, transfer.body.baseAddress ?? transfer.emptyBody)

        var list: UnsafeMutablePointer<curl_slist>? = nil
        for header in message.headers {
            list = curl_slist_append(list, "\(header.name): \(header.value)")
        }
        // No `Expect: 100-continue` round trip for larger bodies.
        list = curl_slist_append(list, "Expect:")
        if !message.headers.contains(where: { $0.name.caseInsensitiveEquals("content-type") }) {
            list = curl_slist_append(list, "Content-Type:")
        }
        transfer.headerList = list
        lc_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list)

        let opaque = Unmanaged.passUnretained(transfer).toOpaque()
        lc_easy_setopt_pointer(easy, CURLOPT_PRIVATE, opaque)
        lc_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, opaque)
        lc_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, opaque)
        lc_easy_setopt_header_callback(easy) { buffer, size, count, userdata in
            guard let buffer, let userdata else { return 0 }
            let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
            let length = size * count
            let ok = transfer.engine?.headerLine(
                transfer, UnsafeRawBufferPointer(start: buffer, count: length)) ?? false
            return ok ? length : 0
        }
        lc_easy_setopt_write_callback(easy) { buffer, size, count, userdata in
            guard let buffer, let userdata else { return 0 }
            let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
            let length = size * count
            let ok = transfer.engine?.bodyChunk(
                transfer, UnsafeRawBufferPointer(start: buffer, count: length)) ?? false
            return ok ? length : 0
        }
        transfer.engine = self
    }

    // MARK: Response handling (curl callbacks, engine thread)

    /// One header line. Returns false to abort the transfer.
    fileprivate func headerLine(_ transfer: Transfer, _ bytes: UnsafeRawBufferPointer) -> Bool {
        // Strip CR LF as bytes: "\r\n" is one Character, not two.
        var end = bytes.count
        while end > 0, bytes[end - 1] == 0x0d || bytes[end - 1] == 0x0a { end -= 1 }
        let line = Substring(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[..<end]), as: UTF8.self))
        if line.hasPrefix("HTTP/") {
            // A new response block (an interim 1xx may precede the final one).
            transfer.status = 0
            transfer.responseHeaders = HTTPResponseHeaders()
            let parts = line.split(separator: " ", maxSplits: 2)
            if parts.count >= 2, let code = Int(parts[1]) { transfer.status = code }
            return true
        }
        if line.isEmpty {
            guard transfer.status >= 200, !transfer.headersComplete else { return true }
            transfer.headersComplete = true
            return responseHeadersComplete(transfer)
        }
        if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            transfer.responseHeaders.add(name, value)
        }
        return true
    }

    private func responseHeadersComplete(_ transfer: Transfer) -> Bool {
        let job = transfer.job
        let status = transfer.status
        guard case .lex(let api) = job.kind else {
            transfer.mode = .collect(limit: configuration.maxPostResponseBytes, failWhenOver: true)
            return true
        }
        guard (200..<300).contains(status) else {
            transfer.mode = .collect(limit: configuration.maxErrorBodyBytes, failWhenOver: false)
            return true
        }
        let contentType = transfer.responseHeaders["content-type"]
        guard Self.isPCM(contentType) else {
            transfer.mode = .collect(limit: configuration.maxErrorBodyBytes, failWhenOver: false)
            return true
        }
        do {
            let turn = try LexTurn.parse(api: api, status: status, headers: transfer.responseHeaders)
            transfer.turn = turn
            transfer.mode = .audio
            transfer.responseStarted = true
            if let onStart = job.onResponseStart {
                let handle = job.handle
                job.queue.async {
                    if !handle.isCancelled { onStart(turn) }
                }
            }
            return true
        } catch {
            transfer.localFailure = error
            return false
        }
    }

    static func isPCM(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let mime = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        return mime == "audio/pcm"
    }

    /// One body chunk. Returns false to abort the transfer.
    fileprivate func bodyChunk(_ transfer: Transfer, _ bytes: UnsafeRawBufferPointer) -> Bool {
        switch transfer.mode {
        case .undecided:
            return true
        case .collect(let limit, let failWhenOver):
            let room = max(0, limit - transfer.collected.count)
            if bytes.count > room && failWhenOver {
                transfer.localFailure = .unexpectedResponse(
                    status: transfer.status, contentType: transfer.responseHeaders["content-type"],
                    reason: "response larger than \(limit) bytes")
                return false
            }
            transfer.collected.append(contentsOf: bytes.prefix(room))
            transfer.discardedBytes += bytes.count - min(room, bytes.count)
            return true
        case .audio:
            transfer.audioBytes += bytes.count
            // Hand on whole 16-bit samples only; carry an odd byte over.
            var chunk = [UInt8]()
            chunk.reserveCapacity(bytes.count + 1)
            if let carry = transfer.carryByte {
                chunk.append(carry)
                transfer.carryByte = nil
            }
            chunk.append(contentsOf: bytes)
            if chunk.count % 2 == 1 { transfer.carryByte = chunk.removeLast() }
            guard !chunk.isEmpty else { return true }
            if transfer.stats.firstBodyBytesAt == 0 { transfer.stats.firstBodyBytesAt = DispatchTime.now().uptimeNanoseconds }
            let samples = chunk
            if let onAudio = transfer.job.onAudio {
                let handle = transfer.job.handle
                transfer.job.queue.async {
                    if !handle.isCancelled { onAudio(samples) }
                }
            } else {
                transfer.audio.append(contentsOf: samples)
            }
            return true
        }
    }

    // MARK: Completion, retry, cancel

    private func drainCompletions() {
        guard let multi else { return }
        var left: Int32 = 0
        while let msg = curl_multi_info_read(multi, &left) {
            guard msg.pointee.msg == CURLMSG_DONE, let easy = msg.pointee.easy_handle else { continue }
            let code = msg.pointee.data.result
            var privatePointer: UnsafeMutableRawPointer? = nil
            lc_easy_getinfo_pointer(easy, CURLINFO_PRIVATE, &privatePointer)
            guard let privatePointer else { continue }
            let transfer = Unmanaged<Transfer>.fromOpaque(privatePointer).takeUnretainedValue()
            attemptFinished(transfer, code: code)
        }
    }

    private func attemptFinished(_ transfer: Transfer, code: CURLcode) {
        guard let easy = transfer.easy else { return }
        var connects = 0
        lc_easy_getinfo_long(easy, CURLINFO_NUM_CONNECTS, &connects)
        var version = 0
        lc_easy_getinfo_long(easy, CURLINFO_HTTP_VERSION, &version)
        var firstByte: curl_off_t = 0, total: curl_off_t = 0, pretransfer: curl_off_t = 0
        lc_easy_getinfo_off(easy, CURLINFO_STARTTRANSFER_TIME_T, &firstByte)
        lc_easy_getinfo_off(easy, CURLINFO_TOTAL_TIME_T, &total)
        lc_easy_getinfo_off(easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer)
        transfer.stats.attempts = transfer.attempt
        transfer.stats.newConnections += connects
        transfer.stats.httpVersion = version == Int(CURL_HTTP_VERSION_2_0) ? 20 : version == Int(CURL_HTTP_VERSION_1_1) ? 11 : version == Int(CURL_HTTP_VERSION_1_0) ? 10 : 0
        transfer.stats.timeToFirstByte = Double(firstByte) / 1e6
        transfer.stats.totalTime = Double(total) / 1e6
        transfer.stats.timeToRequest = Double(pretransfer) / 1e6
        transfer.stats.clientThread = Self.currentThreadID
        let curlMessage = String(cString: curl_easy_strerror(code))
        remove(transfer)

        let result = outcome(transfer, code: code, curlMessage: curlMessage, connected: pretransfer > 0)
        if case .failure(let error) = result, error.isRetryable, !transfer.responseStarted,
            transfer.attempt < configuration.maxAttempts
        {
            let exponent = Double(1 << min(transfer.attempt - 1, 20))
            let cap = min(configuration.retryMaxDelay, configuration.retryBaseDelay * exponent)
            let delay = cap > 0 ? Double.random(in: 0...cap) : 0
            let at = DispatchTime.now() + .nanoseconds(LexClient.nanoseconds(delay))
            if at < transfer.job.deadline {
                logger.info("lex request retry", metadata: transfer.job.logMetadata.merging([
                    "request": "\(transfer.job.id)", "attempt": "\(transfer.attempt + 1)",
                    "delay_ms": "\(Int(delay * 1000))", "error": "\(error)",
                ]) { $1 })
                transfer.retryAt = at
                waitingToRetry.append(transfer)
                return
            }
        }
        if case .failure(let error) = result, error != .cancelled {
            logger.notice("lex request failed", metadata: transfer.job.logMetadata.merging([
                "request": "\(transfer.job.id)", "attempts": "\(transfer.attempt)", "error": "\(error)",
            ]) { $1 })
        }
        finish(transfer, result)
    }

    private enum Outcome {
        case lex(LexTurn)
        case post(HTTPResponse)
    }

    private func outcome(_ transfer: Transfer, code: CURLcode, curlMessage: String, connected: Bool) -> Result<Outcome, LexError> {
        let job = transfer.job
        if let failure = transfer.localFailure { return .failure(failure) }
        if code == CURLE_OPERATION_TIMEDOUT {
            if !connected {
                return .failure(.timeout("connect to \(Self.origin(job.message.url)) within \(configuration.connectTimeout) s"))
            }
            return .failure(.timeout("no complete reply within the \(configuration.requestTimeout) s deadline"))
        }
        if code != CURLE_OK {
            return .failure(.connection(code: Int(code.rawValue), message: curlMessage))
        }
        switch job.kind {
        case .post:
            return .success(.post(HTTPResponse(status: transfer.status, headers: transfer.responseHeaders,
                                               body: transfer.collected, transfer: transfer.stats)))
        case .lex(let api):
            let status = transfer.status
            guard (200..<300).contains(status) else {
                var error = LexError.fromResponse(status: status, headers: transfer.responseHeaders, body: transfer.collected)
                if case .service(let s, let type, let message) = error {
                    error = .service(status: s, type: type, message: Self.redact(message, job.secrets))
                }
                return .failure(error)
            }
            if var turn = transfer.turn {
                turn.audio = transfer.audio
                turn.audioByteCount = transfer.audioBytes
                turn.transfer = transfer.stats
                return .success(.lex(turn))
            }
            // 2xx without audio/pcm: fine when there is no body at all.
            let contentType = transfer.responseHeaders["content-type"]
            guard transfer.collected.isEmpty && transfer.discardedBytes == 0 else {
                return .failure(.unexpectedResponse(
                    status: status, contentType: contentType,
                    reason: "body of \(transfer.collected.count + transfer.discardedBytes) bytes is not audio/pcm"))
            }
            do {
                var turn = try LexTurn.parse(api: api, status: status, headers: transfer.responseHeaders)
                turn.transfer = transfer.stats
                if let onStart = job.onResponseStart {
                    let handle = job.handle
                    let metadata = turn
                    job.queue.async {
                        if !handle.isCancelled { onStart(metadata) }
                    }
                }
                return .success(.lex(turn))
            } catch {
                return .failure(error)
            }
        }
    }

    static var currentThreadID: UInt64 {
        #if canImport(Glibc)
        return UInt64(pthread_self())
        #else
        return UInt64(UInt(bitPattern: pthread_self()))
        #endif
    }

    static func redact(_ message: String, _ secrets: [Secret]) -> String {
        var message = message
        for secret in secrets where !secret.isEmpty {
            secret.withRevealedValue { message = message.replacingOccurrences(of: $0, with: "<redacted>") }
        }
        return message
    }

    static func origin(_ url: String) -> String {
        (try? BaseURL(url)).map(\.origin) ?? "the endpoint"
    }

    private func startDueRetries() {
        guard !waitingToRetry.isEmpty else { return }
        let now = DispatchTime.now()
        let due = waitingToRetry.filter { $0.retryAt <= now }
        guard !due.isEmpty else { return }
        waitingToRetry.removeAll { $0.retryAt <= now }
        for transfer in due { start(transfer) }
    }

    private func cancelTransfer(_ id: UInt64) {
        if let transfer = active[id] {
            remove(transfer)
            finish(transfer, .failure(.cancelled))
        } else if let index = waitingToRetry.firstIndex(where: { $0.job.id == id }) {
            let transfer = waitingToRetry.remove(at: index)
            finish(transfer, .failure(.cancelled))
        }
    }

    /// Detaches the easy handle of the current attempt (keeps the transfer).
    private func remove(_ transfer: Transfer) {
        active[transfer.job.id] = nil
        if let easy = transfer.easy {
            if let multi { curl_multi_remove_handle(multi, easy) }
            curl_easy_cleanup(easy)
            transfer.easy = nil
        }
        if let list = transfer.headerList {
            curl_slist_free_all(list)
            transfer.headerList = nil
        }
    }

    private func finish(_ transfer: Transfer, _ result: Result<Outcome, LexError>) {
        lock.lock()
        pending -= 1
        lock.unlock()
        let job = transfer.job
        let handle = job.handle
        job.queue.async {
            let cancelled = !handle.markFinished()
            switch result {
            case .success(.lex(let turn)):
                job.onLexComplete?(cancelled ? .failure(.cancelled) : .success(turn))
            case .success(.post(let response)):
                job.onPostComplete?(cancelled ? .failure(.cancelled) : .success(response))
            case .failure(let error):
                job.onLexComplete?(.failure(cancelled ? .cancelled : error))
                job.onPostComplete?(.failure(cancelled ? .cancelled : error))
            }
        }
    }
}

/// One request's state on the engine thread, across attempts.
private final class Transfer {
    enum Mode {
        case undecided
        case audio
        case collect(limit: Int, failWhenOver: Bool)
    }

    let job: CurlJob
    weak var engine: CurlEngine?
    let body: UnsafeMutableRawBufferPointer
    let emptyBody = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)
    var easy: UnsafeMutableRawPointer?
    var headerList: UnsafeMutablePointer<curl_slist>?
    var attempt = 0
    var retryAt = DispatchTime.now()
    var stats = LexTransferStats()
    /// Set once the 2xx audio response was announced: no retry after that.
    var responseStarted = false

    // Per attempt.
    var status = 0
    var responseHeaders = HTTPResponseHeaders()
    var headersComplete = false
    var mode = Mode.undecided
    var collected: [UInt8] = []
    var discardedBytes = 0
    var turn: LexTurn?
    var audio: [UInt8] = []
    var audioBytes = 0
    var carryByte: UInt8?
    var localFailure: LexError?

    init(job: CurlJob) {
        self.job = job
        body = UnsafeMutableRawBufferPointer.allocate(byteCount: job.message.body.count, alignment: 1)
        body.copyBytes(from: job.message.body)
    }

    deinit {
        body.deallocate()
        emptyBody.deallocate()
    }

    func resetResponse() {
        status = 0
        responseHeaders = HTTPResponseHeaders()
        headersComplete = false
        mode = .undecided
        collected = []
        discardedBytes = 0
        turn = nil
        audio = []
        audioBytes = 0
        carryByte = nil
        localFailure = nil
    }
}
