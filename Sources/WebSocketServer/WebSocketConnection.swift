import Glibc
import Dispatch
import Logging

/// What an application does with a WebSocket connection. Every call comes on the
/// connection's event loop; the handler is confined to it.
public protocol WebSocketHandler: AnyObject {
    func webSocketDidOpen(_ connection: WebSocketConnection)
    func webSocket(_ connection: WebSocketConnection, didReceiveText text: String)
    func webSocket(_ connection: WebSocketConnection, didReceiveBinary data: [UInt8])
    /// Called once, however the connection ended. `code` is what the peer sent (or 1006 when
    /// the socket closed without a close frame) and `byPeer` tells who started the close.
    func webSocketDidClose(_ connection: WebSocketConnection, code: WebSocketCloseCode, reason: String, byPeer: Bool)
}

/// One accepted socket: first an HTTP request, then (after a 101) a WebSocket. Lives on one
/// event loop; every method must be called there. The decisions are pure types this class
/// drives: `HTTPPhase` (the request head and the upgrade), `WebSocketStateMachine` (frames),
/// `OutputQueue` (what the socket has not taken yet); here are the system calls, the
/// application's callbacks, the counters and the log lines.
public final class WebSocketConnection: @unchecked Sendable {
    public let id: UInt64
    public let eventLoop: EventLoop
    /// `host:port` of the peer.
    public let remoteAddress: String
    /// The peer's IP without the port.
    public let remoteHost: String
    /// The upgrade request, once the handshake succeeded.
    public private(set) var request: HTTPRequest?
    public private(set) var logger: Logger

    private enum Phase {
        case http(HTTPPhase)
        /// The state machine lives in `machine`, mutated in place (an enum payload would be
        /// copied, its buffers retained, at every read).
        case webSocket
        /// Our last bytes are queued or sent; after they are written we shut down our side and
        /// read (and discard) until EOF or the close timeout.
        case finishing
        case closed
    }

    private let fd: Int32
    private unowned let server: WebSocketServer
    private var phase: Phase
    private var machine = WebSocketStateMachine(maxMessageBytes: 0)
    private var handler: WebSocketHandler?
    /// While it holds anything, the loop's epoll watches the socket for writability.
    private var output: OutputQueue
    public var queuedOutputBytes: Int { output.queuedBytes }
    private var shutdownAfterFlush = false
    private var closeNotified = false
    /// Monotonic deadline in nanoseconds (0 = none), enforced by the loop's housekeeping.
    var deadline: UInt64 = 0

    init(fd: Int32, remote: sockaddr_storage, id: UInt64, loop: EventLoop, server: WebSocketServer, logger: Logger) {
        self.fd = fd
        self.id = id
        eventLoop = loop
        self.server = server
        remoteAddress = Socket.describe(remote)
        remoteHost = Socket.hostPart(remote)
        phase = .http(HTTPPhase(limits: server.configuration.httpLimits))
        output = OutputQueue(capacityBytes: server.configuration.maxOutputQueueBytes)
        var l = logger
        l[metadataKey: "conn"] = "\(id)"
        self.logger = l
    }

    /// Adds metadata to every later log line of this connection (for example a call id).
    public func setLogMetadata(_ key: String, _ value: String) { logger[metadataKey: key] = "\(value)" }

    public var isWebSocketOpen: Bool {
        if case .webSocket = phase { return machine.state == .open }
        return false
    }

    // MARK: - Start

    func start() {
        eventLoop.assertOnLoop()
        deadline = Self.now() + UInt64(server.configuration.handshakeTimeout.wholeNanoseconds)
        guard eventLoop.add(self, fd: fd) else {
            let e = errno
            logger.warning("epoll_ctl failed; connection dropped", metadata: ["errno": "\(e)"])
            closeSocket()
            return
        }
    }

    // MARK: - Application API

    public func sendText(_ text: String) {
        var t = text
        t.withUTF8 { send(.text, UnsafeRawBufferPointer($0)) }
    }

    public func sendBinary(_ data: [UInt8]) { data.withUnsafeBytes { send(.binary, $0) } }

    public func sendBinary(_ data: UnsafeRawBufferPointer) { send(.binary, data) }

    public func sendPing(_ payload: [UInt8] = []) { payload.withUnsafeBytes { send(.ping, $0) } }

