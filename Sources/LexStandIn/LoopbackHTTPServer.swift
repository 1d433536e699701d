#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CoreTypes
import Foundation

/// POLLRDHUP (Linux: the peer closed its end); Glibc hides it behind _GNU_SOURCE.
#if os(Linux)
private let peerHangUp: Int16 = 0x2000
#else
private let peerHangUp: Int16 = Int16(POLLHUP)
#endif

/// One parsed HTTP/1.1 request as the stand-in received it.
struct ReceivedHTTPRequest {
    var method: String
    /// Path exactly as on the wire (percent-encoded), without the query.
    var path: String
    var query: String
    var headers: HTTPFields
    var body: [UInt8]
    var chunked: Bool

    func header(_ name: String) -> String? { headers[name] }

    /// All values of `name`, in order.
    func headerValues(_ name: String) -> [String] { headers.values(name) }
}

/// A blocking-socket HTTP/1.1 server on 127.0.0.1 with one thread per
/// connection: keep-alive, Content-Length and chunked request bodies,
/// `Expect: 100-continue`. Small on purpose: it serves tests.
final class LoopbackHTTPServer: @unchecked Sendable {
    /// Called on the connection's thread for each request; writes the reply
    /// through the connection. Returns false to close the connection.
    typealias Handler = @Sendable (ReceivedHTTPRequest, Connection) -> Bool

    final class Connection: @unchecked Sendable {
        let fd: Int32
        let number: Int
        private(set) var requestsServed = 0

        init(fd: Int32, number: Int) {
            self.fd = fd
            self.number = number
        }

        func countRequest() { requestsServed += 1 }

        /// Writes all of `bytes`; false when the peer is gone.
        @discardableResult
        func write(_ bytes: [UInt8]) -> Bool {
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }

        @discardableResult
        func write(_ text: String) -> Bool { write(Array(text.utf8)) }

        /// Writes `response` whole, `Content-Length` added last; false when the peer is gone.
        @discardableResult
        func write(_ response: HTTPResponse) -> Bool {
            var headers = response.headers
            headers.append(name: "Content-Length", value: "\(response.body.count)")
            return write(Array(Self.head(response.status, headers).utf8) + response.body)
        }

        /// The status line and `headers` (the caller says how the body is framed).
        static func head(_ status: HTTPStatus, _ headers: HTTPFields) -> String {
            var text = "HTTP/1.1 \(status.code) \(status.phrase)\r\n"
            for field in headers { text += "\(field.name): \(field.value)\r\n" }
            return text + "\r\n"
        }

