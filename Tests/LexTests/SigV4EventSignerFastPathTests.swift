import Foundation
import Testing
import TestSupport

@testable import Lex

/// `SigV4EventSigner.withSignedAudioInputFrame` (the audio event's fast path) against the
/// generic path, `signedFrame(event.message(), date:)`: the same bytes, event after event.
@Suite("SigV4 event signing: the audio event's fast path")
struct SigV4EventSignerFastPathTests {
    static let credentials = AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")


    static func signers(seed: [UInt8] = Array(repeating: 0xAB, count: 32), region: String = "eu-west-2")
        -> (generic: SigV4EventSigner, fast: SigV4EventSigner) {
        let signer = SigV4Signer(credentials: credentials, region: region, keyCache: SigningKeyCache())
        return (SigV4EventSigner(signer: signer, seed: seed), SigV4EventSigner(signer: signer, seed: seed))
    }

    static func genericFrame(_ signer: inout SigV4EventSigner, _ chunk: [UInt8], _ date: SigV4Date) throws -> [UInt8] {
        try signer.signedFrame(StartConversation.InputEvent.audioInput(.init(audioChunk: chunk)).message(), date: date)
    }

    static func fastFrame(_ signer: inout SigV4EventSigner, _ chunk: [UInt8], _ date: SigV4Date) throws -> [UInt8] {
        try signer.withSignedAudioInputFrame(chunk, date: date) { Array($0) }
    }

    @Test("2,000 chained random chunks of 0 to 320 bytes and larger, across second and day boundaries: the same bytes")
    func randomChunksMatchGeneric() throws {
        var random = SplitMix64(seed: 20_261_130)
        var (generic, fast) = Self.signers()
        // Starts 5 s before midnight UTC (a new signing key and scope at the day boundary).
        var seconds: Int64 = 1_764_547_200 - 5
        let larger = [321, 322, 323, 640, 1600, 3200, 8191, 65_536]
        for i in 0..<2000 {
            let size = i % 10 == 9 ? larger[Int.random(in: 0..<larger.count, using: &random)]
                : Int.random(in: 0...320, using: &random)
            let chunk = (0..<size).map { _ in UInt8.random(in: 0...255, using: &random) }
            // Most events share their second with the one before, as at 50 a second.
            if Int.random(in: 0..<20, using: &random) == 0 { seconds += 1 }
            if i == 1000 { seconds += 86_400 * 40 }  // a jump of days at once
            let date = SigV4Date(unixSeconds: seconds)
            let expected = try Self.genericFrame(&generic, chunk, date)
            let frame = try Self.fastFrame(&fast, chunk, date)
            #expect(frame == expected, "event \(i): \(size) bytes at \(date)")
            #expect(fast.previousSignature == generic.previousSignature, "event \(i)")
            if frame != expected { return }
        }
        #expect(seconds > 1_764_547_200 + 86_400 * 40)
    }

