import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import WebSocketServer

enum TestClientError: Error, CustomStringConvertible {
    case timeout(String)
    case eof(String)
    case socket(String, Int32)
    case malformed(String)

    var description: String {
        switch self {
        case .timeout(let what): return "timed out waiting for \(what)"
        case .eof(let what): return "connection closed while waiting for \(what)"
        case .socket(let call, let e): return "\(call) failed: errno \(e)"
        case .malformed(let what): return "malformed response: \(what)"
        }
    }
}

struct TestHTTPResponse {
    var status: Int
    /// Lower-cased names.
    var headers: [String: String]
    var body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A small blocking client for loopback tests. Every read has a receive timeout
/// (SO_RCVTIMEO), so a test that waits for behaviour that never comes fails instead of hanging.
final class TestClient {
    let fd: Int32
    private var buffer: [UInt8] = []
    private var decoder = FrameDecoder(role: .client, maxPayload: 64 << 20)
    private var closed = false

    /// Connects to `host` (an IPv4 or IPv6 literal) on `port`.
    init(host: String = "127.0.0.1", port: Int, timeout: Double = 5, receiveBufferBytes: Int32? = nil) throws {
        let v6 = host.contains(":")
        fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestClientError.socket("socket", errno) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        if var size = receiveBufferBytes {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        let rc: Int32
        if v6 {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = UInt16(port).bigEndian
            guard inet_pton(AF_INET6, host, &a.sin6_addr) == 1 else { throw TestClientError.socket("inet_pton", 0) }
            rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = UInt16(port).bigEndian
            guard inet_pton(AF_INET, host, &a.sin_addr) == 1 else { throw TestClientError.socket("inet_pton", 0) }
            rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        guard rc == 0 else {
            let e = errno
            Glibc.close(fd)
            throw TestClientError.socket("connect", e)
        }
    }

    deinit { close() }

    func close() {
        if !closed { closed = true; Glibc.close(fd) }
    }

    /// Closes with an RST instead of a FIN (SO_LINGER 0).
    func reset() {
        var l = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        close()
    }

    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw TestClientError.socket("send", errno)
            }
            sent += n
        }
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Reads once into the buffer. Returns false on EOF; throws on timeout or error.
    @discardableResult
    private func fill(_ what: String) throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { buffer += chunk[0..<n]; return true }
            if n == 0 { return false }
            let e = errno
            if e == EINTR { continue }
            if e == EAGAIN || e == EWOULDBLOCK { throw TestClientError.timeout(what) }
            if e == ECONNRESET { return false }
            throw TestClientError.socket("recv", e)
        }
    }

    /// Reads one HTTP response (head and Content-Length body). Bytes after it stay buffered
    /// and go to the frame decoder.
    func readResponse(headOnly: Bool = false) throws -> TestHTTPResponse {
        let crlf2: [UInt8] = [13, 10, 13, 10]
        var end: Int?
        while true {
            if buffer.count >= 4 {
                end = (0...(buffer.count - 4)).first { buffer[$0..<($0 + 4)].elementsEqual(crlf2) }
                if end != nil { break }
            }
            guard try fill("an HTTP response") else { throw TestClientError.eof("an HTTP response") }
        }
        let headEnd = end! + 4
        let head = String(decoding: buffer[0..<end!], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0] == "HTTP/1.1", let status = Int(parts[1]) else { throw TestClientError.malformed(statusLine) }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { throw TestClientError.malformed(line) }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = headOnly ? 0 : Int(headers["content-length"] ?? "0") ?? 0
        while buffer.count < headEnd + length {
            guard try fill("an HTTP body") else { throw TestClientError.eof("an HTTP body") }
        }
        let body = Array(buffer[headEnd..<(headEnd + length)])
        buffer.removeFirst(headEnd + length)
        return TestHTTPResponse(status: status, headers: headers, body: body)
    }

    /// Sends an upgrade request and reads the response.
    func upgrade(path: String = "/", version: String = "13", key: String = "dGhlIHNhbXBsZSBub25jZQ==", extra: String = "", trailing: [UInt8] = []) throws -> TestHTTPResponse {
        try send(Array("GET \(path) HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: \(version)\r\n\(extra)\r\n".utf8) + trailing)
        return try readResponse()
    }

    func get(_ path: String, method: String = "GET") throws -> TestHTTPResponse {
        try send("\(method) \(path) HTTP/1.1\r\nHost: localhost\r\n\r\n")
        return try readResponse(headOnly: method == "HEAD")
    }

    /// Sends a masked frame.
    func sendFrame(_ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true) throws {
        try send(FrameEncoder.frame(opcode, payload, fin: fin, maskKey: (0xA1, 0xB2, 0xC3, 0xD4)))
    }

    /// Reads the next frame from the server.
    func readFrame() throws -> WebSocketFrame {
        while true {
            if !buffer.isEmpty {
                decoder.append(buffer)
                buffer.removeAll()
            }
            if let frame = try decoder.next() { return frame }
            guard try fill("a frame") else { throw TestClientError.eof("a frame") }
        }
    }

    /// Reads until EOF (or a reset), discarding data; returns how many bytes came before it.
    @discardableResult
    func readUntilEOF() throws -> Int {
        var total = buffer.count + decoder.bufferedBytes
        buffer.removeAll()
        while true {
            let before = buffer.count
            guard try fill("EOF") else { return total }
            total += buffer.count - before
            buffer.removeAll()
        }
    }

    /// True when the next read is EOF with nothing before it.
    func atEOF() throws -> Bool {
        if !buffer.isEmpty || decoder.bufferedBytes > 0 { return false }
        return try !fill("EOF")
    }
}

