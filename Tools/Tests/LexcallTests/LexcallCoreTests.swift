import Audio
import LexcallCore
import Foundation
import Testing

@Suite struct OptionsTests {
    @Test func singleCallArguments() throws {
        let o = try LexcallOptions.parse([
            "--url", "ws://127.0.0.1:8000/bots/ABCDEFGHIJ/botAliases/TSTALIASID/botLocales/en_US/sessions/s1/utterance",
            "--wav", "q.wav", "--param", "aws_key=AKID", "--param", "aws_secret=a=b", "--rate", "8000",
            "--dtmf", "3.0:#,2.5:1", "--out", "reply.wav", "--silence-after", "4",
        ])
        #expect(o.wav == "q.wav")
        #expect(o.param("aws_secret") == "a=b")
        #expect(o.rate == 8000)
        #expect(o.dtmf == [DTMFEvent(at: 2.5, digit: "1"), DTMFEvent(at: 3.0, digit: "#")])
        #expect(o.out == "reply.wav")
        #expect(o.silenceAfter == 4)
        #expect(!o.isLoad)
    }

    @Test func loadArguments() throws {
        let o = try LexcallOptions.parse(["--calls", "1000", "--ramp", "20", "--duration", "60", "--lex-standin", "9100", "--reply-ms", "4000", "--trim", "0.9:1.5"])
        #expect(o.calls == 1000 && o.isLoad)
        #expect(o.ramp == 20 && o.duration == 60)
        #expect(o.lexStandinPort == 9100 && o.replyMs == 4000)
        #expect(o.trim == 0.9...1.5)
    }

    @Test(arguments: [
        ["--rate", "11025"], ["--param", "novalue"], ["--dtmf", "1:X"], ["--url", "wss://x/y"], ["--calls", "0"],
        ["--ramp", "5"], ["--trim", "2:1"], ["--wav"], ["--bogus"],
    ])
    func rejectsBadArguments(_ args: [String]) {
        #expect(throws: LexcallOptions.ParseError.self) { try LexcallOptions.parse(args) }
    }

    @Test func streamingShareSpreadsStreamingCallsEvenly() throws {
        let o = try LexcallOptions.parse(["--calls", "10", "--streaming-share", "0.5"])
        #expect(o.streamingShare == 0.5)
        #expect((1...10).filter { o.isStreaming(call: $0) } == [2, 4, 6, 8, 10])
        let path = "/bots/B/botAliases/A/botLocales/en_US/sessions/s-3/utterance"
        #expect(o.path(path, call: 4) == "/bots/B/botAliases/A/botLocales/en_US/sessions/s-3/conversation")
        #expect(o.path(path, call: 3) == path)
        #expect(try LexcallOptions.parse(["--calls", "9", "--streaming-share", "1"]).isStreaming(call: 9))
        #expect(!(try LexcallOptions.parse(["--calls", "9"]).isStreaming(call: 1)))
        #expect(throws: LexcallOptions.ParseError.self) { try LexcallOptions.parse(["--streaming-share", "1.5"]) }
    }

    @Test func urls() throws {
        let u = try WebSocketURL.parse("ws://localhost:8123/bots/X/sessions/lexcall-{call}/utterance").get()
        #expect(u.host == "localhost" && u.port == 8123)
        #expect(u.path(forCall: 7) == "/bots/X/sessions/lexcall-7/utterance")
        #expect(try WebSocketURL.parse("ws://h").get() == WebSocketURL(host: "h", port: 80, path: "/"))
    }

    @Test func startMessage() {
        let json = StartMessage.json(rate: 16000, params: [("aws_key", "AK"), ("silence_time", "600"), ("barge_in", "false"),
                                                            ("session_attributes", "{\"a\":\"b\"}"), ("client_id", "x\"y")])
        #expect(json == "{\"event\":\"websocket:connected\",\"content-type\":\"audio/l16;rate=16000\",\"aws_key\":\"AK\",\"silence_time\":600,\"barge_in\":false,\"session_attributes\":{\"a\":\"b\"},\"client_id\":\"x\\\"y\"}")
        #expect(!StartMessage.redacted(rate: 8000, params: [("aws_secret", "SECRET")]).contains("SECRET"))
    }

    @Test func handshakeResponse() {
        let ok = Array("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: abc=\r\n\r\n".utf8) + [0x81, 0x02, 0x6F, 0x6B]
        #expect(ClientHandshake.check(ok, expectedAccept: "abc=") == .upgraded(headLength: ok.count - 4))
        #expect(ClientHandshake.check(Array(ok.prefix(20)), expectedAccept: "abc=") == .incomplete)
        #expect(ClientHandshake.check(ok, expectedAccept: "xyz=") == .refused("101 with a wrong Sec-WebSocket-Accept"))
        let refused = Array("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nno route\n".utf8)
        #expect(ClientHandshake.check(refused, expectedAccept: "abc=") == .refused("HTTP/1.1 404 Not Found: no route"))
    }
}

