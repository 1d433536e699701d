import Connector
import Foundation
import LexStandIn
import Testing

/// A Lex that stops reading in the middle of a streaming call (the stand-in never returns
/// flow-control window): the connector's send buffer fills, later audio events are dropped,
/// each drop is counted in `lexconnector_stream_events_dropped_total`, the log says it once,
/// and the server stays up for the caller's hang-up and for other calls. Waits are bounded.
@Suite(.serialized) struct StreamingFlowControlTests {
    static let path = StreamingCallEndToEndTests.path.replacingOccurrences(of: "caller-stream-1", with: "caller-stall-1")

    /// Polls `body` (bounded) until it holds.
    static func eventually(timeout: Double = 10, _ body: () -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while !body() {
            if Date() > deadline { return false }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return true
    }

    static func dropped(_ h: Harness) -> Int? {
        let text = String(decoding: h.connector.metrics.exposition(), as: UTF8.self)
        let prefix = #"lexconnector_stream_events_dropped_total{type="AudioInputEvent"} "#
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return nil }
        return Int(Double(line.dropFirst(prefix.count)) ?? -1)
    }

    @Test func aLexThatStopsReadingDropsAudioCountedAndLoggedOnce() throws {
        let h = try StreamingCallEndToEndTests.connectorHarness(tls: false) { $0.streaming.server.returnsWindow = false }
        defer { h.stop() }
        let lex = h.standIn.conversations
        let client = try h.client(Self.path)
        client.sendStart(rate: 8000, secret: StreamingCallEndToEndTests.secret)
        #expect(client.wait { $0.texts.contains("ok") })
        #expect(lex.waitUntil { $0.streams.first?.configuration != nil })
        // 12 s of audio at once: about 7 KiB a second of signed events, more than the 64 KiB
        // connection window and the 64 KiB send buffer together.
        for _ in 0..<600 { client.sendBinary([UInt8](repeating: 0, count: 320)) }
        #expect(Self.eventually { (Self.dropped(h) ?? 0) > 0 }, "audio events dropped and counted")
        // More audio after the first drop: still one log line for the stream.
        for _ in 0..<50 { client.sendBinary([UInt8](repeating: 0, count: 320)) }
        #expect(Self.eventually { (Self.dropped(h) ?? 0) > 50 })
        let lines = h.logs.all.filter { $0.contains("lex stream event dropped") }
        #expect(lines.count == 1, "said once per stream: \(lines.count) lines")
        #expect(lines.first?.contains("sendBufferFull") == true || lines.first?.contains("send buffer") == true,
                "the line names the cause: \(lines.first ?? "")")
        // The server stays up: another call starts, and the stalled caller's hang-up is handled.
        let other = try h.client(Self.path.replacingOccurrences(of: "caller-stall-1", with: "caller-stall-2"))
        other.sendStart(rate: 16000, secret: StreamingCallEndToEndTests.secret)
        #expect(other.wait { $0.texts.contains("ok") })
        client.sendClose()
        #expect(client.wait { $0.eof || $0.closeCode != nil })
        other.sendClose()
        #expect(other.wait { $0.eof || $0.closeCode != nil })
    }

    @Test func eachStreamSaysItsFirstDropOnce() throws {
        let h = try StreamingCallEndToEndTests.connectorHarness(tls: false) {
            $0.streaming.server.returnsWindow = false
            $0.streaming.maxStreamLifetimeSeconds = 1.5  // the stand-in ends the stream; the call reopens it
        }
        defer { h.stop() }
        let lex = h.standIn.conversations
        let client = try h.client(Self.path)
        client.sendStart(rate: 8000, secret: StreamingCallEndToEndTests.secret)
        #expect(client.wait { $0.texts.contains("ok") })
        for _ in 0..<600 { client.sendBinary([UInt8](repeating: 0, count: 320)) }
        #expect(Self.eventually { (Self.dropped(h) ?? 0) > 0 })
        #expect(lex.waitUntil { $0.streamCount >= 2 }, "reopened when the first stream's lifetime ended")
        let before = Self.dropped(h) ?? 0
        // The new stream shares the stalled connection: its sends fill its own buffer and drop.
        for _ in 0..<600 { client.sendBinary([UInt8](repeating: 0, count: 320)) }
        #expect(Self.eventually { (Self.dropped(h) ?? 0) > before })
        let lines = h.logs.all.filter { $0.contains("lex stream event dropped") }
        #expect(lines.count == 2, "one line per stream: \(lines.count)")
        client.sendClose()
        #expect(client.wait { $0.eof || $0.closeCode != nil })
    }
    /// A Lex that reads nothing at all: once the caller's audio has been dropped, every event
    /// of it, for `StreamingConversation.stallTimeout`, the stream counts as reset; the call
    /// reopens it once (on the same stalled connection here, so it stalls again) and then ends
    /// with 1011 and the reason, instead of going on deaf. The caller sends five frames every
    /// 20 ms (5x real time) so the buffers fill in well under a second.
    @Test func aLexThatReadsNothingIsAResetStream() throws {
        let h = try StreamingCallEndToEndTests.connectorHarness(tls: false) { $0.streaming.server.returnsWindow = false }
        defer { h.stop() }
        let lex = h.standIn.conversations
        let client = try h.client(Self.path.replacingOccurrences(of: "caller-stall-1", with: "caller-stall-3"))
        client.sendStart(rate: 8000, secret: StreamingCallEndToEndTests.secret)
        #expect(client.wait { $0.texts.contains("ok") })
        let deadline = Date(timeIntervalSinceNow: 30)
        while Date() < deadline {
            for _ in 0..<5 { client.sendBinary([UInt8](repeating: 0, count: 320)) }
            if client.wait(timeout: 0.02, { $0.closeCode != nil || $0.eof }) { break }
        }
        #expect(client.wait { $0.closeCode != nil }, "the call ended")
        let state = client.snapshot
        #expect(state.closeCode == 1011)
        #expect(state.closeReason.contains("read none of the caller's audio"), "reason: \(state.closeReason)")
        #expect(lex.streamCount == 2, "reopened once before giving up: \(lex.streamCount) streams")
        let failures = h.logs.all.filter { $0.contains("lex stream failed") && $0.contains("read none") }
        #expect(failures.count == 2, "one line per stalled stream: \(failures.count)")
    }
}
