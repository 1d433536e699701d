import Foundation
import Glibc
import WebSocketServer
import WebSocketTestClient

/// A WebSocket client that speaks like Vonage: start message, 20 ms binary frames in real
/// time, DTMF events. A reader thread records everything the server sends, with arrival times.
/// The connection, handshake and framing are the shared `TestClient`'s.
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

    private let connection: TestClient
    private let condition = NSCondition()
    private var received = Received()
    private let writeLock = NSLock()
    /// The answer to the upgrade request.
    let response: TestHTTPResponse
    var httpStatus: Int { response.status }
    let started = Date()

    /// Connects and upgrades. `httpStatus` is 101 on success; otherwise the connection is closed.
    init(port: Int, path: String, headers: [String] = []) throws {
        connection = try TestClient(port: port, timeout: 20)
        response = try connection.upgrade(path: path, extra: headers)
        if httpStatus == 101 {
            let t = Thread { [self] in readLoop() }
            t.start()
        } else {
            connection.close()
        }
    }

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
    func abort() { connection.shutdownBoth() }

    private func sendFrame(_ opcode: WebSocketOpcode, _ payload: [UInt8]) {
        let key = (UInt8.random(in: 0...255), UInt8.random(in: 0...255), UInt8.random(in: 0...255), UInt8.random(in: 0...255))
        writeLock.lock()
        connection.sendFrame(opcode, payload, maskKey: key)
        writeLock.unlock()
    }

    // MARK: Receiving

    private func readLoop() {
        var sm = WebSocketStateMachine(role: .client, maxMessageBytes: 1 << 20)
        while true {
            // A receive timeout (20 s of silence) ends the call for the test, as EOF does.
            guard let bytes = try? connection.readBytes() else {
                update { $0.eof = true }
                return
            }
            sm.receive(bytes[...])
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
