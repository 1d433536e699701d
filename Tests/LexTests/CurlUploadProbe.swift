#if canImport(Glibc)
import Glibc
#endif
import CCurl
import CNghttp2
import Foundation

/// Debian 12's libcurl (7.88.1) driven the way a daemon must drive streaming uploads: one multi
/// handle on a thread of its own (`curl-upload`), uploads of unknown length over h2c prior
/// knowledge whose read callback returns CURL_READFUNC_PAUSE
/// when the caller has nothing yet, and `curl_easy_pause(CURLPAUSE_CONT)` after
/// `curl_multi_wakeup` when a chunk arrives. `HTTP2Benchmark` measures it against `HTTP2Client`.
final class CurlUploadProbe: @unchecked Sendable {
    final class Upload: @unchecked Sendable {
        let lock = NSLock()
        var buffer: [UInt8] = []
        var finished = false
        var paused = false
        var readCalls = 0
        var easy: UnsafeMutableRawPointer?

        func read(into pointer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
            lock.withLock {
                readCalls += 1
                if buffer.isEmpty {
                    if finished { return 0 }
                    paused = true
                    return Int(CURL_READFUNC_PAUSE)
                }
                let n = min(capacity, buffer.count)
                buffer.withUnsafeBytes { UnsafeMutableRawPointer(pointer).copyMemory(from: $0.baseAddress!, byteCount: n) }
                buffer.removeFirst(n)
                return n
            }
        }
    }

    let uploads: [Upload]
    private let multi: UnsafeMutableRawPointer
    private let url: String
    private let ended = DispatchSemaphore(value: 0)
    private let stopLock = NSLock()
    private var stopped = false

    init(url: String, streams: Int) {
        self.url = url
        uploads = (0..<streams).map { _ in Upload() }
        multi = curl_multi_init()!
        Thread { [self] in run() }.start()
    }

    func append(_ bytes: [UInt8], to index: Int) {
        uploads[index].lock.withLock { uploads[index].buffer += bytes }
    }

    /// After a round of `append`s: one wakeup for the curl thread.
    func wake() { curl_multi_wakeup(multi) }

    func finish() {
        for u in uploads { u.lock.withLock { u.finished = true } }
        curl_multi_wakeup(multi)
        _ = ended.wait(timeout: .now() + 10)
    }

    /// Abandons the uploads (a stalled one never finishes) and ends the thread.
    func abandon() {
        stopLock.withLock { stopped = true }
        curl_multi_wakeup(multi)
        _ = ended.wait(timeout: .now() + 10)
    }

    var readCalls: Int { uploads.reduce(0) { sum, u in sum + u.lock.withLock { u.readCalls } } }

    private func run() {
        lc_h2_set_thread_name("curl-upload")
        for upload in uploads {
            let easy = curl_easy_init()
            upload.easy = easy
            lc_easy_setopt_string(easy, CURLOPT_URL, url)
            lc_easy_setopt_long(easy, CURLOPT_UPLOAD, 1)
            lc_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE))
            lc_easy_setopt_read_callback(easy) { pointer, size, count, user in
                guard let pointer, let user else { return 0 }
                return Unmanaged<Upload>.fromOpaque(user).takeUnretainedValue().read(into: pointer, capacity: size * count)
            }
            lc_easy_setopt_pointer(easy, CURLOPT_READDATA, Unmanaged.passUnretained(upload).toOpaque())
            lc_easy_setopt_write_callback(easy) { _, size, count, _ in size * count }
            curl_multi_add_handle(multi, easy)
        }
        var running: Int32 = 1
        while running > 0 && !stopLock.withLock({ stopped }) {
            curl_multi_perform(multi, &running)
            for upload in uploads {
                let resume = upload.lock.withLock { () -> Bool in
                    guard upload.paused, !upload.buffer.isEmpty || upload.finished else { return false }
                    upload.paused = false
                    return true
                }
                if resume { curl_easy_pause(upload.easy, CURLPAUSE_CONT) }
            }
            curl_multi_poll(multi, nil, 0, 1000, nil)
        }
        for upload in uploads {
            curl_multi_remove_handle(multi, upload.easy)
            curl_easy_cleanup(upload.easy)
        }
        curl_multi_cleanup(multi)
        ended.signal()
    }
}
