import Connector
import Foundation
import Lex
import LexStandIn
import Testing

/// End-to-end: a Vonage-like client streams the audio fixtures in real time to the connector,
/// which talks to the Lex stand-in over loopback. These prove the wiring (socket, pacer, Lex
/// client, webhooks, metrics); the call's behaviour in detail (barge-in, queueing, DTMF
/// pauses, closing, timeouts, every rate) is in `CallTranscriptTests`, in virtual time.
@Suite(.serialized) struct ConversationTests {
    static let secret = Harness.credentials.secretAccessKey.withRevealedValue { $0 }
    static let token = Harness.credentials.sessionToken!.withRevealedValue { $0 }

    /// Streams a fixture and checks: one Lex request per spoken utterance, valid signatures, the
    /// right content type, and every reply frame of the exact size with the right total length.
    func conversation(path: String, fixture: String, callRate: Int, utterances: Int, lexContentType: String, api: LexAPI) throws {
        let h = try Harness()
        defer { h.stop() }
        h.standIn.setDefaultReply(.init(message: "Sure.", audio: .tone(milliseconds: 480)))
        let c = try h.client(path)
        #expect(c.httpStatus == 101)
        c.sendStart(rate: callRate, secret: Self.secret, extra: ["aws_session_token": Self.token, "barge_in": false, "webhook_url": h.webhookURL])
        #expect(c.wait { $0.texts.first == "ok" })
        var (pcm, rate) = try Fixture.pcm(fixture)
        if rate != callRate { pcm = try Fixture.resample(pcm, from: rate, to: callRate); rate = callRate }
        c.stream(pcm, rate: rate)
        c.streamSilence(milliseconds: 1000, rate: rate)
        let frameBytes = callRate / 50 * 2
        // 480 ms of 16 kHz reply is 24 frames at any call rate.
        #expect(c.wait(timeout: 10) { $0.frames.count >= utterances * 24 }, "reply frames: \(c.snapshot.frames.count)")
        let requests = h.lexRequests()
        #expect(requests.count == utterances)
        for r in requests {
            #expect(r.signature == .valid, "signature: \(r.signature)")
            #expect(r.contentType == lexContentType)
            #expect(r.api == api)
            #expect(r.header("x-amz-security-token") == Self.token)
        }
        let s = c.snapshot
        #expect(s.frames.count == utterances * 24)
        #expect(s.frames.allSatisfy { $0.bytes == frameBytes })
        // The server's reaction-time histograms saw every turn, with sane values (under 1 s each).
        let m = String(decoding: h.connector.metrics.exposition(), as: UTF8.self)
        func value(_ name: String) -> Double? {
            m.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last!) }
        }
        #expect(value("lexconnector_speech_to_request_seconds_count") == Double(utterances))
        #expect((value("lexconnector_speech_to_request_seconds_sum") ?? .infinity) < Double(utterances))
        let replies = value("lexconnector_reply_to_first_frame_seconds_count") ?? 0
        #expect(replies >= 1 && replies <= Double(utterances), "replies that started from silence: \(replies)")
        #expect((value("lexconnector_reply_to_first_frame_seconds_sum") ?? .infinity) < replies)
        c.sendClose()
        #expect(c.wait { $0.closeCode == 1000 && $0.eof })
        #expect(h.standIn.waitUntil(timeout: 5) { _ in h.events().contains { $0["event"] as? String == "call_ended" } })
        let events = h.events()
        let names = events.compactMap { $0["event"] as? String }
        #expect(names.first == "call_started")
        #expect(names.last == "call_ended")
        #expect(names.filter { $0 == "lex_turn" }.count == utterances)
        let sequence = events.compactMap { $0["sequence"] as? Int }
        #expect(sequence == Array(1...events.count), "events arrive in order")
        #expect(events.allSatisfy { $0["session_id"] as? String == "caller:4477.0_x-1" && ($0["service"] as? String)?.hasPrefix("lex-") == true })
        #expect(h.standIn.waitUntil(timeout: 5) { _ in
            let live = h.connector.liveState()
            return live.webSockets == 0 && live.pacedCalls == 0 && live.lexRequests == 0
        }, "no call, timer or request left: \(h.connector.liveState())")
    }

    @Test func v2At16kHz() throws {
        try conversation(path: Harness.v2Path, fixture: "speech16-clean.wav", callRate: 16000, utterances: 3,
                         lexContentType: "audio/l16; rate=16000; channels=1", api: .v2)
    }

    @Test func v1At8kHz() throws {
        try conversation(path: Harness.v1Path, fixture: "speech8-clean.wav", callRate: 8000, utterances: 5,
                         lexContentType: "audio/lpcm; sample-rate=8000; sample-size-bits=16; channel-count=1; is-big-endian=false", api: .v1)
    }

    @Test func dtmfReachesLexAsText() throws {
        let h = try Harness()
        defer { h.stop() }
        h.standIn.setDefaultReply(.init(message: "Got it.", audio: .tone(milliseconds: 200)))
        let c = try h.client()
        c.sendStart(rate: 16000, secret: Self.secret)
        #expect(c.wait { $0.texts.first == "ok" })
        for d in ["4", "2", "#"] { c.sendDTMF(d) }
        #expect(h.standIn.waitForRequests(1))
        #expect(h.lexRequests().first?.inputText == "42")
        #expect(h.lexRequests().first?.contentType == "text/plain; charset=utf-8")
        #expect(c.wait { $0.frames.count == 10 }, "200 ms reply played")
        c.sendClose()
    }

    @Test func nexmoCloseEndsTheCallAfterPlayback() throws {
        let h = try Harness()
        defer { h.stop() }
        h.standIn.setDefaultReply(.init(message: "Goodbye.", sessionAttributes: ["nexmo-close": "true"], audio: .tone(milliseconds: 400)))
        let c = try h.client(Harness.v1Path)
        c.sendStart(rate: 16000, secret: Self.secret, extra: ["welcome_text": "bye"])
        #expect(c.wait { $0.closeCode != nil })
        let s = c.snapshot
        #expect(s.closeCode == 1000)
        #expect(s.frames.count == 20, "the whole reply played before the close")
    }

    @Test(arguments: [
        LexStandIn.Reply.accessDenied,
        .failing(.error(status: 429, type: "ThrottlingException", message: "Rate exceeded")),
        .failing(.error(status: 500, type: "InternalFailureException", message: "boom")),
        .failing(.nonAudio(contentType: "application/json", body: "{\"message\":\"not audio\"}")),
        LexStandIn.Reply(firstByteDelayMilliseconds: 6000),
    ])
    func lexFailuresKeepTheCallUp(reply: LexStandIn.Reply) throws {
        let h = try Harness()
        defer { h.stop() }
        h.standIn.setReply(forText: "1", reply)
        h.standIn.setReply(forText: "2", .init(message: "Fine.", audio: .tone(milliseconds: 100)))
        let c = try h.client()
        c.sendStart(rate: 16000, secret: Self.secret, extra: ["webhook_url": h.webhookURL])
        #expect(c.wait { $0.texts.first == "ok" })
        c.sendDTMF("1"); c.sendDTMF("#")
        #expect(h.standIn.waitUntil(timeout: 10) { _ in h.events().contains { $0["event"] as? String == "error" } })
        #expect(c.snapshot.frames.isEmpty, "nothing that is not audio is played")
        c.sendDTMF("2"); c.sendDTMF("#")
        #expect(c.wait(timeout: 8) { $0.frames.count == 5 }, "the call is still up and the next turn plays")
        #expect(c.snapshot.closeCode == nil)
        let error = h.events().first { $0["event"] as? String == "error" }
        #expect((error?["message"] as? String)?.isEmpty == false)
        c.sendClose()
    }

    @Test func callerHangingUpMidRequestLeavesNothingBehind() throws {
        let h = try Harness()
        defer { h.stop() }
        h.standIn.setDefaultReply(.init(audio: .tone(milliseconds: 200), firstByteDelayMilliseconds: 3000))
        let c = try h.client()
        c.sendStart(rate: 16000, secret: Self.secret)
        #expect(c.wait { $0.texts.first == "ok" })
        c.sendDTMF("9"); c.sendDTMF("#")
        #expect(h.standIn.waitForRequests(1))
        c.abort()
        #expect(h.standIn.waitUntil(timeout: 5) { _ in
            let s = h.connector.liveState()
            return s.webSockets == 0 && s.pacedCalls == 0 && s.lexRequests == 0
        }, "state: \(h.connector.liveState())")
    }

    @Test func noSecretInAnyLogLineAtTraceLevel() throws {
        let h = try Harness()
        defer { h.stop() }
        h.standIn.setDefaultReply(.init(audio: .tone(milliseconds: 100)))
        let c = try h.client()
        c.sendStart(rate: 16000, secret: Self.secret, extra: ["aws_session_token": Self.token, "welcome_text": "hi"])
        #expect(c.wait { $0.frames.count == 5 })
        c.sendClose()
        #expect(c.wait { $0.eof })
        let lines = h.logs.all
        #expect(lines.contains { $0.contains("call started") })
        #expect(lines.count > 5)
        #expect(!lines.contains { $0.contains(Self.secret) || $0.contains(Self.token) })
        #expect(!lines.contains { $0.contains("wJalrXUtnFEMI") })
    }
}
