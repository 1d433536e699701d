import Foundation
import Testing
@testable import Connector

/// Benchmark probe (no threshold; run with `LEXCONNECTOR_BENCH=1 swift test --skip-build
/// --filter AudioFloodProbe`): two peers send audio as fast as their sockets take it (far
/// faster than real time; nothing limits a call's inbound rate) while a canary call talks.
/// Prints the frames sent and the canary's report (worst gap inside a reply).
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["LEXCONNECTOR_BENCH"] != nil)) struct AudioFloodProbe {
    @Test func audioFasterThanRealTime() throws {
        let h = try Harness()
        defer { h.stop() }
        h.standIn.setDefaultReply(.init(message: "Canary.", audio: .tone(milliseconds: 1000)))
        let canary = try CanaryCall(harness: h, replyFrames: 50)
        canary.start()
        #expect(canary.client.wait(timeout: 5) { !$0.frames.isEmpty })
        let flooders = try (0..<2).map { _ in try h.client() }
        for f in flooders { f.sendStart(rate: 16000, secret: ConversationTests.secret) }
        let speech = try Fixture.pcm("speech16-clean.wav").bytes
        let end = Date().addingTimeInterval(4)
        var sent = 0
        while Date() < end {
            for f in flooders {
                var i = 0
                while i + 640 <= speech.count { f.sendBinary(Array(speech[i..<(i + 640)])); i += 640; sent += 1 }
            }
        }
        _ = canary.stop()
        let r = canary.report
        print("audio flood: \(sent) frames in 4 s from \(flooders.count) peers; \(r)")
        #expect(r.closeCode == nil)
        for f in flooders { f.sendClose() }
    }
}
