import Audio
import Foundation
import Lex
import Testing
@testable import Connector

/// A DTMF flood (digits with no end character, faster than the pause) cannot build a Lex text
/// input of any length: input ends at `DTMFCollector.maxDigits` (1024, Lex's text input limit).
@Suite struct DTMFFloodTests {
    @Test func aFloodOfDigitsIsSentInInputsOfAtMost1024() {
        var call = CallTranscript()
        _ = call.start()
        var lines: [String] = []
        for i in 0..<3000 { lines += call.dtmf(String(i % 10)) }
        let inputs = lines.filter { $0.hasPrefix("lex text ") }.map { $0.dropFirst("lex text ".count) }
        #expect(inputs.count == 1, "the first 1024 digits went at once; Lex is busy, the rest are queued or collecting")
        #expect(inputs.first?.count == 1024)
        guard case .active(let active) = call.machine.state else { Issue.record("the call ended"); return }
        #expect(active.dtmf.digits.count < 1024)
    }

    @Test func collectorEndsInputAtTheLimit() {
        var c = DTMFCollector(timeout: .seconds(3))
        var sent: [String] = []
        for _ in 0..<2050 { if let s = c.press("7", at: Instant(nanoseconds: 0)) { sent.append(s) } }
        #expect(sent.map(\.count) == [1024, 1024])
        #expect(c.digits.count == 2)
    }
}