        /// Waits `milliseconds` unless the peer hangs up first. Returns false
        /// when the peer closed the connection.
        func wait(milliseconds: Int) -> Bool {
            let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, milliseconds)) * 1_000_000
            while true {
                let now = DispatchTime.now().uptimeNanoseconds
                if now >= deadline { return true }
                var pfd = pollfd(fd: fd, events: peerHangUp, revents: 0)
                let rc = poll(&pfd, 1, Int32(min(UInt64(Int32.max), (deadline - now) / 1_000_000 + 1)))
                if rc < 0 && errno == EINTR { continue }
                if rc < 0 { return false }
                if rc > 0 && pfd.revents & (peerHangUp | Int16(POLLHUP | POLLERR | POLLNVAL)) != 0 { return false }
            }
        }
    }

    let port: UInt16
    private let listenFD: Int32
    private let handler: Handler
    private let lock = NSLock()
    private var open: [Int32: Connection] = [:]
    private var connectionCount = 0
    private var stopped = false
    /// `listenFD` is still open (the accept loop closes it when it ends).
    private var listening = true
    private let maxBodyBytes: Int
    /// Takes connections whose first bytes are the HTTP/2 client preface (`PRI * HTTP/2.0`,
    /// RFC 9113 §3.4), so one port serves HTTP/1.1 and h2c as Lex's runtime host serves both
    /// APIs. Runs on the connection's thread and closes the descriptor.
    private let http2Handoff: (@Sendable (Int32) -> Void)?

    /// `port` 0 lets the system choose one (`self.port` tells which).
    init(port requestedPort: UInt16 = 0, maxBodyBytes: Int = 4 << 20,
         http2Handoff: (@Sendable (Int32) -> Void)? = nil, handler: @escaping Handler) throws {
        self.handler = handler
        self.http2Handoff = http2Handoff
        self.maxBodyBytes = maxBodyBytes
        (listenFD, port) = try LoopbackListener.open(port: requestedPort)
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "lex-standin-accept"
        thread.start()
    }

    /// Closes the listener and every open connection.
    func stop() {
        lock.lock()
        guard !stopped else {
            lock.unlock()
            return
        }
        stopped = true
        // Under the lock: `serve` forgets a connection under it before closing its descriptor,
        // so every descriptor here is still this server's (a closed number may already be
        // another socket's, and shutting that down would end someone else's connection).
        if listening { shutdown(listenFD, Int32(SHUT_RDWR)) }
        for c in open.values { shutdown(c.fd, Int32(SHUT_RDWR)) }
        lock.unlock()
    }

    var openConnections: Int {
        lock.lock()
        defer { lock.unlock() }
        return open.count
    }

    private func acceptLoop() {
        while let fd = LoopbackListener.accept(listenFD) {
            lock.lock()
            if stopped {
                lock.unlock()
                close(fd)
                break
            }
            connectionCount += 1
            let connection = Connection(fd: fd, number: connectionCount)
            open[fd] = connection
            lock.unlock()
            let thread = Thread { [self] in serve(connection) }
            thread.stackSize = 512 * 1024
            thread.name = "lex-standin-conn"
            thread.start()
        }
        lock.lock()
        listening = false
        close(listenFD)
        lock.unlock()
    }

    private func serve(_ connection: Connection) {
        if let http2 = http2Handoff, Self.opensWithHTTP2Preface(connection.fd) {
            lock.lock()
            open[connection.fd] = nil
            lock.unlock()
            http2(connection.fd)  // serves and closes the descriptor
            return
        }
        var reader = Reader(fd: connection.fd, maxBodyBytes: maxBodyBytes)
        serving: while true {
            switch reader.next(continueWriter: { connection.write("HTTP/1.1 100 Continue\r\n\r\n") }) {
            case .request(let request):
                connection.countRequest()
                let keepOpen = handler(request, connection)
                if !keepOpen || request.header("connection")?.lowercased() == "close" { break serving }
            case .closed:
                break serving
            case .bad(let status, let why):
                connection.write(HTTPResponse(status: HTTPStatus(code: status, phrase: "Bad Request"),
                                              headers: [HTTPField("Content-Type", "text/plain"), HTTPField("Connection", "close")],
                                              body: Array(why.utf8)))
                break serving
            }
        }
        lock.lock()
        open[connection.fd] = nil
        lock.unlock()
        close(connection.fd)
    }

    /// Peeks (without consuming) until the first three bytes are known: `PRI` is the HTTP/2
    /// preface; no HTTP/1.1 method starts so.
    static func opensWithHTTP2Preface(_ fd: Int32) -> Bool {
        var peek = [UInt8](repeating: 0, count: 3)
        while true {
            let n = peek.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_PEEK)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            if !Array("PRI".utf8).starts(with: peek[..<n]) { return false }
            if n == 3 { return true }
            usleep(500)  // a preface split across segments: wait for the rest
        }
    }

    enum ReaderResult {
        case request(ReceivedHTTPRequest)
        case closed
        case bad(Int, String)
    }

    /// Buffered request reader over a blocking socket.
    struct Reader {
        let fd: Int32
        let maxBodyBytes: Int
        var buffer: [UInt8] = []

        init(fd: Int32, maxBodyBytes: Int) {
            self.fd = fd
            self.maxBodyBytes = maxBodyBytes
        }

        /// Reads more bytes; false on EOF or error.
        mutating func fill() -> Bool {
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                buffer.append(contentsOf: chunk[..<n])
                return true
            }
        }

        mutating func line() -> String? {
            while true {
                if let i = findCRLF() {
                    let text = String(decoding: buffer[..<i], as: UTF8.self)
                    buffer.removeSubrange(..<(i + 2))
                    return text
                }
                if buffer.count > 64 * 1024 { return nil }
                if !fill() { return nil }
            }
        }

        private func findCRLF() -> Int? {
            guard buffer.count >= 2 else { return nil }
            for i in 0..<(buffer.count - 1) where buffer[i] == 13 && buffer[i + 1] == 10 { return i }
            return nil
        }

        mutating func bytes(_ count: Int) -> [UInt8]? {
            while buffer.count < count {
                if !fill() { return nil }
            }
            let out = Array(buffer[..<count])
            buffer.removeSubrange(..<count)
            return out
        }

        mutating func next(continueWriter: () -> Void) -> ReaderResult {
            guard let requestLine = line() else { return .closed }
            if requestLine.isEmpty { return next(continueWriter: continueWriter) }
            let parts = requestLine.split(separator: " ")
            guard parts.count == 3, parts[2].hasPrefix("HTTP/1.") else { return .bad(400, "bad request line") }
            var headers = HTTPFields()
            while true {
                guard let l = line() else { return .closed }
                if l.isEmpty { break }
                guard let colon = l.firstIndex(of: ":") else { return .bad(400, "bad header line") }
                headers.append(name: String(l[..<colon]), value: l[l.index(after: colon)...].trimmingCharacters(in: .whitespaces))
                if headers.count > 200 { return .bad(431, "too many headers") }
            }
            let target = parts[1]
            let path: Substring, query: Substring
            if let q = target.firstIndex(of: "?") {
                path = target[..<q]
                query = target[target.index(after: q)...]
            } else {
                path = target
                query = ""
            }
            var request = ReceivedHTTPRequest(method: String(parts[0]), path: String(path), query: String(query),
                                              headers: headers, body: [], chunked: false)
            if request.header("expect")?.lowercased() == "100-continue" { continueWriter() }
            if request.header("transfer-encoding")?.lowercased().contains("chunked") == true {
                request.chunked = true
                while true {
                    guard let sizeLine = line() else { return .closed }
                    let hex = sizeLine.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
                    guard let size = Int(hex, radix: 16), size >= 0 else { return .bad(400, "bad chunk size") }
                    if size == 0 {
                        while let trailer = line(), !trailer.isEmpty {}
                        break
                    }
                    guard request.body.count + size <= maxBodyBytes else { return .bad(413, "body too large") }
                    guard let data = bytes(size), let end = line(), end.isEmpty else { return .closed }
                    request.body.append(contentsOf: data)
                }
            } else if let lengthText = request.header("content-length") {
                guard let length = Int(lengthText), length >= 0 else { return .bad(400, "bad content-length") }
                guard length <= maxBodyBytes else { return .bad(413, "body too large") }
                guard let data = bytes(length) else { return .closed }
                request.body = data
            }
            return .request(request)
        }
    }
}

public enum LexStandInError: Error, CustomStringConvertible {
    case socket(String, Int32)

    public var description: String {
        switch self {
        case .socket(let call, let code): return "stand-in \(call) failed: \(String(cString: strerror(code)))"
        }
    }
}
