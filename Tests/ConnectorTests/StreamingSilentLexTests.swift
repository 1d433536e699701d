import Connector
import Foundation
import LexStandIn
import Testing

/// A Lex that answers the opening request (200, response headers) and then says nothing: no
/// heartbeat, no event for the caller's turn (its answer is scripted a minute late). The call
/// stays up and plays nothing; whichever way the caller leaves (a close frame, a dropped
/// socket) the stream to Lex is ended (a `DisconnectionEvent` and the signed end of stream, or
/// a cancel after the 2 s grace), nothing is left open, and the server takes the next call.
/// Waits are bounded.
@Suite(.serialized) struct StreamingSilentLexTests {
    static func harness() throws -> Harness {
        try StreamingCallEndToEndTests.connectorHarness(tls: false) { c in c.streaming.heartbeatIntervalSeconds = 0 }
    }

    static func path(_ session: String) -> String {
        StreamingCallEndToEndTests.path.replacingOccurrences(of: "caller-stream-1", with: session)
    }

    /// The caller's start, then a turn Lex hears and never answers.
    static func speakToASilentLex(_ h: Harness, session: String) throws -> VonageTestClient {
        let lex = h.standIn.conversations
        lex.setDefaultReply(ConversationReply(transcript: "hello", audio: .tone(milliseconds: 500)).delayed(by: 60_000))
        let client = try h.client(Self.path(session))
        client.sendStart(rate: 16000, secret: StreamingCallEndToEndTests.secret)
        #expect(client.wait { $0.texts.contains("ok") })
        client.stream(StreamingCallEndToEndTests.speech(ms: 400, rate: 16000), rate: 16000)
        client.streamSilence(milliseconds: 800, rate: 16000)
        #expect(lex.waitUntil { s in s.streams.first { $0.sessionId == session }.map { $0.audioEvents >= 50 } == true },
                "Lex heard the caller's audio")
        #expect(client.snapshot.frames.isEmpty, "nothing to play")
        #expect(client.snapshot.closeCode == nil, "the call stays up while Lex is silent")
        return client
    }

    /// The next call on this server is taken and answered.
    static func nextCallIsTaken(_ h: Harness) throws {
        let next = try h.client(Self.path("silent-next"))
        next.sendStart(rate: 8000, secret: StreamingCallEndToEndTests.secret)
        #expect(next.wait { $0.texts.contains("ok") }, "the next call is taken")
        next.sendClose()
        #expect(next.wait { $0.closeCode != nil })
    }

    @Test func theCallerClosingEndsTheStreamToASilentLex() throws {
        let h = try Self.harness()
        defer { h.stop() }
        let lex = h.standIn.conversations
        let client = try Self.speakToASilentLex(h, session: "silent-close")
        client.sendClose()
        #expect(client.wait { $0.closeCode != nil })
        #expect(client.snapshot.closeCode == 1000, "the caller's close is answered with its code")
        #expect(lex.waitUntil(timeout: 10) { s in s.streams.first { $0.sessionId == "silent-close" }.map { $0.disconnected && $0.closed != nil } == true },
                "DisconnectionEvent sent and the stream closed: \(lex.streams.map(\.summary))")
        #expect(lex.waitUntil(timeout: 10) { $0.openStreamCount == 0 }, "no stream left open: \(lex.streams.map(\.summary))")
        #expect(lex.signatureFailures == 0)
        try Self.nextCallIsTaken(h)
    }

    @Test func theCallerDroppingTheSocketEndsTheStreamToASilentLex() throws {
        let h = try Self.harness()
        defer { h.stop() }
        let lex = h.standIn.conversations
        let client = try Self.speakToASilentLex(h, session: "silent-drop")
        client.abort()  // no close frame
        #expect(lex.waitUntil(timeout: 10) { s in s.streams.first { $0.sessionId == "silent-drop" }.map { $0.closed != nil } == true },
                "the stream closed: \(lex.streams.map(\.summary))")
        #expect(lex.waitUntil(timeout: 10) { $0.openStreamCount == 0 }, "no stream left open: \(lex.streams.map(\.summary))")
        #expect(lex.signatureFailures == 0)
        try Self.nextCallIsTaken(h)
    }
}