    /// Starts the close handshake: sends a close frame, then waits up to the close timeout for
    /// the peer's close frame before closing the socket.
    public func close(code: WebSocketCloseCode, reason: String) {
        eventLoop.assertOnLoop()
        switch phase {
        case .webSocket:
            guard let payload = machine.initiateClose(code: code, reason: reason) else { return }
            server.counters.withLock { $0.closesSent[code.rawValue, default: 0] += 1 }
            logger.debug("closing", metadata: ["code": "\(code.rawValue)", "reason": "\(reason)"])
            payload.withUnsafeBytes { writeFrame(.close, $0) }
            deadline = Self.now() + UInt64(server.configuration.closeTimeout.wholeNanoseconds)
            notifyClosed(code: code, reason: reason, byPeer: false)
        case .http:
            closeSocket()
        case .finishing, .closed:
            return
        }
    }

    private func send(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer) {
        eventLoop.assertOnLoop()
        guard isWebSocketOpen else { return }
        writeFrame(opcode, payload)
    }

    private func writeFrame(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer) {
        var frame = [UInt8]()
        frame.reserveCapacity(payload.count + 10)
        FrameEncoder.encode(opcode: opcode, payload: payload, into: &frame)
        write(frame)
    }

    // MARK: - Reading

    /// Reads what the socket holds. The loop's epoll is level-triggered, so one read that does
    /// not fill the buffer is enough: anything that arrives later (or that a busy peer left
    /// past `readsPerTurn` full reads) is reported again, after the loop's other work. After a
    /// hang-up (`hangUp`: EPOLLRDHUP, EPOLLHUP or EPOLLERR) it reads on to the end or the error.
    func readable(hangUp: Bool) {
        let buf = eventLoop.readBuffer
        for _ in 0..<Self.readsPerTurn {
            if case .closed = phase { return }
            let n = read(fd, buf.baseAddress, buf.count)
            if n > 0 {
                received(UnsafeRawBufferPointer(rebasing: buf[0..<n]))
                if n < buf.count && !hangUp { return }
            } else if n == 0 {
                peerClosedSocket()
                return
            } else {
                let e = errno
                if e == EAGAIN || e == EWOULDBLOCK { return }
                if e == EINTR { continue }
                logger.debug("read failed", metadata: ["errno": "\(e)"])
                peerClosedSocket()
                return
            }
        }
    }

    static let readsPerTurn = 16

    private func received(_ bytes: UnsafeRawBufferPointer) {
        switch phase {
        case .http(var http):
            let action = http.receive(bytes)
            phase = .http(http)
            perform(action)
        case .webSocket:
            machine.receive(bytes)
            drainActions()
        case .finishing, .closed:
            return
        }
    }

    private func drainActions() {
        while case .webSocket = phase {
            guard let action = machine.nextAction() else { break }
            switch action {
            case .deliverText(let text):
                handler?.webSocket(self, didReceiveText: text)
            case .deliverBinary(let data):
                handler?.webSocket(self, didReceiveBinary: data)
            case .sendPong(let payload):
                payload.withUnsafeBytes { writeFrame(.pong, $0) }
            case .pongReceived:
                break
            case .replyToClose(let code, let reason, let reply):
                logger.debug("peer closed", metadata: ["code": "\(code?.rawValue ?? 1005)", "reason": "\(reason)"])
                reply.withUnsafeBytes { writeFrame(.close, $0) }
                notifyClosed(code: code ?? .noStatus, reason: reason, byPeer: true)
                finish()
            case .closeCompleted:
                finish()
            case .fail(let violation):
                server.countViolation(.protocolViolation(violation.code), peer: remoteAddress)
                server.counters.withLock { $0.closesSent[violation.code.rawValue, default: 0] += 1 }
                logger.debug("protocol violation", metadata: ["code": "\(violation.code.rawValue)", "reason": "\(violation.reason)"])
                FrameEncoder.closePayload(code: violation.code, reason: violation.reason).withUnsafeBytes { writeFrame(.close, $0) }
                notifyClosed(code: violation.code, reason: violation.reason, byPeer: false)
                finish()
            }
        }
    }

    // MARK: - HTTP

    private func perform(_ action: HTTPPhase.Action) {
        switch action {
        case .needMoreBytes:
            return
        case .refuse(let response, let refusal):
            server.countViolation(refusal.violation, peer: remoteAddress)
            switch refusal {
            case .badRequest(let error):
                logger.debug("bad request", metadata: ["status": "\(error.status.code)", "reason": "\(error.reason)", "peer": "\(remoteAddress)"])
            case .badUpgrade(let status, let path):
                logger.debug("upgrade refused", metadata: ["status": "\(status.code)", "path": "\(path)", "peer": "\(remoteAddress)"])
            case .handshakeTimeout:
                logger.debug("handshake timeout", metadata: ["peer": "\(remoteAddress)"])
            case .requestBody:
                break
            }
            respondAndClose(response)
        case .respond(let request, let headOnly):
            let response = server.plainResponse(for: request, connection: self)
            logger.debug("http", metadata: ["method": "\(request.method)", "path": "\(request.path)", "status": "\(response.status.code)"])
            respondAndClose(response, headOnly: headOnly)
        case .upgrade(let request, let accept, let leftover):
            switch server.routeUpgrade(request, connection: self) {
            case .respond(let response):
                logger.debug("upgrade refused", metadata: ["status": "\(response.status.code)", "path": "\(request.path)", "peer": "\(remoteAddress)"])
                respondAndClose(response)
            case .upgrade(let h):
                self.request = request
                handler = h
                deadline = 0
                write(WebSocketHandshake.switchingProtocols(accept: accept).serialized())
                machine = WebSocketStateMachine(maxMessageBytes: server.configuration.maxMessageBytes)
                phase = .webSocket
                server.webSocketOpened()
                logger.debug("websocket open", metadata: ["path": "\(request.path)", "peer": "\(remoteAddress)"])
                h.webSocketDidOpen(self)
                if !leftover.isEmpty, case .webSocket = phase {
                    leftover.withUnsafeBytes { received($0) }
                }
            }
        }
    }

