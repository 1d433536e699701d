import Foundation
import Glibc
import WebSocketServer

/// A WebSocket client that speaks like Vonage: start message, 20 ms binary frames in real
/// time, DTMF events. A reader thread records everything the server sends, with arrival times.
final class VonageTestClient: @unchecked Sendable {
    struct Received {
        var texts: [String] = []
        var frames: [(bytes: Int, at: Double)] = []
        var closeCode: UInt16?
        var closeReason = ""
        var eof = false
        /// Index into `frames` at the moment each text arrived (to order texts and audio).
        var textFrameIndex: [Int] = []
    }

    private let fd: Int32
    private let condition = NSCondition()
    private var received = Received()
    private let writeLock = NSLock()
    let httpStatus: Int
    let started = Date()

    /// Connects and upgrades. `httpStatus` is 101 on success; otherwise the connection is closed.
    init(port: Int, path: String, headers: [String] = []) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { throw TestFailure("connect failed: errno \(errno)") }
        var tv = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let request = (["GET \(path) HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade",
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"] + headers)
            .joined(separator: "\r\n") + "\r\n\r\n"
        Self.writeAll(fd, Array(request.utf8))
        // Read the response head byte by byte, so no frame bytes are consumed here.
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while !head.suffix(4).elementsEqual([13, 10, 13, 10]) {
            guard read(fd, &byte, 1) == 1 else { break }
            head.append(byte)
        }
        let line = String(decoding: head, as: UTF8.self).split(separator: "\r\n").first ?? ""
        httpStatus = Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        responseHead = String(decoding: head, as: UTF8.self)
        if httpStatus == 101 {
            let t = Thread { [self] in readLoop() }
            t.start()
        }
    }

    let responseHead: String

    deinit { close(fd) }

    // MARK: Sending

    func sendText(_ text: String) { sendFrame(.text, Array(text.utf8)) }
    func sendBinary(_ bytes: [UInt8]) { sendFrame(.binary, bytes) }

    func sendStart(rate: Int, key: String = "AKIDEXAMPLE", secret: String, extra: [String: Any] = [:]) {
        // The stand-in knows the harness credentials, session token included.
        var o: [String: Any] = ["event": "websocket:connected", "content-type": "audio/l16;rate=\(rate)", "aws_key": key, "aws_secret": secret,
                                "aws_session_token": Harness.credentials.sessionToken!.withRevealedValue { $0 }]
        for (k, v) in extra { o[k] = v }
        let data = try! JSONSerialization.data(withJSONObject: o)
        sendText(String(decoding: data, as: UTF8.self))
    }

    func sendDTMF(_ digit: String) { sendText("{\"event\":\"websocket:dtmf\",\"digit\":\"\(digit)\",\"duration\":260}") }

    /// Streams PCM in real time, 20 ms frames on absolute deadlines, as Vonage does.
    func stream(_ pcm: [UInt8], rate: Int) {
        let frame = rate / 50 * 2
        let start = Date()
        var i = 0, n = 0
        while i < pcm.count {
            var chunk = Array(pcm[i..<min(i + frame, pcm.count)])
            if chunk.count < frame { chunk += [UInt8](repeating: 0, count: frame - chunk.count) }
            sendBinary(chunk)
            i += frame
            n += 1
            let due = start.addingTimeInterval(Double(n) * 0.02)
            let wait = due.timeIntervalSinceNow
            if wait > 0 { Thread.sleep(forTimeInterval: wait) }
        }
    }

    func streamSilence(milliseconds: Int, rate: Int) {
        stream([UInt8](repeating: 0, count: rate / 1000 * 2 * milliseconds), rate: rate)
    }

    func sendClose(code: UInt16 = 1000) {
        sendFrame(.close, [UInt8(code >> 8), UInt8(code & 0xFF)])
    }

    /// Drops the TCP connection without a close frame (a caller hanging up abruptly).
    func abort() { shutdown(fd, Int32(SHUT_RDWR)) }

    private func sendFrame(_ opcode: WebSocketOpcode, _ payload: [UInt8]) {
        let key = (UInt8.random(in: 0...255), UInt8.random(in: 0...255), UInt8.random(in: 0...255), UInt8.random(in: 0...255))
        let frame = FrameEncoder.frame(opcode, payload, maskKey: key)
        writeLock.lock()
        Self.writeAll(fd, frame)
        writeLock.unlock()
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            off += n
        }
    }

    // MARK: Receiving

    private func readLoop() {
        var sm = WebSocketStateMachine(role: .client, maxMessageBytes: 1 << 20)
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 {
                update { $0.eof = true }
                return
            }
            sm.receive(buf[0..<n])
            while let action = sm.nextAction() {
                let t = Date().timeIntervalSince(started)
                switch action {
                case .deliverText(let s): update { $0.texts.append(s); $0.textFrameIndex.append($0.frames.count) }
                case .deliverBinary(let b): update { $0.frames.append((b.count, t)) }
                case .replyToClose(let code, let reason, let reply):
                    sendFrame(.close, reply)
                    update { $0.closeCode = code?.rawValue ?? 1005; $0.closeReason = reason }
                case .closeCompleted(let code, let reason):
                    update { $0.closeCode = code?.rawValue ?? 1005; $0.closeReason = reason }
                case .fail(let v):
                    update { $0.closeCode = 0; $0.closeReason = "client saw violation \(v)" }
                case .sendPong, .pongReceived:
                    break
                }
            }
        }
    }

    private func update(_ body: (inout Received) -> Void) {
        condition.lock()
        body(&received)
        condition.broadcast()
        condition.unlock()
    }

    var snapshot: Received {
        condition.lock()
        defer { condition.unlock() }
        return received
    }

    /// Waits (up to `timeout` seconds) until `predicate` holds for what was received.
    @discardableResult
    func wait(timeout: Double = 10, _ predicate: (Received) -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while !predicate(received) {
            if !condition.wait(until: deadline) { return predicate(received) }
        }
        return true
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
