import Foundation
import Testing
@testable import Audio

/// The committed fixtures (scripts/fixtures/make-audio-fixtures.sh): tracks, their ground truth, and
/// the VAD decisions of webrtcvad-wheels.
enum Fixtures {
    struct Truth: Decodable {
        struct Interval: Decodable {
            let start: Int
            let end: Int
            let voice: String
            let text: String
            let pauses_ms: [Int]
        }
        let sample_rate: Int
        let samples: Int
        let noise: String?
        let snr_db: Int?
        let utterances: [Interval]
    }

    struct Expected: Decodable {
        struct Run: Decodable {
            let frames: Int
            let hex: String
        }
        let generator: String
        let tracks: [String: [String: Run]]
    }

    struct Track {
        let name: String
        let wav: WAV
        let truth: Truth
    }

    static let clean = ["speech16-clean", "speech8-clean"]
    static let snr20 = ["speech16-white20", "speech16-pink20", "speech8-white20", "speech8-pink20"]
    static let snr10 = ["speech16-white10", "speech16-pink10", "speech8-pink10"]
    static let all = clean + snr20 + snr10

    static func url(_ file: String) throws -> URL {
        let directory = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        return directory.appendingPathComponent(file)
    }

    static func track(_ name: String) throws -> Track {
        let wav = try WAV(contentsOf: url(name + ".wav"))
        let truth = try JSONDecoder().decode(Truth.self, from: Data(contentsOf: url(name + ".json")))
        return Track(name: name, wav: wav, truth: truth)
    }

    static func expected() throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: url("vad-expected.json")))
    }

    /// Unpacks decisions stored four frames a hex digit, the first frame in the highest bit.
    static func decisions(_ run: Expected.Run) throws -> [Bool] {
        var bits: [Bool] = []
        for digit in run.hex {
            let value = try #require(digit.hexDigitValue)
            bits += [value & 8 != 0, value & 4 != 0, value & 2 != 0, value & 1 != 0]
        }
        try #require(bits.count >= run.frames && bits.count < run.frames + 4)
        return Array(bits.prefix(run.frames))
    }
}
