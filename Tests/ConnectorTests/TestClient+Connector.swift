import WebSocketTestClient

extension TestClient {
    /// A start message the connector accepts (the stand-in is never asked: no speech follows).
    static let startMessage = #"{"event":"websocket:connected","content-type":"audio/l16;rate=16000","aws_key":"AKIDEXAMPLE","aws_secret":"x"}"#

    /// Upgrades, sends a valid start message and waits for the server's `ok`.
    func startCall(path: String) throws {
        try handshake(path: path)
        sendFrame(.text, Array(Self.startMessage.utf8))
        guard let f = try readFrameOrEOF(), f.opcode == .text, f.payload == Array("ok".utf8) else {
            throw TestFailure("the start message was not answered with ok")
        }
    }
}
