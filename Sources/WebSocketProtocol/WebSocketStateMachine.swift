/// A WebSocket connection's protocol state (RFC 6455 sections 5 and 7), pure: it takes the
/// bytes that arrived and says what to do next. It reassembles fragmented messages up to
/// `maxMessageBytes`, validates text as UTF-8 across fragments (failing on the first bad
/// byte), and runs the close handshake.
public struct WebSocketStateMachine: Sendable {
    public enum State: Sendable, Equatable {
        case open
        /// We sent a close frame and wait for the peer's.
        case closeSent
        /// The handshake is over, or the connection failed: nothing more is read.
        case closed
    }

    public enum Action: Sendable, Equatable {
        case deliverText(String)
        case deliverBinary([UInt8])
        /// Answer a ping with a pong carrying this payload.
        case sendPong([UInt8])
        case pongReceived([UInt8])
        /// The peer started the close handshake: send the close frame with `reply` as payload,
        /// then close the socket once it is written.
        case replyToClose(code: WebSocketCloseCode?, reason: String, reply: [UInt8])
        /// The peer answered our close frame: close the socket.
        case closeCompleted(code: WebSocketCloseCode?, reason: String)
        /// The peer broke the protocol: send a close frame with this code and reason, then close.
        case fail(WebSocketProtocolViolation)
    }

    public private(set) var state: State = .open
    public let maxMessageBytes: Int
    private var decoder: FrameDecoder
    private var fragments: [UInt8] = []
    private var fragmentOpcode: WebSocketOpcode?
    private var utf8 = UTF8Validator()

    public init(role: WebSocketRole = .server, maxMessageBytes: Int) {
        self.maxMessageBytes = maxMessageBytes
        decoder = FrameDecoder(role: role, maxPayload: maxMessageBytes)
    }

    /// Bytes read from the socket.
    public mutating func receive(_ bytes: UnsafeRawBufferPointer) {
        if state != .closed { decoder.append(bytes) }
    }

    public mutating func receive<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if state != .closed { decoder.append(bytes) }
    }

    /// Bytes buffered in partial frames and partial messages.
    public var bufferedBytes: Int { decoder.bufferedBytes + fragments.count }

    /// The next thing to do, or `nil` when more bytes are needed (or nothing more will be read).
    public mutating func nextAction() -> Action? {
        while state != .closed {
            let frame: WebSocketFrame
            do {
                guard let f = try decoder.next() else { return nil }
                frame = f
            } catch {
                return fail(error)
            }
            if let action = handle(frame) { return action }
        }
        return nil
    }

    /// Starts a close handshake from our side. Returns the close frame's payload to send, or
    /// `nil` when a close frame was already sent (or the connection is closed).
    public mutating func initiateClose(code: WebSocketCloseCode, reason: String) -> [UInt8]? {
        guard state == .open else { return nil }
        state = .closeSent
        return FrameEncoder.closePayload(code: code, reason: reason)
    }

    /// Marks the connection closed (socket gone).
    public mutating func markClosed() { state = .closed }

    private mutating func fail(_ violation: WebSocketProtocolViolation) -> Action {
        state = .closed
        fragments = []
        return .fail(violation)
    }

    private mutating func handle(_ frame: WebSocketFrame) -> Action? {
        switch frame.opcode {
        case .ping:
            return state == .open ? .sendPong(frame.payload) : nil
        case .pong:
            return .pongReceived(frame.payload)
        case .close:
            return handleClose(frame.payload)
        case .text, .binary:
            if fragmentOpcode != nil { return fail(.init(.protocolError, "new data frame inside a fragmented message")) }
            if frame.fin {
                return state == .open ? deliver(frame.opcode, frame.payload) : nil
            }
            fragmentOpcode = frame.opcode
            fragments = frame.payload
            utf8 = UTF8Validator()
            if frame.opcode == .text && !utf8.consume(frame.payload) { return fail(.init(.invalidPayload, "invalid UTF-8 in text message")) }
            return nil
        case .continuation:
            guard let opcode = fragmentOpcode else { return fail(.init(.protocolError, "continuation frame without a message to continue")) }
            if fragments.count + frame.payload.count > maxMessageBytes {
                return fail(.init(.messageTooBig, "message exceeds the limit of \(maxMessageBytes) bytes"))
            }
            if opcode == .text && !utf8.consume(frame.payload) { return fail(.init(.invalidPayload, "invalid UTF-8 in text message")) }
            fragments += frame.payload
            guard frame.fin else { return nil }
            let message = fragments
            fragments = []
            fragmentOpcode = nil
            if opcode == .text && !utf8.isAtBoundary { return fail(.init(.invalidPayload, "text message ends inside a UTF-8 sequence")) }
            return state == .open ? deliver(opcode, message, validated: true) : nil
        }
    }

    private mutating func deliver(_ opcode: WebSocketOpcode, _ payload: [UInt8], validated: Bool = false) -> Action {
        if opcode == .binary { return .deliverBinary(payload) }
        if !validated && !UTF8Validator.isValid(payload) { return fail(.init(.invalidPayload, "invalid UTF-8 in text message")) }
        return .deliverText(String(decoding: payload, as: UTF8.self))
    }

    private mutating func handleClose(_ payload: [UInt8]) -> Action {
        var code: WebSocketCloseCode?
        var reason = ""
        if payload.count == 1 { return fail(.init(.protocolError, "close frame with a 1-byte payload")) }
        if payload.count >= 2 {
            let c = WebSocketCloseCode(UInt16(payload[0]) << 8 | UInt16(payload[1]))
            guard c.isValidOnWire else { return fail(.init(.protocolError, "invalid close code \(c.rawValue)")) }
            let r = payload[2...]
            guard UTF8Validator.isValid(r) else { return fail(.init(.invalidPayload, "close reason is not valid UTF-8")) }
            code = c
            reason = String(decoding: r, as: UTF8.self)
        }
        let wasOpen = state == .open
        state = .closed
        fragments = []
        if wasOpen {
            let reply = code.map { FrameEncoder.closePayload(code: $0, reason: "") } ?? []
            return .replyToClose(code: code, reason: reason, reply: reply)
        }
        return .closeCompleted(code: code, reason: reason)
    }
}
