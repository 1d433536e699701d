import Connector
import Foundation
import LexStandIn
import Testing

/// Faults on one streaming call leave the others alone: while call B plays a 3 s prompt,
/// call A's stream is reset by Lex (and reopened), A is answered by a slow Lex, then A's
/// caller hangs up mid-prompt without a close frame. B's prompt plays whole, every signature
/// on every stream is valid, A's stream is ended, and the server takes a new call after.
/// Replies are chosen per call by DTMF (the stand-in's transcript for keys is the digits).
/// Waits are bounded.
@Suite(.serialized) struct StreamingFaultIsolationTests {
    static func path(_ session: String) -> String {
        StreamingCallEndToEndTests.path.replacingOccurrences(of: "caller-stream-1", with: session)
    }

    @Test func aResetASlowLexAndAHangUpMidPromptOnOneCallLeaveTheOtherWhole() throws {
        let h = try StreamingCallEndToEndTests.connectorHarness(tls: false)
        defer { h.stop() }
        let lex = h.standIn.conversations
        lex.setDefaultReply(.init(audio: .none))
        lex.setReply(forTranscript: "1", .init(transcript: "1", audio: .tone(milliseconds: 3000)))
        lex.setReply(forTranscript: "2", .failing(.reset(.internalError)))
        lex.setReply(forTranscript: "3", ConversationReply(transcript: "3", audio: .tone(milliseconds: 2000)).delayed(by: 300))
        let secret = StreamingCallEndToEndTests.secret
        let a = try h.client(Self.path("isolation-a"))
        let b = try h.client(Self.path("isolation-b"))
        a.sendStart(rate: 16000, secret: secret)
        b.sendStart(rate: 16000, secret: secret)
        #expect(a.wait { $0.texts.contains("ok") } && b.wait { $0.texts.contains("ok") })
        for d in ["1", "#"] { b.sendDTMF(d) }
        #expect(b.wait { $0.frames.count >= 10 }, "B's long prompt plays")

        // A: Lex resets its stream; the connector reopens it on the same session.
        for d in ["2", "#"] { a.sendDTMF(d) }
        #expect(lex.waitUntil { s in s.streams.filter { $0.sessionId == "isolation-a" }.count == 2 }, "A's stream reopened after the reset")
        // A: a slow answer, then the caller hangs up mid-prompt (no close frame).
        for d in ["3", "#"] { a.sendDTMF(d) }
        #expect(a.wait { $0.frames.count >= 5 }, "A's slow prompt starts")
        a.abort()
        #expect(lex.waitUntil { s in
            s.streams.filter { $0.sessionId == "isolation-a" }.last.map { $0.disconnected || $0.endOfStream || $0.fault != nil } == true
        }, "A's stream is ended after the hang-up")

        // B's prompt plays whole, in exact frames.
        #expect(b.wait { $0.frames.count >= 150 }, "B's 3 s prompt: 150 frames")
        b.streamSilence(milliseconds: 200, rate: 16000)
        #expect(b.snapshot.frames.count == 150 && b.snapshot.frames.allSatisfy { $0.bytes == 640 })
        #expect(lex.waitUntil { $0.streams.first { $0.sessionId == "isolation-b" }?.playbackCompletions == 1 })

        // The server takes a new call, and every signature on every stream verified.
        let c = try h.client(Self.path("isolation-c"))
        c.sendStart(rate: 8000, secret: secret)
        #expect(c.wait { $0.texts.contains("ok") })
        b.sendClose()
        c.sendClose()
        #expect(lex.waitUntil { s in s.streams.filter { $0.sessionId != "isolation-a" }.allSatisfy(\.disconnected) })
        #expect(lex.signatureFailures == 0, "\(lex.streams.map(\.summary))")
        #expect(lex.waitUntil { $0.openStreamCount == 0 }, "no stream left open: \(lex.streams.map(\.summary))")
        // No sensitive request header's value in any log line, at any level (the harness checks
        // the secret and the token; this the signature and the token as sent on each stream).
        let sensitive = lex.streams.flatMap { $0.headers.filter(\.isSensitive).map(\.value) }
        #expect(sensitive.count >= 2 * lex.streamCount, "authorization and x-amz-security-token on every stream")
        let lines = h.logs.all
        #expect(lines.count > 10)
        for value in Set(sensitive) { #expect(!lines.contains { $0.contains(value) }, "a sensitive header's value in the logs") }
    }
}
