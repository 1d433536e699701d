import Dispatch
import Foundation
import Testing
@testable import Audio

@Suite struct VoiceActivityDetectorTests {
    /// Frame by frame, the wrapper decides as webrtcvad-wheels did on the same samples: every
    /// track, modes 0-3, frames of 10, 20 and 30 ms, and for 16 kHz tracks also at 32 and
    /// 48 kHz (each sample repeated 2 or 3 times, as the generator did).
    @Test(arguments: Fixtures.all)
    func decisionsEqualWebRTCVADWheels(trackName: String) throws {
        let track = try Fixtures.track(trackName)
        let runs = try #require(try Fixtures.expected().tracks[trackName])
        let factors = track.wav.sampleRate == 16000 ? [1, 2, 3] : [1]
        #expect(runs.count == factors.count * 3 * 4, "expected decisions for every rate, frame length and mode")
        var compared = 0, mixedRuns = 0
        for factor in factors {
            let samples = factor == 1 ? track.wav.samples : track.wav.samples.flatMap { repeatElement($0, count: factor) }
            let rate = track.wav.sampleRate * factor
            for frameMs in [10, 20, 30] {
                let n = rate / 1000 * frameMs
                for mode in 0...3 {
                    let key = "\(rate)/\(frameMs)/\(mode)"
                    let expected = try Fixtures.decisions(try #require(runs[key], "missing \(key)"))
                    let vad = try VoiceActivityDetector(sampleRate: rate, mode: mode)
                    let actual = try stride(from: 0, through: samples.count - n, by: n).map { start in
                        try samples.withUnsafeBufferPointer { try vad.isSpeech(frame: UnsafeBufferPointer(rebasing: $0[start ..< start + n])) }
                    }
                    #expect(actual.count == expected.count, "\(trackName) \(key): frame count")
                    let mismatches = zip(actual, expected).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
                    #expect(mismatches.isEmpty, "\(trackName) \(key): \(mismatches.count) frames differ, first at \(mismatches.first ?? -1)")
                    compared += actual.count
                    if expected.contains(true) && expected.contains(false) { mixedRuns += 1 }
                }
            }
        }
        // Guard against a vacuous comparison: most runs see both speech and non-speech (at
        // 10 dB SNR the least aggressive modes call every frame speech).
        #expect(mixedRuns * 2 > runs.count, "\(trackName): only \(mixedRuns) of \(runs.count) runs have both decisions")
        print("\(trackName): \(compared) frames in \(runs.count) runs equal to webrtcvad-wheels")
    }

    @Test func rejectsUnsupportedRatesModesAndFrames() throws {
        for rate in [0, 11025, 22050, 24000, 44100] {
            #expect(throws: VoiceActivityDetector.Error.unsupportedSampleRate(rate)) { try VoiceActivityDetector(sampleRate: rate) }
        }
        for mode in [-1, 4] {
            #expect(throws: VoiceActivityDetector.Error.invalidMode(mode)) { try VoiceActivityDetector(sampleRate: 16000, mode: mode) }
        }
        let vad = try VoiceActivityDetector(sampleRate: 8000)
        #expect(VoiceActivityDetector.frameLengths(sampleRate: 8000) == [80, 160, 240])
        for length in [0, 1, 79, 159, 161, 320] {
            #expect(throws: VoiceActivityDetector.Error.invalidFrameLength(samples: length, sampleRate: 8000)) {
                try vad.isSpeech(frame: [Int16](repeating: 1000, count: length))
            }
        }
        for length in [80, 160, 240] {
            #expect(try vad.isSpeech(frame: [Int16](repeating: 0, count: length)) == false)
        }
    }

    @Test func errorsSayWhatToDo() {
        #expect(VoiceActivityDetector.Error.unsupportedSampleRate(24000).description.contains("8000, 16000, 32000 or 48000"))
        #expect(VoiceActivityDetector.Error.invalidFrameLength(samples: 100, sampleRate: 16000).description.contains("160, 320, 480"))
    }

    /// Instances created at the same time on many threads decide exactly as one created alone.
    @Test func concurrentCreationGivesIndependentInstances() throws {
        let track = try Fixtures.track("speech16-white20")
        let frames = stride(from: 0, through: track.wav.samples.count - 320, by: 320).map { Array(track.wav.samples[$0 ..< $0 + 320]) }
        @Sendable func run() throws -> [Bool] {
            let vad = try VoiceActivityDetector(sampleRate: 16000, mode: 3)
            return try frames.map { try vad.isSpeech(frame: $0) }
        }
        let reference = try run()
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: 32) { index in
            results.store(index, Result { try run() })
        }
        let all = results.values
        #expect(all.count == 32)
        for (index, result) in all {
            #expect(try result.get() == reference, "instance \(index)")
        }
    }

    private final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: [Int: Result<[Bool], any Error>] = [:]
        func store(_ index: Int, _ result: Result<[Bool], any Error>) { lock.withLock { stored[index] = result } }
        var values: [Int: Result<[Bool], any Error>] { lock.withLock { stored } }
    }
}
