import Testing
@testable import WebSocketProtocol

/// A client frame (masked).
func cf(_ op: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true) -> [UInt8] {
    FrameEncoder.frame(op, payload, fin: fin, maskKey: testMask)
}

func cf(_ op: WebSocketOpcode, _ text: String, fin: Bool = true) -> [UInt8] { cf(op, Array(text.utf8), fin: fin) }

func closePayload(_ code: UInt16, _ reason: [UInt8] = []) -> [UInt8] { [UInt8(code >> 8), UInt8(code & 0xFF)] + reason }

/// Feeds `bytes` to the machine (in `chunk`-byte pieces) and collects every action.
func actions(_ machine: inout WebSocketStateMachine, _ bytes: [UInt8], chunk: Int? = nil) -> [WebSocketStateMachine.Action] {
    var out: [WebSocketStateMachine.Action] = []
    let step = chunk ?? max(1, bytes.count)
    var i = 0
    while i < bytes.count {
        let end = min(i + step, bytes.count)
        machine.receive(bytes[i..<end])
        while let a = machine.nextAction() { out.append(a) }
        i = end
    }
    return out
}

func actions(_ bytes: [UInt8], max: Int = 1 << 20, chunk: Int? = nil) -> [WebSocketStateMachine.Action] {
    var m = WebSocketStateMachine(maxMessageBytes: max)
    return actions(&m, bytes, chunk: chunk)
}

func failCode(_ a: [WebSocketStateMachine.Action]) -> UInt16? {
    if case .fail(let v) = a.last { return v.code.rawValue }
    return nil
}

@Suite("WebSocket state machine")
struct StateMachineTests {
    @Test func deliversTextAndBinary() {
        let a = actions(cf(.text, "héllo") + cf(.binary, [0, 1, 255]))
        #expect(a == [.deliverText("héllo"), .deliverBinary([0, 1, 255])])
    }

    @Test func reassemblesFragments() {
        let wire = cf(.text, "Hel", fin: false) + cf(.continuation, "lo, ", fin: false) + cf(.continuation, "wörld")
            + cf(.binary, [1], fin: false) + cf(.continuation, [2, 3])
        let expected: [WebSocketStateMachine.Action] = [.deliverText("Hello, wörld"), .deliverBinary([1, 2, 3])]
        #expect(actions(wire) == expected)
        #expect(actions(wire, chunk: 1) == expected)
    }

    @Test func controlFramesInsideAFragmentedMessage() {
        let wire = cf(.text, "a", fin: false) + cf(.ping, [7, 8]) + cf(.pong, [9]) + cf(.continuation, "b")
        #expect(actions(wire) == [.sendPong([7, 8]), .pongReceived([9]), .deliverText("ab")])
    }

    @Test func emptyFragmentsAndMessages() {
        #expect(actions(cf(.text, "", fin: false) + cf(.continuation, "", fin: false) + cf(.continuation, "")) == [.deliverText("")])
        #expect(actions(cf(.binary, [])) == [.deliverBinary([])])
    }

    @Test func continuationWithoutStartIs1002() {
        #expect(failCode(actions(cf(.continuation, "x"))) == 1002)
        #expect(failCode(actions(cf(.continuation, "x", fin: false))) == 1002)
        // After a complete message, too.
        #expect(failCode(actions(cf(.text, "a") + cf(.continuation, "b"))) == 1002)
    }

    @Test func dataFrameInsideAFragmentedMessageIs1002() {
        #expect(failCode(actions(cf(.text, "a", fin: false) + cf(.text, "b"))) == 1002)
        #expect(failCode(actions(cf(.binary, [1], fin: false) + cf(.binary, [2], fin: false))) == 1002)
        #expect(failCode(actions(cf(.text, "a", fin: false) + cf(.binary, [2]))) == 1002)
    }

    @Test func invalidUTF8InASingleFrameIs1007() {
        #expect(failCode(actions(cf(.text, [0xC0, 0x80]))) == 1007)        // overlong
        #expect(failCode(actions(cf(.text, [0xED, 0xA0, 0x80]))) == 1007)  // surrogate
        #expect(failCode(actions(cf(.text, [0xF4, 0x90, 0x80, 0x80]))) == 1007)  // > U+10FFFF
        #expect(failCode(actions(cf(.text, [0x61, 0xFF]))) == 1007)
    }

    @Test func invalidUTF8FailsOnTheFirstBadFragment() {
        // The bad fragment is not final: the failure must come before the message ends.
        var m = WebSocketStateMachine(maxMessageBytes: 1 << 20)
        #expect(actions(&m, cf(.text, "ok", fin: false)) == [])
        let a = actions(&m, cf(.continuation, [0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5, 0xED, 0xA0, 0x80], fin: false))
        #expect(failCode(a) == 1007)
        #expect(m.state == .closed)
        // Nothing more comes out, whatever follows.
        #expect(actions(&m, cf(.continuation, "x")) == [])
    }

    @Test func invalidUTF8FailsMidFrameWhenFedByteByByte() {
        // Fail fast also inside the first fragment.
        var m = WebSocketStateMachine(maxMessageBytes: 1 << 20)
        let a = actions(&m, cf(.text, [0x61, 0xC3, 0x28], fin: false), chunk: 1)
        #expect(failCode(a) == 1007)
    }

    @Test func sequenceSplitAcrossFragmentsIsValid() {
        // "€" = E2 82 AC split over three fragments.
        let wire = cf(.text, [0xE2], fin: false) + cf(.continuation, [0x82], fin: false) + cf(.continuation, [0xAC])
        #expect(actions(wire) == [.deliverText("€")])
    }

