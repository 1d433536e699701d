import Audio
import Foundation
import Lex
import Testing
@testable import Connector

/// A Lex (or whatever answers at its endpoint) that sends reply audio far faster than it
/// plays cannot grow a call's playback buffer without bound: beyond
/// `ActiveCall.maxQueuedReply` of audio waiting to play, the rest of that reply is dropped,
/// once logged and counted; the part kept plays, and the next turn plays whole.
@Suite struct ReplyFloodTests {
    @Test func replyAudioBeyondTheLimitIsDropped() {
        var call = CallTranscript()
        _ = call.start(["welcome_text": "hi"])
        let second = CallTranscript.tone(ms: 1000)  // 32,000 bytes at 16 kHz
        for _ in 0..<(60 * 10) { _ = call.lexAudio(second) }  // 10 minutes, all at once
        guard case .active(let active) = call.machine.state else { Issue.record("the call ended"); return }
        let limit = Int(ActiveCall.maxQueuedReply.milliseconds) * 32
        #expect(active.core.playback.queuedBytes <= limit + second.count, "\(active.core.playback.queuedBytes) bytes queued")
        #expect(active.core.playback.queuedBytes >= limit - 640)
        #expect(call.all.filter { if case .log(_, let m, _) = $0 { m.description.contains("dropped") } else { false } }.count == 1)
        #expect(call.counts.filter { $0 == .error(.replyOverflow) }.count == 1)
        _ = call.lexCompleted(.success(CallTranscript.turn()))
        #expect(call.eventNames.contains("lex_turn"))
    }

    @Test func theNextTurnPlaysWhole() {
        var call = CallTranscript()
        _ = call.start(["welcome_text": "hi", "barge_in": false])
        for _ in 0..<400 { _ = call.lexAudio(CallTranscript.tone(ms: 1000)) }
        _ = call.lexCompleted(.success(CallTranscript.turn()))
        _ = call.run(ms: Int(ActiveCall.maxQueuedReply.milliseconds) + 1000, silence: true)
        #expect(call.dtmf("1") == ["event dtmf"])
        let lines = call.dtmf("#")
        #expect(lines.contains("lex text 1"), "\(lines)")
        let reply = call.lexReply(ms: 200)
        #expect(reply.compacted.first == "event playback_started")
        #expect(call.run(ms: 300, silence: true).compacted.contains("event playback_finished"))
    }

    @Test func aStreamingPromptBeyondTheLimitIsDroppedToo() {
        var call = StreamingCallTranscriptTests.call()
        _ = call.start()
        let second = StreamingCallTranscriptTests.tone(ms: 1000)
        for _ in 0..<(60 * 10) { _ = call.lexStream(.audio(second, sampleRate: 16000)) }
        guard case .streaming(let streaming) = call.machine.state else { Issue.record("the call ended"); return }
        let limit = Int(ActiveCall.maxQueuedReply.milliseconds) * 32
        #expect(streaming.core.playback.queuedBytes <= limit + second.count, "\(streaming.core.playback.queuedBytes) bytes queued")
        #expect(call.counts.filter { $0 == .error(.replyOverflow) }.count == 1)
        _ = call.lexStream(.audio([], sampleRate: 16000))
        #expect(call.counts.filter { $0 == .error(.replyOverflow) }.count == 1, "counted once per prompt")
    }
}
