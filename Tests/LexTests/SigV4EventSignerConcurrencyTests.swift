import Dispatch
import Foundation
import Synchronization
import Testing
import TestSupport

@testable import Lex

/// The audio event's fast path on many threads at once, as several event loops sign their
/// calls' events: each signer has its own OpenSSL contexts, all made from the shim's one shared
/// HMAC template and fetched digest (`COpenSSL/shim.c`), and one `SigningKeyCache` serves them
/// all. Every frame equals the generic path's, and signers are made and freed mid-run.
@Suite("SigV4 event signing: the fast path on several threads")
struct SigV4EventSignerConcurrencyTests {
    @Test("8 threads, 60 signers each made fresh (contexts duplicated concurrently), 50 events each: the same bytes as the generic path")
    func manyThreadsMatchGeneric() throws {
        let signer = SigV4Signer(credentials: SigV4EventSignerFastPathTests.credentials, region: "eu-west-2",
                                 keyCache: SigningKeyCache())
        let mismatches = Atomic<Int>(0)
        let frames = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            var random = SplitMix64(seed: UInt64(thread) &* 7919)
            for call in 0..<60 {
                let seed = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
                var generic = SigV4EventSigner(signer: signer, seed: seed)
                var fast = SigV4EventSigner(signer: signer, seed: seed)
                // Calls straddle midnight UTC: the signing key changes under concurrent use.
                var seconds: Int64 = 1_764_547_200 - 1 + Int64(call % 3)
                for i in 0..<50 {
                    if i == 25 { seconds += 1 }
                    let size = [0, 1, 319, 320, 321, 4096][Int.random(in: 0..<6, using: &random)]
                    let chunk = (0..<size).map { _ in UInt8.random(in: 0...255, using: &random) }
                    let date = SigV4Date(unixSeconds: seconds)
                    let expected = try? SigV4EventSignerFastPathTests.genericFrame(&generic, chunk, date)
                    let got = try? SigV4EventSignerFastPathTests.fastFrame(&fast, chunk, date)
                    if expected == nil || got != expected { mismatches.add(1, ordering: .relaxed) }
                    frames.add(1, ordering: .relaxed)
                }
            }
        }
        #expect(frames.load(ordering: .relaxed) == 8 * 60 * 50)
        #expect(mismatches.load(ordering: .relaxed) == 0)
    }
}