    @Test func truncatedSequenceAtTheEndIs1007() {
        #expect(failCode(actions(cf(.text, [0x61, 0xE2, 0x82]))) == 1007)
        #expect(failCode(actions(cf(.text, [0x61, 0xE2], fin: false) + cf(.continuation, [0x82]))) == 1007)
    }

    @Test func messageOverTheMaximumAcrossFragmentsIs1009() {
        let max = 100
        let wire = cf(.binary, [UInt8](repeating: 1, count: 60), fin: false) + cf(.continuation, [UInt8](repeating: 2, count: 41))
        #expect(failCode(actions(wire, max: max)) == 1009)
        // Exactly the maximum is delivered.
        let ok = cf(.binary, [UInt8](repeating: 1, count: 60), fin: false) + cf(.continuation, [UInt8](repeating: 2, count: 40))
        #expect(actions(ok, max: max).count == 1)
        // Fed byte by byte, the failure comes with the fragment that crosses the limit.
        var m = WebSocketStateMachine(maxMessageBytes: max)
        _ = actions(&m, cf(.text, String(repeating: "a", count: 90), fin: false), chunk: 1)
        #expect(failCode(actions(&m, cf(.continuation, String(repeating: "b", count: 11), fin: false), chunk: 1)) == 1009)
        // One frame over the maximum.
        #expect(failCode(actions(cf(.binary, [UInt8](repeating: 0, count: 101)), max: max)) == 1009)
    }

    @Test func pingIsAnsweredWithTheSamePayload() {
        #expect(actions(cf(.ping, [])) == [.sendPong([])])
        let payload = (0..<125).map { UInt8($0) }
        #expect(actions(cf(.ping, payload)) == [.sendPong(payload)])
    }

    @Test func closeWithOneBytePayloadIs1002() {
        #expect(failCode(actions(cf(.close, [0x03]))) == 1002)
    }

    @Test func closeWithoutPayloadIsAnsweredWithAnEmptyClose() {
        var m = WebSocketStateMachine(maxMessageBytes: 100)
        #expect(actions(&m, cf(.close, [])) == [.replyToClose(code: nil, reason: "", reply: [])])
        #expect(m.state == .closed)
    }

    @Test(arguments: [UInt16(0), 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535])
    func invalidCloseCodesAre1002(_ code: UInt16) {
        #expect(failCode(actions(cf(.close, closePayload(code)))) == 1002)
    }

    @Test(arguments: [UInt16(1000), 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999])
    func validCloseCodesAreEchoed(_ code: UInt16) {
        var m = WebSocketStateMachine(maxMessageBytes: 100)
        let a = actions(&m, cf(.close, closePayload(code, Array("bye ✓".utf8))))
        #expect(a == [.replyToClose(code: WebSocketCloseCode(code), reason: "bye ✓", reply: closePayload(code))])
        #expect(m.state == .closed)
    }

    @Test func invalidUTF8CloseReasonIs1007() {
        #expect(failCode(actions(cf(.close, closePayload(1000, [0xFF, 0xFE])))) == 1007)
        #expect(failCode(actions(cf(.close, closePayload(1000, [0x61, 0xE2, 0x82])))) == 1007)
    }

    @Test func dataAfterOurCloseIsDiscardedAndThePeersCloseCompletes() {
        var m = WebSocketStateMachine(maxMessageBytes: 100)
        let payload = m.initiateClose(code: .goingAway, reason: "shutting down")
        #expect(payload == closePayload(1001, Array("shutting down".utf8)))
        #expect(m.state == .closeSent)
        #expect(m.initiateClose(code: .normal, reason: "") == nil)  // only once
        let wire = cf(.text, "late") + cf(.binary, [1]) + cf(.text, "a", fin: false) + cf(.continuation, "b")
            + cf(.ping, [1]) + cf(.pong, [2]) + cf(.close, closePayload(1000, Array("ok".utf8)))
        let a = actions(&m, wire)
        #expect(a == [.pongReceived([2]), .closeCompleted(code: .normal, reason: "ok")])
        #expect(m.state == .closed)
        // Nothing after the close handshake.
        #expect(actions(&m, cf(.text, "more")) == [])
    }

    @Test func violationsStillFailAfterOurClose() {
        var m = WebSocketStateMachine(maxMessageBytes: 100)
        _ = m.initiateClose(code: .normal, reason: "")
        #expect(failCode(actions(&m, [0x81, 0x01, 0x61])) == 1002)  // unmasked
    }

    @Test func nothingIsReadAfterAFailure() {
        var m = WebSocketStateMachine(maxMessageBytes: 100)
        let a = actions(&m, [0x81, 0x00] + cf(.text, "x"))
        #expect(a.count == 1)
        #expect(failCode(a) == 1002)
        #expect(m.bufferedBytes == 0 || m.state == .closed)
        #expect(actions(&m, cf(.text, "y")) == [])
    }

    @Test func frameLevelViolationsSurfaceWithTheirCode() {
        #expect(failCode(actions(FrameEncoder.frame(.text, Array("x".utf8)))) == 1002)  // unmasked
        #expect(failCode(actions(rawHeader(b0: 0xC1, length: 0))) == 1002)  // RSV1
        #expect(failCode(actions(rawHeader(b0: 0x83, length: 0))) == 1002)  // reserved opcode
        #expect(failCode(actions(rawHeader(b0: 0x82, length: 1 << 40, lengthForm: 64), max: 1000)) == 1009)
    }
}
