import CCurl
import Dispatch
import Foundation

/// One attempt's state on the engine thread: the easy handle, its header list, the request
/// body libcurl reads from, and the response head being read.
final class CurlTransfer {
    let job: CurlJob
    private unowned let engine: CurlEngine
    private let body: UnsafeMutableRawBufferPointer
    private let emptyBody = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)
    var easy: UnsafeMutableRawPointer?
    private var headerList: UnsafeMutablePointer<curl_slist>?
    var stats = HTTPTransferStats()

    // The response head being read (an interim 1xx may precede the final one).
    private var status = 0
    private var headers = HTTPFields()
    private var headDelivered = false

    init(job: CurlJob, engine: CurlEngine) {
        self.job = job
        self.engine = engine
        body = UnsafeMutableRawBufferPointer.allocate(byteCount: job.message.body.count, alignment: 1)
        body.copyBytes(from: job.message.body)
    }

    deinit {
        release()
        body.deallocate()
        emptyBody.deallocate()
    }

    /// Frees the easy handle (already removed from the multi handle) and the header list.
    func release() {
        if let easy {
            curl_easy_cleanup(easy)
            self.easy = nil
        }
        if let list = headerList {
            curl_slist_free_all(list)
            headerList = nil
        }
    }

    func configure(_ easy: UnsafeMutableRawPointer, remainingNanoseconds: UInt64) {
        let message = job.message
        let configuration = engine.configuration
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
        lc_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, max(1, min(remainingMs, configuration.connectTimeout.milliseconds)))
        if message.method == "POST" {
            lc_easy_setopt_long(easy, CURLOPT_POST, 1)
        } else {
            lc_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, message.method)
        }
        lc_easy_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
        lc_easy_setopt_pointer(easy, CURLOPT_POSTFIELDS, body.baseAddress ?? emptyBody)

        var list: UnsafeMutablePointer<curl_slist>? = nil
        for header in message.headers {
            list = curl_slist_append(list, "\(header.name): \(header.value)")
        }
        // No `Expect: 100-continue` round trip for larger bodies.
        list = curl_slist_append(list, "Expect:")
        if !message.headers.contains(where: { $0.name.caseInsensitiveEquals("content-type") }) {
            list = curl_slist_append(list, "Content-Type:")
        }
        headerList = list
        lc_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list)

        let opaque = Unmanaged.passUnretained(self).toOpaque()
        lc_easy_setopt_pointer(easy, CURLOPT_PRIVATE, opaque)
        lc_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, opaque)
        lc_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, opaque)
        lc_easy_setopt_header_callback(easy) { buffer, size, count, userdata in
            guard let buffer, let userdata else { return 0 }
            let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
            let length = size * count
            transfer.headerLine(UnsafeRawBufferPointer(start: buffer, count: length))
            return length
        }
        lc_easy_setopt_write_callback(easy) { buffer, size, count, userdata in
            guard let buffer, let userdata else { return 0 }
            let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
            let length = size * count
            transfer.bodyChunk(UnsafeRawBufferPointer(start: buffer, count: length))
            return length
        }
    }

    /// Reads the figures of the finished attempt; returns whether the request got as far
    /// as being sent (a timeout before that is a connect timeout).
    func readStats() -> Bool {
        guard let easy else { return false }
        var connects = 0
        lc_easy_getinfo_long(easy, CURLINFO_NUM_CONNECTS, &connects)
        var version = 0
        lc_easy_getinfo_long(easy, CURLINFO_HTTP_VERSION, &version)
        var firstByte: curl_off_t = 0, total: curl_off_t = 0, pretransfer: curl_off_t = 0
        lc_easy_getinfo_off(easy, CURLINFO_STARTTRANSFER_TIME_T, &firstByte)
        lc_easy_getinfo_off(easy, CURLINFO_TOTAL_TIME_T, &total)
        lc_easy_getinfo_off(easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer)
        stats.attempts = 1
        stats.newConnections = connects
        stats.httpVersion = version == Int(CURL_HTTP_VERSION_2_0) ? 20 : version == Int(CURL_HTTP_VERSION_1_1) ? 11
            : version == Int(CURL_HTTP_VERSION_1_0) ? 10 : 0
        stats.timeToFirstByte = .microseconds(firstByte)
        stats.totalTime = .microseconds(total)
        stats.timeToRequest = .microseconds(pretransfer)
        stats.clientThread = CurlEngine.currentThreadID
        return pretransfer > 0
    }

    // MARK: curl callbacks (engine thread)

    /// One header line of the response.
    private func headerLine(_ bytes: UnsafeRawBufferPointer) {
        // Strip CR LF as bytes: "\r\n" is one Character, not two.
        var end = bytes.count
        while end > 0, bytes[end - 1] == 0x0d || bytes[end - 1] == 0x0a { end -= 1 }
        let line = Substring(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[..<end]), as: UTF8.self))
        if line.hasPrefix("HTTP/") {
            status = 0
            headers = HTTPFields()
            let parts = line.split(separator: " ", maxSplits: 2)
            if parts.count >= 2, let code = Int(parts[1]) { status = code }
        } else if line.isEmpty {
            guard status >= 200, !headDelivered else { return }
            headDelivered = true
            let head = HTTPResponse(status: HTTPStatus(code: status), headers: headers)
            let job = job
            job.queue.async {
                if !job.handle.isCancelled { job.onHead(head) }
            }
        } else if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers.append(name: name, value: value)
        }
    }

    /// One body chunk: copied once out of libcurl's buffer and handed on.
    private func bodyChunk(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        if stats.firstBodyBytesAt == nil { stats.firstBodyBytesAt = Instant(nanoseconds: DispatchTime.now().uptimeNanoseconds) }
        let chunk = [UInt8](bytes)
        let job = job
        job.queue.async {
            if !job.handle.isCancelled { job.onBody(chunk) }
        }
    }
}
