// libFuzzer target over the frame decoder and the connection state machine.
//
// Input layout: byte 0 picks the role and the message limit, byte 1 seeds the chunking,
// the rest is the byte stream from the peer. The stream is fed twice, whole and in
// pseudo-random chunks; both runs must produce the same actions. Every action is checked
// against RFC 6455 invariants, and delivered messages round-trip through the encoder.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebSocket(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size >= 2 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let role: WebSocketRole = bytes[0] & 0x80 == 0 ? .server : .client
    let maxMessage = [0, 1, 125, 126, 1000, 65_536, 1 << 20][Int(bytes[0] & 0x7F) % 7]
    let stream = Array(bytes[2...])

    let whole = run(stream, role: role, maxMessage: maxMessage, seed: nil)
    let chunked = run(stream, role: role, maxMessage: maxMessage, seed: bytes[1])
    guard whole == chunked else { fatalError("whole and chunked runs disagree:\n\(whole)\n\(chunked)") }

    var ended = false
    for action in whole {
        precondition(!ended, "an action after the connection ended")
        switch action {
        case .deliverText(let text):
            precondition(text.utf8.count <= maxMessage)
            roundTrip(.text, Array(text.utf8), role: role, maxMessage: maxMessage)
        case .deliverBinary(let payload):
            precondition(payload.count <= maxMessage)
            roundTrip(.binary, payload, role: role, maxMessage: maxMessage)
        case .sendPong(let payload), .pongReceived(let payload):
            precondition(payload.count <= 125)
        case .replyToClose(let code, _, let reply):
            precondition(code.map(\.isValidOnWire) ?? true)
            precondition(reply.isEmpty || reply.count == 2)
            ended = true
        case .closeCompleted:
            ended = true
        case .fail(let violation):
            precondition([1002, 1007, 1009].contains(violation.code.rawValue), "unexpected close code \(violation.code)")
            precondition(FrameEncoder.closePayload(code: violation.code, reason: violation.reason).count <= 125)
            ended = true
        }
    }
    return 0
}

func run(_ stream: [UInt8], role: WebSocketRole, maxMessage: Int, seed: UInt8?) -> [WebSocketStateMachine.Action] {
    var machine = WebSocketStateMachine(role: role, maxMessageBytes: maxMessage)
    var actions: [WebSocketStateMachine.Action] = []
    var rng = UInt32(seed ?? 0) &* 2_654_435_761 | 1
    var i = 0
    while i < stream.count {
        var n = stream.count - i
        if seed != nil {
            rng = rng &* 1_103_515_245 &+ 12_345
            n = min(n, 1 + Int((rng >> 16) % 23))
        }
        machine.receive(stream[i..<(i + n)])
        while let action = machine.nextAction() { actions.append(action) }
        i += n
    }
    if case .fail = actions.last { precondition(machine.state == .closed) }
    return actions
}

/// Encodes a message as the peer would have sent it and decodes it again.
func roundTrip(_ opcode: WebSocketOpcode, _ payload: [UInt8], role: WebSocketRole, maxMessage: Int) {
    let key: (UInt8, UInt8, UInt8, UInt8)? = role == .server ? (0x12, 0x34, 0x56, 0x78) : nil
    var decoder = FrameDecoder(role: role, maxPayload: maxMessage)
    decoder.append(FrameEncoder.frame(opcode, payload, maskKey: key))
    do {
        guard let frame = try decoder.next() else { fatalError("round trip: frame incomplete") }
        precondition(frame == WebSocketFrame(fin: true, opcode: opcode, payload: payload))
        precondition(decoder.bufferedBytes == 0)
    } catch {
        fatalError("round trip failed: \(error)")
    }
}