    private func respondAndClose(_ response: HTTPResponse, headOnly: Bool = false) {
        server.counters.withLock { $0.httpResponses[response.status.code, default: 0] += 1 }
        write(response.serialized(headOnly: headOnly))
        finish()
    }

    // MARK: - Writing

    private func write(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        switch phase {
        case .finishing, .closed: return
        default: break
        }
        var written = 0
        if output.isEmpty {
            let n = bytes.withUnsafeBytes { sendNoSignal($0) }
            if n == bytes.count { return }
            if n < 0 {
                let e = errno
                guard e == EAGAIN || e == EWOULDBLOCK || e == EINTR else {
                    logger.debug("write failed", metadata: ["errno": "\(e)"])
                    peerClosedSocket()
                    return
                }
            } else {
                written = n
            }
        }
        switch output.append(bytes, alreadyWritten: written) {
        case .queued:
            break
        case .startWatchingWritable:
            eventLoop.watchWritable(fd: fd, id: id, true)
        case .overflow:
            server.countViolation(.outputQueueOverflow, peer: remoteAddress)
            logger.debug("output queue over its cap; peer not reading", metadata: ["queued": "\(output.queuedBytes)"])
            notifyClosed(code: .abnormal, reason: "output queue overflow", byPeer: false)
            closeSocket()
        }
    }

    /// `send` that reports a vanished peer as EPIPE instead of raising SIGPIPE (which would
    /// kill the process: a client that closes while echoes are in flight must not do that).
    private func sendNoSignal(_ bytes: UnsafeRawBufferPointer) -> Int {
        Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
    }

    func writable() {
        while let n = output.withNextBytes({ sendNoSignal($0) }) {
            if n < 0 {
                let e = errno
                if e == EAGAIN || e == EWOULDBLOCK || e == EINTR { return }
                peerClosedSocket()
                return
            }
            switch output.didWrite(n) {
            case .partial:
                return
            case .wroteChunk:
                continue
            case .flushed:
                eventLoop.watchWritable(fd: fd, id: id, false)
                if shutdownAfterFlush { shutdownWrite() }
                return
            }
        }
    }

    // MARK: - Closing

    /// No more application data: once the output is written, shut down our side and wait
    /// (briefly) for the peer to close.
    private func finish() {
        if case .closed = phase { return }
        phase = .finishing
        deadline = Self.now() + UInt64(server.configuration.closeTimeout.wholeNanoseconds)
        if output.isEmpty { shutdownWrite() } else { shutdownAfterFlush = true }
    }

    private func shutdownWrite() {
        shutdownAfterFlush = false
        _ = shutdown(fd, Int32(SHUT_WR))
    }

    private func peerClosedSocket() {
        notifyClosed(code: .abnormal, reason: "connection closed without a close frame", byPeer: true)
        closeSocket()
    }

    func deadlinePassed() {
        switch phase {
        case .http:
            perform(HTTPPhase.timedOut)
        default:
            closeSocket()
        }
    }

    private func notifyClosed(code: WebSocketCloseCode, reason: String, byPeer: Bool) {
        guard !closeNotified, let h = handler else { return }
        closeNotified = true
        h.webSocketDidClose(self, code: code, reason: reason, byPeer: byPeer)
    }

    /// Closes the socket now, whatever the state.
    func closeSocket() {
        if case .closed = phase { return }
        let wasWebSocket = request != nil
        phase = .closed
        deadline = 0
        if wasWebSocket { notifyClosed(code: .abnormal, reason: "connection closed", byPeer: false) }
        handler = nil
        output.removeAll()
        eventLoop.remove(self, fd: fd)
        _ = Glibc.close(fd)
        server.connectionClosed(self, wasWebSocket: wasWebSocket)
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
}
