import Foundation
import Testing
import TestSupport

@testable import Lex

/// The audio event's fast path over the largest chunk that still fits one message (about 18
/// MiB: its buffer grows from 1 KiB at once), then small chunks in the same second and the
/// next (the grown buffer keeps the per-second `:date` header and constants): the same bytes
/// as the generic path, and the chain goes on.
@Suite("SigV4 event signing: the fast path over the largest chunk")
struct SigV4EventSignerLargeChunkTests {
    @Test func largestChunkThenSmallOnesMatchGeneric() throws {
        var (generic, fast) = SigV4EventSignerFastPathTests.signers()
        let overhead = 15 + Array(StartConversation.audioInputContentType.utf8).count + 19
        let innerOverhead = EventStreamLimits.overheadBytes + AudioInputFrameWriter.innerHeaders.count
        let largest = (EventStreamLimits.maxPayloadBytes - overhead - innerOverhead) / 4 * 3
        var random = SplitMix64(seed: 16 << 20)
        let sizes = [320, largest, 320, 0, 2, 16 << 20, 320]
        for (i, size) in sizes.enumerated() {
            let chunk = (0..<size).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let date = SigV4Date(unixSeconds: 1_764_547_199 + Int64(i / 3))  // a second and a day boundary
            let expected = try SigV4EventSignerFastPathTests.genericFrame(&generic, chunk, date)
            let frame = try SigV4EventSignerFastPathTests.fastFrame(&fast, chunk, date)
            #expect(frame == expected, "event \(i): \(size) bytes")
            if frame != expected { return }
        }
        #expect(fast.previousSignature == generic.previousSignature)
    }
}
