import Foundation
#if canImport(Glibc)
import Glibc
#endif
import WebSocketProtocol

/// Why a test client gave up.
public enum TestClientError: Error, CustomStringConvertible {
    case timeout(String)
    case eof(String)
    case socket(String, Int32)
    case malformed(String)
    case refused(String)

    public var description: String {
        switch self {
        case .timeout(let what): return "timed out waiting for \(what)"
        case .eof(let what): return "connection closed while waiting for \(what)"
        case .socket(let call, let e): return "\(call) failed: errno \(e)"
        case .malformed(let what): return "malformed response: \(what)"
        case .refused(let what): return "upgrade refused: \(what)"
        }
    }
}

/// An HTTP response as the test client read it.
public struct TestHTTPResponse: Sendable {
    public var status: Int
    /// Lower-cased names.
    public var headers: [String: String]
    public var body: [UInt8]
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// The loopback WebSocket client of the tests: a blocking socket that sends whatever bytes a
/// test gives it (well-formed frames, or any bit wrong) and reads the server's HTTP responses
/// and frames. Every read has a receive timeout (SO_RCVTIMEO), so a test that waits for
/// behaviour that never comes fails instead of hanging. One thread reads; sends may come from
/// another when the caller serialises them.
public final class TestClient: @unchecked Sendable {
    public let fd: Int32
    private var buffer: [UInt8] = []
    private var decoder: FrameDecoder
    private var closed = false

    /// Connects to `host` (an IPv4 or IPv6 literal) on `port`.
    public init(host: String = "127.0.0.1", port: Int, timeout: Double = 5, receiveBufferBytes: Int32? = nil,
                maxPayload: Int = 64 << 20) throws {
        decoder = FrameDecoder(role: .client, maxPayload: maxPayload)
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
            guard inet_pton(AF_INET6, host, &a.sin6_addr) == 1 else { Glibc.close(fd); throw TestClientError.socket("inet_pton", 0) }
            rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = UInt16(port).bigEndian
            guard inet_pton(AF_INET, host, &a.sin_addr) == 1 else { Glibc.close(fd); throw TestClientError.socket("inet_pton", 0) }
            rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        guard rc == 0 else {
            let e = errno
            Glibc.close(fd)
            throw TestClientError.socket("connect", e)
        }
    }

    deinit { close() }

    public func close() {
        if !closed { closed = true; Glibc.close(fd) }
    }

    /// Closes with an RST instead of a FIN (SO_LINGER 0).
    public func reset() {
        var l = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        close()
    }

    /// Stops both directions without closing the descriptor (a peer that drops the line).
    public func shutdownBoth() { shutdown(fd, Int32(SHUT_RDWR)) }

    // MARK: Sending

    /// Sends everything; false when the server has gone (EPIPE, reset, send timeout).
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            if n == 0 { return false }
            sent += n
        }
        return true
    }

    @discardableResult
    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    public static let mask: (UInt8, UInt8, UInt8, UInt8) = (0x37, 0xFA, 0x21, 0x3D)

    /// Sends a correctly masked frame (`maskKey` defaults to `mask`).
    @discardableResult
    public func sendFrame(_ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true,
                          maskKey: (UInt8, UInt8, UInt8, UInt8) = TestClient.mask) -> Bool {
        send(FrameEncoder.frame(opcode, payload, fin: fin, maskKey: maskKey))
    }

    // MARK: Reading

    /// One read into the buffer: true for data, false for EOF or a reset. Throws on timeout.
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

    /// The bytes buffered after an HTTP response, or else one read's worth; nil at EOF or a
    /// reset. Throws on timeout. For callers that run their own decoder over the stream.
    public func readBytes() throws -> [UInt8]? {
        if buffer.isEmpty, try !fill("bytes") { return nil }
        defer { buffer.removeAll() }
        return buffer
    }

    /// Reads one HTTP response (head, and the Content-Length body unless `headOnly` or a 101).
    /// Bytes after it stay buffered and go to the frame decoder.
    public func readResponse(headOnly: Bool = false) throws -> TestHTTPResponse {
        let crlf2: [UInt8] = [13, 10, 13, 10]
        var end: Int?
        while end == nil {
            if buffer.count >= 4 { end = (0...(buffer.count - 4)).first { buffer[$0..<($0 + 4)].elementsEqual(crlf2) } }
            if end == nil, try !fill("an HTTP response") { throw TestClientError.eof("an HTTP response (got \(buffer.count) bytes)") }
        }
        let headEnd = end! + 4
        var lines = String(decoding: buffer[0..<end!], as: UTF8.self).components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0] == "HTTP/1.1", let status = Int(parts[1]) else { throw TestClientError.malformed(statusLine) }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { throw TestClientError.malformed(line) }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = headOnly || status == 101 ? 0 : Int(headers["content-length"] ?? "0") ?? 0
        while buffer.count < headEnd + length {
            guard try fill("an HTTP body") else { throw TestClientError.eof("an HTTP body") }
        }
        let body = Array(buffer[headEnd..<(headEnd + length)])
        buffer.removeFirst(headEnd + length)
        return TestHTTPResponse(status: status, headers: headers, body: body)
    }

    /// The next frame from the server; nil at EOF.
    public func readFrameOrEOF() throws -> WebSocketFrame? {
        while true {
            if !buffer.isEmpty {
                decoder.append(buffer)
                buffer.removeAll()
            }
            if let frame = try decoder.next() { return frame }
            guard try fill("a frame") else { return nil }
        }
    }

    /// The next frame from the server; throws at EOF.
    public func readFrame() throws -> WebSocketFrame {
        guard let frame = try readFrameOrEOF() else { throw TestClientError.eof("a frame") }
        return frame
    }

    /// Reads and discards until EOF or a reset; returns how many bytes came before it.
    @discardableResult
    public func readUntilEOF() throws -> Int {
        var total = buffer.count + decoder.bufferedBytes
        buffer.removeAll()
        while try fill("EOF") {
            total += buffer.count
            buffer.removeAll()
        }
        return total
    }

    /// True when the server closes its side next, with nothing more before it.
    public func atEOF() throws -> Bool {
        if !buffer.isEmpty || decoder.bufferedBytes > 0 { return false }
        return try !fill("EOF")
    }

    /// What the server did when it ended a WebSocket: the text messages it sent first, the
    /// code and reason of its close frame (nil when none came) and whether EOF followed.
    public struct Ending: Sendable {
        public var texts: [String] = []
        public var code: UInt16?
        public var reason = ""
        public var eof = false
    }

    /// Reads until the server's close frame, then expects EOF. With `answer`, echoes the close
    /// code as a well-behaved client does (a server that starts a close handshake waits for
    /// that, up to its close timeout); without, the server must close by itself at once (after
    /// a protocol violation it does not wait for the peer).
    public func readEnding(answer: Bool = false) throws -> Ending {
        var e = Ending()
        while let frame = try readFrameOrEOF() {
            switch frame.opcode {
            case .text: e.texts.append(String(decoding: frame.payload, as: UTF8.self))
            case .close:
                if frame.payload.count >= 2 { e.code = UInt16(frame.payload[0]) << 8 | UInt16(frame.payload[1]) }
                e.reason = String(decoding: frame.payload.dropFirst(2), as: UTF8.self)
                if answer { sendFrame(.close, Array(frame.payload.prefix(2))) }
                e.eof = try atEOF()
                return e
            default: continue
            }
        }
        e.eof = true
        return e
    }
}
