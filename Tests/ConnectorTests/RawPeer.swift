import Foundation
import Glibc
import WebSocketServer

/// A deliberately misbehaving peer: a blocking loopback socket that sends whatever bytes a
/// test gives it and reads the server's answer. Every read has a receive timeout
/// (SO_RCVTIMEO), so a server that never answers fails the test instead of hanging it.
final class RawPeer {
    let fd: Int32
    private var buffer: [UInt8] = []
    private var decoder = FrameDecoder(role: .client, maxPayload: 1 << 20)
    private var closed = false

    init(port: Int, timeout: Double = 5, receiveBufferBytes: Int32? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket failed: errno \(errno)") }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        if var size = receiveBufferBytes {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            Glibc.close(fd)
            throw TestFailure("connect failed: errno \(e)")
        }
    }

    deinit { close() }

    func close() {
        if !closed { closed = true; Glibc.close(fd) }
    }

    /// Drops the connection with a TCP reset instead of a FIN (SO_LINGER 0).
    func reset() {
        var l = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        close()
    }

    /// Sends everything; returns false when the server has gone (EPIPE, reset, send timeout).
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            sent += n
        }
        return true
    }

    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// One read into the buffer: true for data, false for EOF or a reset. Throws on timeout.
    private func fill(_ what: String) throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { buffer += chunk[0..<n]; return true }
            if n == 0 { return false }
            let e = errno
            if e == EINTR { continue }
            if e == EAGAIN || e == EWOULDBLOCK { throw TestFailure("timed out waiting for \(what)") }
            if e == ECONNRESET { return false }
            throw TestFailure("recv failed: errno \(e)")
        }
    }

    struct Response {
        var status: Int
        /// Lower-cased names.
        var headers: [String: String]
        var body: String
    }

    /// Reads one HTTP response head and its Content-Length body. Bytes after it stay buffered.
    func readResponse() throws -> Response {
        let crlf2: [UInt8] = [13, 10, 13, 10]
        var end: Int?
        while end == nil {
            if buffer.count >= 4 { end = (0...(buffer.count - 4)).first { buffer[$0..<($0 + 4)].elementsEqual(crlf2) } }
            if end == nil, try !fill("an HTTP response") { throw TestFailure("connection closed before an HTTP response (got \(buffer.count) bytes)") }
        }
        let headEnd = end! + 4
        var lines = String(decoding: buffer[0..<end!], as: UTF8.self).components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0] == "HTTP/1.1", let status = Int(parts[1]) else { throw TestFailure("bad status line: \(statusLine)") }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { throw TestFailure("bad header line: \(line)") }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = status == 101 ? 0 : Int(headers["content-length"] ?? "0") ?? 0
        while buffer.count < headEnd + length {
            guard try fill("an HTTP body") else { throw TestFailure("connection closed inside an HTTP body") }
        }
        let body = String(decoding: buffer[headEnd..<(headEnd + length)], as: UTF8.self)
        buffer.removeFirst(headEnd + length)
        return Response(status: status, headers: headers, body: body)
    }

    /// True when the server closes its side next, with nothing more before it.
    func atEOF() throws -> Bool {
        if !buffer.isEmpty || decoder.bufferedBytes > 0 { return false }
        return try !fill("EOF")
    }

    /// Reads and discards until EOF or a reset; returns how many bytes came before it.
    @discardableResult
    func readUntilEOF() throws -> Int {
        var total = buffer.count + decoder.bufferedBytes
        buffer.removeAll()
        while try fill("EOF") {
            total += buffer.count
            buffer.removeAll()
        }
        return total
    }

    /// The next frame the server sends; nil at EOF.
    func readFrame() throws -> WebSocketFrame? {
        while true {
            if !buffer.isEmpty {
                decoder.append(buffer)
                buffer.removeAll()
            }
            if let frame = try decoder.next() { return frame }
            guard try fill("a frame") else { return nil }
        }
    }

    /// What the server did when it ended a WebSocket: the text messages it sent first, the
    /// code and reason of its close frame (nil when none came) and whether EOF followed.
    struct Ending {
        var texts: [String] = []
        var code: UInt16?
        var reason = ""
        var eof = false
    }

    /// Reads until the server's close frame, then expects EOF. With `answer`, echoes the close
    /// code as a well-behaved client does (a server that starts a close handshake waits for
    /// that, up to its close timeout); without, the server must close by itself at once (after
    /// a protocol violation it does not wait for the peer).
    func readEnding(answer: Bool = false) throws -> Ending {
        var e = Ending()
        while let frame = try readFrame() {
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

    // MARK: - Requests

    static let key = "dGhlIHNhbXBsZSBub25jZQ=="

    /// An upgrade request head; `drop` removes header lines by name, `extra` adds lines.
    static func upgradeRequest(path: String, method: String = "GET", version: String = "HTTP/1.1",
                               drop: Set<String> = [], extra: [String] = []) -> String {
        let lines = [("Host", "127.0.0.1"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
                     ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13")]
            .filter { !drop.contains($0.0) }.map { "\($0.0): \($0.1)" } + extra
        return "\(method) \(path) \(version)\r\n" + lines.map { $0 + "\r\n" }.joined() + "\r\n"
    }

    /// Upgrades; throws unless the answer is 101 with the right accept value.
    func upgrade(path: String, trailing: [UInt8] = []) throws {
        send(Array(Self.upgradeRequest(path: path).utf8) + trailing)
        let r = try readResponse()
        guard r.status == 101, r.headers["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" else {
            throw TestFailure("upgrade answered \(r.status) \(r.body)")
        }
    }

    /// Upgrades, sends a valid start message and waits for the server's `ok`.
    func startCall(path: String) throws {
        try upgrade(path: path)
        sendFrame(.text, Array(Self.startMessage.utf8))
        guard let f = try readFrame(), f.opcode == .text, f.payload == Array("ok".utf8) else {
            throw TestFailure("the start message was not answered with ok")
        }
    }

    /// A start message the connector accepts (the stand-in is never asked: no speech follows).
    static let startMessage = #"{"event":"websocket:connected","content-type":"audio/l16;rate=16000","aws_key":"AKIDEXAMPLE","aws_secret":"x"}"#

    /// A correctly masked frame.
    @discardableResult
    func sendFrame(_ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true) -> Bool {
        send(FrameEncoder.frame(opcode, payload, fin: fin, maskKey: Self.mask))
    }

    static let mask: (UInt8, UInt8, UInt8, UInt8) = (0x37, 0xFA, 0x21, 0x3D)

    /// A frame header written by hand, so any bit may be wrong: the first byte as given, then
    /// the mask bit (unless `masked` is false), the length in the form `lengthForm` asks
    /// (7, 16 or 64 bits; the smallest that fits when nil), the mask key, and the masked payload.
    static func handmadeFrame(firstByte: UInt8, payload: [UInt8], masked: Bool = true,
                              declaredLength: UInt64? = nil, lengthForm: Int? = nil) -> [UInt8] {
        let length = declaredLength ?? UInt64(payload.count)
        let form = lengthForm ?? (length < 126 ? 7 : length <= 0xFFFF ? 16 : 64)
        let maskBit: UInt8 = masked ? 0x80 : 0
        var out: [UInt8] = [firstByte]
        switch form {
        case 7: out.append(maskBit | UInt8(length))
        case 16: out += [maskBit | 126, UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
        default:
            out.append(maskBit | 127)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(length >> UInt64(shift) & 0xFF)) }
        }
        if masked {
            out += [mask.0, mask.1, mask.2, mask.3]
            var p = payload
            FrameDecoder.applyMask(mask, to: &p)
            out += p
        } else {
            out += payload
        }
        return out
    }
}