@Suite struct StatisticsTests {
    @Test func histogramPercentiles() {
        var h = DurationHistogram()
        #expect(h.percentile(50) == nil)
        for ms in 1...100 { h.record(UInt64(ms) * 1_000_000) }
        #expect(h.count == 100)
        #expect(h.percentile(50) == 50_100_000)  // the bin's upper edge, 0.1 ms above
        #expect(h.percentile(99) == 99_100_000)
        #expect(h.percentile(100) == 100_000_000)  // never above the maximum
        #expect(h.max == 100_000_000)
        var other = DurationHistogram()
        other.record(20_000_000_000)  // beyond the last bin: kept as the maximum
        h.merge(other)
        #expect(h.percentile(100) == 20_000_000_000)
        #expect(h.count == 101)
    }

    @Test func trackerGapsLateFramesAndReplyEnd() {
        var t = ReplyTracker(quiet: 500_000_000)
        var ended: ReplyTracker.EndedReply?
        let ms: UInt64 = 1_000_000
        #expect(t.frame(at: 1000 * ms, ended: &ended) == .started)
        #expect(t.frame(at: 1020 * ms, ended: &ended) == .continued(gap: 20 * ms, late: false))
        #expect(t.frame(at: 1041 * ms, ended: &ended) == .continued(gap: 21 * ms, late: false))
        // Frame 3 is due at 1060; 1085 is 25 ms behind: late, and the grid moves.
        #expect(t.frame(at: 1085 * ms, ended: &ended) == .continued(gap: 44 * ms, late: true))
        // Frame 4 is now due at 1105: on time.
        #expect(t.frame(at: 1104 * ms, ended: &ended) == .continued(gap: 19 * ms, late: false))
        #expect(t.end(now: 1500 * ms) == nil)
        #expect(t.end(now: 1604 * ms) == ReplyTracker.EndedReply(start: 1000 * ms, lastFrame: 1104 * ms, frames: 5))
        #expect(!t.inReply)
        // A new reply after the quiet.
        #expect(t.frame(at: 3000 * ms, ended: &ended) == .started)
        #expect(t.frame(at: 4000 * ms, ended: &ended) == .started)
        #expect(ended == ReplyTracker.EndedReply(start: 3000 * ms, lastFrame: 3000 * ms, frames: 1))
        #expect(milliseconds(20_049_999) == "20.0")
        #expect(milliseconds(signed: -2_350_000) == "-2.4")
    }
}

@Suite struct CallAudioTests {
    @Test func framesAtTheCallRate() throws {
        // 0.5 s of 1 kHz at 8 kHz, then 0.25 s of silence.
        let tone: [Int16] = (0..<4000).map { (i: Int) -> Int16 in
            let phase: Double = 2 * Double.pi * 1000 * Double(i) / 8000
            return Int16(10000 * sin(phase))
        }
        let wav = WAV(sampleRate: 8000, samples: tone + [Int16](repeating: 0, count: 2000))
        let same = try CallAudio(wav: wav, trim: nil, rate: 8000)
        #expect(same.frames.count == 38 && same.frames.allSatisfy { $0.count == 320 })
        #expect(same.lastSpeechFrame == 24)
        let up = try CallAudio(wav: wav, trim: nil, rate: 16000)
        #expect(up.frames.count == 38 && up.frames.allSatisfy { $0.count == 640 })
        // The resampler's delay is removed: speech still ends in frame 24.
        #expect(up.lastSpeechFrame == 24)
        let up24 = try CallAudio(wav: wav, trim: nil, rate: 24000)
        #expect(up24.frames.count == 38 && up24.frames[0].count == 960 && up24.lastSpeechFrame == 24)
        // The tone's level survives resampling (peak within 5%).
        let peak = up.frames[5...20].flatMap { PCM.samples(littleEndian: $0) }.map { abs(Int($0)) }.max() ?? 0
        #expect(abs(peak - 10000) < 500)
    }

    @Test func trimAndPadding() throws {
        let wav = WAV(sampleRate: 16000, samples: [Int16](repeating: 2000, count: 16000))
        let a = try CallAudio(wav: wav, trim: 0.25...0.515, rate: 16000)
        #expect(a.frames.count == 14)  // 0.265 s: 13 full frames and one of 5 ms, padded
        #expect(PCM.samples(littleEndian: a.frames[13]).prefix(80).allSatisfy { $0 == 2000 })
        #expect(PCM.samples(littleEndian: a.frames[13]).suffix(240).allSatisfy { $0 == 0 })
        #expect(CallAudio.silence(rate: 8000).frames.isEmpty)
    }

    @Test func dtmfList() throws {
        #expect(try DTMFEvent.parseList("1:5") == [DTMFEvent(at: 1, digit: "5")])
        #expect(throws: LexcallOptions.ParseError.self) { try DTMFEvent.parseList("1:55") }
    }
}
