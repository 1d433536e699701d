import Foundation
import Testing
import TestSupport
@testable import WebSocketProtocol

@Suite("UTF-8 validator")
struct UTF8ValidatorTests {
    @Test func knownSequences() {
        #expect(UTF8Validator.isValid(Array("".utf8)))
        #expect(UTF8Validator.isValid(Array("κόσμε 𝄞 € ascii".utf8)))
        #expect(UTF8Validator.isValid([0xEF, 0xBF, 0xBF]))         // U+FFFF
        #expect(UTF8Validator.isValid([0xF4, 0x8F, 0xBF, 0xBF]))   // U+10FFFF
        #expect(UTF8Validator.isValid([0xED, 0x9F, 0xBF]))         // U+D7FF
        #expect(!UTF8Validator.isValid([0xED, 0xA0, 0x80]))        // U+D800
        #expect(!UTF8Validator.isValid([0xC0, 0xAF]))              // overlong
        #expect(!UTF8Validator.isValid([0xE0, 0x80, 0xAF]))        // overlong
        #expect(!UTF8Validator.isValid([0xF0, 0x80, 0x80, 0xAF]))  // overlong
        #expect(!UTF8Validator.isValid([0xF4, 0x90, 0x80, 0x80]))  // > U+10FFFF
        #expect(!UTF8Validator.isValid([0xF5, 0x80, 0x80, 0x80]))
        #expect(!UTF8Validator.isValid([0x80]))
        #expect(!UTF8Validator.isValid([0xE2, 0x82]))              // truncated
        #expect(!UTF8Validator.isValid([0xFE]))
    }

    @Test func failsOnTheFirstImpossibleByte() {
        var v = UTF8Validator()
        let first = v.consume([0xE2, 0x82])
        #expect(first)
        #expect(!v.isAtBoundary)
        let second = v.consume([0x41])
        #expect(!second)
    }

    /// Random byte strings, biased towards UTF-8-like bytes, split at random points: the
    /// incremental validator must agree with the standard library and Foundation.
    @Test func agreesWithTheStandardLibraryOnRandomInput() {
        var rng = SplitMix64(seed: 20_240_601)
        let interesting: [UInt8] = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
                                    0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]
        var validCount = 0
        for i in 0..<4000 {
            let length = Int.random(in: 0...(i % 4 == 0 ? 64 : 12), using: &rng)
            var bytes: [UInt8] = []
            let mode = i % 3  // 0: valid text, 1: valid text with one byte changed, 2: byte soup
            while bytes.count < length {
                if mode < 2 || UInt8.random(in: 0...9, using: &rng) > 6 {
                    let scalar = Unicode.Scalar(UInt32.random(in: 0...0x10FFFF, using: &rng)) ?? "x"
                    bytes += Array(String(Character(scalar)).utf8)
                } else if Bool.random(using: &rng) {
                    bytes.append(interesting.randomElement(using: &rng)!)
                } else {
                    bytes.append(UInt8.random(in: 0x80...0xBF, using: &rng))
                }
            }
            if mode == 1 && !bytes.isEmpty {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = interesting.randomElement(using: &rng)!
            }
            let expected = String(validating: bytes, as: UTF8.self) != nil
            #expect((String(data: Data(bytes), encoding: .utf8) != nil) == expected, "Foundation disagrees on \(bytes)")
            if expected { validCount += 1 }

            #expect(UTF8Validator.isValid(bytes) == expected, "bytes: \(bytes)")
            // Split at random points and feed the pieces.
            var v = UTF8Validator()
            var ok = true
            var rest = bytes[...]
            while !rest.isEmpty && ok {
                let n = Int.random(in: 1...rest.count, using: &rng)
                ok = v.consume(rest.prefix(n))
                rest = rest.dropFirst(n)
            }
            #expect((ok && v.isAtBoundary) == expected, "split bytes: \(bytes)")
        }
        // Make sure both outcomes were exercised.
        #expect(validCount > 1000 && validCount < 3000)
    }

    @Test func longASCIIWithAnErrorAtEveryPosition() {
        for pos in 0..<40 {
            var bytes = [UInt8](repeating: 0x61, count: 40)
            bytes[pos] = 0x80
            #expect(!UTF8Validator.isValid(bytes))
            var ok = bytes
            ok[pos] = 0x7E
            #expect(UTF8Validator.isValid(ok))
        }
    }
}