    @Test("every chunk size from 0 to 330 bytes, one event each, chained: the same bytes")
    func everySizeMatchesGeneric() throws {
        var (generic, fast) = Self.signers()
        for size in 0...330 {
            let chunk = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ size) }
            let date = SigV4Date(unixSeconds: 1_700_000_000 + Int64(size / 50))
            #expect(try Self.fastFrame(&fast, chunk, date) == Self.genericFrame(&generic, chunk, date), "\(size) bytes")
        }
    }

    @Test("interleaved with generic events on the same chain (DTMF, playback completion, the end): the same bytes, and the stand-in's verifier accepts them all")
    func interleavedWithGenericEvents() throws {
        let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1", keyCache: SigningKeyCache())
        let seed = String(repeating: "5e", count: 32)
        var generic = try #require(SigV4EventSigner(signer: signer, seedSignature: seed))
        var fast = generic
        var verifier = try #require(SigV4EventVerifier(signer: signer, seedSignature: seed))
        var random = SplitMix64(seed: 7)
        var received: [StartConversation.InputEvent] = []
        for i in 0..<60 {
            let date = SigV4Date(unixSeconds: 1_700_000_000 + Int64(i / 7))
            let other: StartConversation.InputEvent? = switch i % 10 {
            case 3: .dtmfInput(.init(inputCharacter: "5"))
            case 8: .playbackCompletion(.init())
            default: nil
            }
            let expected: [UInt8], frame: [UInt8]
            if let other {
                expected = try generic.signedFrame(other.message(), date: date)
                frame = try fast.signedFrame(other.message(), date: date)
            } else {
                let chunk = (0..<320).map { _ in UInt8.random(in: 0...255, using: &random) }
                expected = try Self.genericFrame(&generic, chunk, date)
                frame = try Self.fastFrame(&fast, chunk, date)
            }
            #expect(frame == expected, "event \(i)")
            for message in try EventStreamDecoder.decodeAll(frame) {
                guard case .event(let inner) = try verifier.verify(message, now: date) else {
                    Issue.record("event \(i) is not an event")
                    return
                }
                received += try EventStreamDecoder.decodeAll(inner).map { try StartConversation.InputEvent(message: $0) }
            }
        }
        let end = SigV4Date(unixSeconds: 1_700_000_010)
        let endOfStream = fast.endOfStreamFrame(date: end)
        #expect(endOfStream == generic.endOfStreamFrame(date: end))
        #expect(try verifier.verify(EventStreamDecoder.decodeAll(endOfStream)[0], now: end) == .endOfStream)
        #expect(received.count == 60)
        #expect(received.filter { if case .audioInput(let e) = $0 { e.audioChunk.count == 320 } else { false } }.count == 48)
    }

    @Test("a body that throws leaves the chain where it was: the next frame chains to the last one sent")
    func throwingBodyDoesNotAdvance() throws {
        struct NotSent: Error {}
        var (generic, fast) = Self.signers()
        let date = SigV4Date(unixSeconds: 1_700_000_000)
        let first = [UInt8](repeating: 1, count: 320)
        #expect(try Self.fastFrame(&fast, first, date) == Self.genericFrame(&generic, first, date))
        let before = fast.previousSignature
        #expect(throws: NotSent.self) {
            try fast.withSignedAudioInputFrame([UInt8](repeating: 2, count: 320), date: date) { _ in throw NotSent() }
        }
        #expect(fast.previousSignature == before)
        let next = [UInt8](repeating: 3, count: 320)
        #expect(try Self.fastFrame(&fast, next, date) == Self.genericFrame(&generic, next, date))
    }

    @Test("a copied signer is a value: each copy's chain goes on by itself, with its own buffers")
    func copiesAreIndependent() throws {
        var (generic, fast) = Self.signers(seed: [])  // an empty seed, as the aws-sdk-js vector's
        let date = SigV4Date(unixSeconds: 1_369_353_600)
        let a = [UInt8](repeating: 0x11, count: 100), b = [UInt8](repeating: 0x22, count: 200)
        #expect(try Self.fastFrame(&fast, a, date) == Self.genericFrame(&generic, a, date))
        var copy = fast
        var genericCopy = generic
        #expect(try Self.fastFrame(&copy, b, date) == Self.genericFrame(&genericCopy, b, date))
        // The original has not moved: its next frame chains to event a, not b.
        #expect(try Self.fastFrame(&fast, a, date) == Self.genericFrame(&generic, a, date))
        #expect(fast.previousSignature != copy.previousSignature)
        #expect(try Self.fastFrame(&copy, a, date) == Self.genericFrame(&genericCopy, a, date))
    }

    @Test("a signer held in an optional class property (as StreamingConversation holds it) keeps its buffers from event to event")
    func buffersReusedInPlace() throws {
        final class Holder { var signer: SigV4EventSigner? }
        let holder = Holder()
        holder.signer = Self.signers().fast
        let date = SigV4Date(unixSeconds: 1_700_000_000)
        let chunk = [UInt8](repeating: 9, count: 320)
        _ = try holder.signer!.withSignedAudioInputFrame(chunk, date: date) { $0.count }
        // Weak: it does not count for the signer's uniqueness check, and it becomes nil if the
        // first buffers are ever replaced (and freed).
        weak let first = holder.signer?.audioFrames
        #expect(first != nil)
        for _ in 0..<3 { _ = try holder.signer!.withSignedAudioInputFrame(chunk, date: date) { $0.count } }
        #expect(first != nil && first === holder.signer?.audioFrames)
    }

    @Test("a region with a longer scope, and a signer whose date goes backwards: the same bytes")
    func otherScopesAndDates() throws {
        var (generic, fast) = Self.signers(region: "ap-southeast-2-a-much-longer-region-name-than-any-aws-has-today")
        for seconds: Int64 in [1_700_000_000, 1_600_000_000, 1_600_000_000, 0, 253_402_300_799] {
            let date = SigV4Date(unixSeconds: seconds)
            let chunk = [UInt8](repeating: UInt8(truncatingIfNeeded: seconds), count: 320)
            #expect(try Self.fastFrame(&fast, chunk, date) == Self.genericFrame(&generic, chunk, date), "\(date)")
        }
    }

    @Test("a chunk too large for one message is refused as the generic path refuses it, JSON or inner message")
    func tooLargeMatchesGeneric() throws {
        let max = EventStreamLimits.maxPayloadBytes
        let overhead = 15 + Array(StartConversation.audioInputContentType.utf8).count + 19  // the JSON around the base64
        let jsonTooLarge = (max - overhead) / 4 * 3 + 3  // base64 one group past the payload limit
        let innerTooLarge = (max - overhead) / 4 * 3  // JSON within the limit, its message over it
        let date = SigV4Date(unixSeconds: 1_700_000_000)
        for size in [jsonTooLarge, innerTooLarge] {
            var (generic, fast) = Self.signers()
            let chunk = [UInt8](repeating: 0, count: size)
            var expected: EventStreamError?
            do { _ = try Self.genericFrame(&generic, chunk, date) } catch let error as EventStreamError { expected = error }
            let error = try #require(expected, "\(size) bytes")
            #expect(throws: error) { try Self.fastFrame(&fast, chunk, date) }
            #expect(fast.previousSignature == generic.previousSignature)
        }
    }
}
