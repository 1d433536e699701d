#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Lex
import LexStandIn

/// Records one client stream's events (on its queue) and lets a test wait for the end, bounded.
final class StreamRecorder: @unchecked Sendable {
    let queue = DispatchQueue(label: "http2-test-stream")
    private let lock = NSLock()
    private let ended = DispatchSemaphore(value: 0)
    private let writable = DispatchSemaphore(value: 0)
    private(set) var status = 0
    private(set) var headers: HTTPFields = []
    private(set) var body: [UInt8] = []
    private(set) var trailers: HTTPFields = []
    private(set) var end: HTTP2Error??
    private(set) var events: [String] = []

    var handlers: HTTP2StreamHandlers {
        HTTP2StreamHandlers(
            onResponse: { status, headers in
                self.lock.withLock { self.status = status; self.headers = headers; self.events.append("response") }
            },
            onData: { bytes in self.lock.withLock { self.body += bytes } },
            onTrailers: { t in self.lock.withLock { self.trailers = t; self.events.append("trailers") } },
            onWritable: { self.writable.signal() },
            onEnd: { error in
                self.lock.withLock { self.end = .some(error); self.events.append("end") }
                self.ended.signal()
            })
    }

    /// Waits (at most `seconds`) for onEnd; returns its error, or nil-nil when it never came.
    func waitEnd(seconds: Double = 30) -> HTTP2Error?? {
        guard ended.wait(timeout: .now() + seconds) == .success else { return nil }
        return lock.withLock { end }
    }

    /// Sends `bytes`, waiting for onWritable (bounded) while the send buffer is full.
    func send(_ stream: HTTP2Stream, _ bytes: [UInt8]) throws {
        while true {
            do {
                try stream.send(bytes)
                return
            } catch .sendBufferFull {
                guard writable.wait(timeout: .now() + 10) == .success else { throw HTTP2Error.timeout(.responseHeaders) }
            }
        }
    }

    var received: (status: Int, headers: HTTPFields, body: [UInt8], trailers: HTTPFields, events: [String]) {
        lock.withLock { (status, headers, body, trailers, events) }
    }
}

/// A self-signed certificate for `localhost` and 127.0.0.1, made at test time with the openssl CLI.
struct TestCertificate {
    let directory: String
    var certificatePath: String { directory + "/cert.pem" }
    var keyPath: String { directory + "/key.pem" }

    static let shared = make(name: "localhost", subjectAltName: "DNS:localhost,IP:127.0.0.1")
    /// For a host the tests never connect to: hostname verification must refuse it.
    static let otherHost = make(name: "lex.example", subjectAltName: "DNS:lex.example")

    static func make(name: String, subjectAltName: String) -> TestCertificate {
        let dir = NSTemporaryDirectory() + "lexconnector-h2-\(getpid())-\(name)"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                       "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem", "-days", "1", "-subj", "/CN=" + name,
                       "-addext", "subjectAltName=" + subjectAltName]
        p.standardError = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        try? p.run()
        p.waitUntilExit()
        return TestCertificate(directory: dir)
    }
}

/// Accepts TCP connections and reads whatever comes, writing nothing but `greeting` (default
/// none): a peer that never answers, or one that answers garbage.
final class SilentPeer: @unchecked Sendable {
    let port: UInt16
    private let fd: Int32

    init(greeting: [UInt8] = []) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        listen(fd, 16)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        port = UInt16(bigEndian: address.sin_port)
        let listener = fd
        Thread {
            while true {
                let c = accept(listener, nil, nil)
                if c < 0 { return }
                Thread {
                    if !greeting.isEmpty { _ = send(c, greeting, greeting.count, Int32(MSG_NOSIGNAL)) }
                    var buffer = [UInt8](repeating: 0, count: 4096)
                    while recv(c, &buffer, buffer.count, 0) > 0 {}
                    close(c)
                }.start()
            }
        }.start()
    }

    func stop() { shutdown(fd, Int32(SHUT_RDWR)) }
}

/// 320-byte chunk `i`: its index and a running pattern, so order and content are both checked.
func audioChunk(_ i: Int) -> [UInt8] {
    (0..<320).map { UInt8(truncatingIfNeeded: i &* 31 &+ $0 &* 7 &+ (i >> 8)) }
}

/// Polls `condition` until true or `seconds` pass; true if it became true.
func eventually(seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(1000)
    }
    return condition()
}

/// A new TCP socket (close-on-exec) connected to 127.0.0.1:`port`; nil when the socket or the
/// connect fails. The caller closes it.
func connectToLoopback(port: UInt16) -> Int32? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return nil }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else {
        close(fd)
        return nil
    }
    return fd
}
