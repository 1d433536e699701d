import Foundation
import Testing
@testable import Audio

/// The segmenter's noise gate as transcripts: frames of a 1 kHz tone of known amplitude (whole
/// periods, so every frame has the same energy: 10·log10(A²/2 + 1) dB, the 200 Hz high-pass
/// passing 1 kHz at -0.007 dB), with the VAD's decision given; then a real noisy call.
@Suite struct NoiseGateTests {
    static let rate = 8000
    static let n = 160
    /// Tone amplitudes: noise, and speech 30 dB above it.
    static let noise = 100.0, speech = 3162.0

    /// Frame `i` of a 1 kHz tone of amplitude `amplitude` (phase continuous across frames).
    static func tone(_ amplitude: Double, _ i: Int) -> [Int16] {
        (0 ..< n).map { Int16((amplitude * sin(2 * Double.pi * 1000 * Double(i * n + $0) / Double(rate))).rounded()) }
    }

    static func decibels(_ amplitude: Double) -> Double { 10 * log10(amplitude * amplitude / 2 + 1) }

    struct Step {
        var amplitude: Double
        var voiced: Bool
    }

    /// Feeds frames `range`, each as `step(i)` says; returns the events with their frame.
    static func feed(_ s: UtteranceSegmenter, _ range: Range<Int>, _ step: (Int) -> Step) throws -> [(Int, UtteranceSegmenter.Event)] {
        var events: [(Int, UtteranceSegmenter.Event)] = []
        for i in range {
            let st = step(i)
            if let e = try s.process(frame: tone(st.amplitude, i), voiceActivity: st.voiced) { events.append((i, e)) }
        }
        return events
    }

    static func ended(_ events: [(Int, UtteranceSegmenter.Event)]) -> [(frame: Int, reason: Utterance.EndReason)] {
        events.compactMap { if case .utteranceEnded(let u) = $0.1 { ($0.0, u.reason) } else { nil } }
    }

    /// The floor learns the noise; 30 dB louder speech opens an utterance; then noise that the
    /// VAD keeps calling speech ends it after silence_time + gate_hangover (600 ms). Without
    /// the gate, the same audio holds the utterance open until clip_max.
    @Test func stationaryNoiseDoesNotHoldAnUtteranceOpen() throws {
        let transcript: (Int) -> Step = { i in
            switch i {
            case ..<100: Step(amplitude: Self.noise, voiced: false)
            case ..<130: Step(amplitude: Self.speech, voiced: true)
            default: Step(amplitude: Self.noise, voiced: true)  // the VAD fooled by the noise
            }
        }
        let gated = try UtteranceSegmenter(sampleRate: Self.rate)
        var events = try Self.feed(gated, 0 ..< 100, transcript)
        #expect(events.isEmpty)
        let floor = try #require(gated.noiseFloor.level)
        #expect(abs(floor - Self.decibels(Self.noise)) < 0.5, "floor \(floor) dB")
        #expect(gated.noiseFloor.gate == floor + 3, "steady tone: no spread, the gate is floor + noise_margin")

        events = try Self.feed(gated, 100 ..< 700, transcript)
        #expect(events.first.map { $0.0 } == 104, "speech starts on the 5th speech frame")
        // Frame 130 still carries the high-pass filter's ring-down of the speech (above the
        // gate); 131 to 160 are 30 frames (600 ms) of noise below it.
        #expect(Self.ended(events).map(\.frame) == [160], "30 frames (600 ms) of noise end it")
        #expect(Self.ended(events).map(\.reason) == [.silence])
        #expect(events.count == 2, "the noise after it opens nothing: \(events)")

        var config = UtteranceSegmenter.Configuration()
        config.noiseMargin = 0
        let ungated = try UtteranceSegmenter(sampleRate: Self.rate, configuration: config)
        let before = try Self.feed(ungated, 0 ..< 700, transcript)
        #expect(Self.ended(before).first?.reason == .maximumLength, "without the gate the noise holds it to clip_max")
        #expect(Self.ended(before).first?.frame == 579, "500 frames from the pre-roll's first, frame 80")
    }

    /// Speech found in noise, at the gate's edge: frames the VAD calls voiced open an utterance
    /// when 5 dB above the floor, and not when 2 dB above it (noise_margin 3 dB).
    @Test func speechInNoiseIsFoundAboveTheGateOnly() throws {
        for (above, opens) in [(2.0, false), (5.0, true)] {
            let s = try UtteranceSegmenter(sampleRate: Self.rate)
            let loud = Self.noise * pow(10, above / 20)
            let events = try Self.feed(s, 0 ..< 200) { i in
                i < 100 ? Step(amplitude: Self.noise, voiced: false) : Step(amplitude: loud, voiced: true)
            }
            #expect(events.contains { $0.1 == .speechStarted } == opens, "\(above) dB above the floor")
        }
    }

    /// The floor follows the noise while no utterance is open (up by at most 0.2 dB a frame,
    /// down by 3% of the distance), and stays put inside one, quiet frames included.
    @Test func floorAdaptsOnlyOutsideUtterances() throws {
        let s = try UtteranceSegmenter(sampleRate: Self.rate)
        let loudNoise = Self.noise * 10  // 20 dB up
        _ = try Self.feed(s, 0 ..< 100) { _ in Step(amplitude: Self.noise, voiced: false) }
        let quiet = try #require(s.noiseFloor.level)

        // Noise 20 dB up while idle, the VAD calling it unvoiced: the floor climbs 0.2 dB a frame.
        _ = try Self.feed(s, 100 ..< 110) { _ in Step(amplitude: loudNoise, voiced: false) }
        let climbed = try #require(s.noiseFloor.level)
        #expect(abs(climbed - quiet - 2.0) < 0.01, "10 frames x 0.2 dB: \(climbed - quiet)")
        _ = try Self.feed(s, 110 ..< 200) { _ in Step(amplitude: loudNoise, voiced: false) }
        let loudFloor = try #require(s.noiseFloor.level)
        #expect(abs(loudFloor - Self.decibels(loudNoise)) < 0.5)

        // An utterance (speech 30 dB over the loud noise) with quiet pauses inside: no change.
        var levels: [Double] = []
        var open = false
        for i in 200 ..< 300 {
            let amplitude = i < 230 || (240 ..< 260).contains(i) ? loudNoise * 31.6 : Self.noise
            let event = try s.process(frame: Self.tone(amplitude, i), voiceActivity: amplitude > loudNoise)
            if event == .speechStarted { open = true }
            if open && s.isSpeaking { levels.append(try #require(s.noiseFloor.level)) }
        }
        #expect(levels.count == 75 && Set(levels).count == 1, "frozen inside the utterance (frames 204 to 278)")
        #expect(!s.isSpeaking)

        // Back to idle in the quiet noise from frame 280: the floor comes down, 3% of the
        // distance a frame.
        let frozen = try #require(levels.last)
        _ = try Self.feed(s, 300 ..< 400) { _ in Step(amplitude: Self.noise, voiced: false) }
        let after = try #require(s.noiseFloor.level)
        let expected = Self.decibels(Self.noise) + (frozen - Self.decibels(Self.noise)) * pow(0.97, 120)
        #expect(abs(after - expected) < 0.5, "floor \(after), expected about \(expected)")
    }

    /// Noise 20 dB louder from one frame to the next, taken for speech by the VAD: it opens an
    /// utterance (the floor could not know), but after noise_rise_time (3 s) with no frame
    /// below the gate the floor rises to the new noise and the utterance ends 600 ms later;
    /// the louder noise then opens nothing. With noise_rise_time 0 it holds to clip_max and
    /// opens the next one at once.
    @Test func noiseThatGetsLouderCostsOneUtteranceCutShort() throws {
        let transcript: (Int) -> Step = { i in
            i < 100 ? Step(amplitude: Self.noise, voiced: false) : Step(amplitude: Self.noise * 10, voiced: true)
        }
        let s = try UtteranceSegmenter(sampleRate: Self.rate)
        let events = try Self.feed(s, 0 ..< 1500, transcript)
        #expect(events.first.map { $0.0 } == 104)
        // Frames 104 (the trigger) to 253: 150 (3 s) at or above the gate; the floor rises; 30 frames
        // below the new gate end the utterance.
        #expect(Self.ended(events).map(\.frame) == [283] && Self.ended(events).map(\.reason) == [.silence], "\(events)")
        #expect(events.count == 2, "nothing after: \(events)")
        #expect(abs(try #require(s.noiseFloor.level) - Self.decibels(Self.noise * 10)) < 0.5)

        var config = UtteranceSegmenter.Configuration()
        config.noiseRiseTime = 0
        let stale = try UtteranceSegmenter(sampleRate: Self.rate, configuration: config)
        let cut = Self.ended(try Self.feed(stale, 0 ..< 1500, transcript))
        #expect(cut.count >= 2 && cut.allSatisfy { $0.reason == .maximumLength }, "\(cut)")
    }

    /// A turn's override of silence_time: a 1 s pause splits an utterance at the default
    /// 400 ms, and stays inside it once `setTurn` asks for 1500 ms. Invalid values change nothing.
    @Test func setTurnChangesSilenceTimeAndClipMaxBetweenUtterances() throws {
        let s = try UtteranceSegmenter(sampleRate: Self.rate)
        let talk: (Int) -> Step = { i in
            let speaking = (50 ..< 80).contains(i) || (130 ..< 160).contains(i)
            return Step(amplitude: speaking ? Self.speech : Self.noise, voiced: speaking)
        }
        #expect(Self.ended(try Self.feed(s, 0 ..< 250, talk)).count == 2)
        try s.setTurn(silenceTime: 1500, clipMax: 8000)
        #expect(s.configuration.silenceTime == 1500 && s.configuration.clipMax == 8000)
        let next = Self.ended(try Self.feed(s, 250 ..< 500) { talk($0 - 250) })
        #expect(next.map(\.reason) == [.silence] && next.first?.frame == 250 + 159 + 75,
                "one utterance, ended 1500 ms (75 frames) after its last speech frame: \(next)")
        #expect(throws: UtteranceSegmenter.Error.self) { try s.setTurn(silenceTime: 10, clipMax: 8000) }
        #expect(throws: UtteranceSegmenter.Error.self) { try s.setTurn(silenceTime: 400, clipMax: 100) }
        #expect(s.configuration.silenceTime == 1500 && s.configuration.clipMax == 8000)
    }

    @Test func rejectsBadGateParameters() {
        let bad: [(String, (inout UtteranceSegmenter.Configuration) -> Void)] = [
            ("noise_margin", { $0.noiseMargin = -1 }), ("noise_margin", { $0.noiseMargin = 31 }),
            ("noise_spread_factor", { $0.noiseSpreadFactor = 11 }), ("gate_hangover", { $0.gateHangover = -20 }),
            ("noise_rise_time", { $0.noiseRiseTime = 500 }),
        ]
        for (name, configure) in bad {
            var config = UtteranceSegmenter.Configuration()
            configure(&config)
            #expect {
                _ = try UtteranceSegmenter(sampleRate: Self.rate, configuration: config)
            } throws: { error in
                guard case .invalidParameter(let got, _, _) = error as? UtteranceSegmenter.Error else { return false }
                return got == name
            }
        }
    }

    /// A real call (scripts/fixtures/segmentation_fixtures.py --unit): three utterances at 8 kHz in the
    /// babble of six espeak-ng voices at 20 dB SNR, the speech peaking at -2 dBFS. The VAD
    /// takes the babble for speech from the first second; with the gate, every utterance is
    /// found once, whole, and nothing is sent that holds noise only.
    @Test func babbleAt20dBOnARealCall() throws {
        let gated = try SegmentationGroundTruthTests.score("callb8-babble20")
        print(gated)
        #expect(gated.perfect, "\(gated)")
        #expect(gated.tailMs.allSatisfy { $0 <= 700 }, "\(gated)")

        var config = UtteranceSegmenter.Configuration()
        config.noiseMargin = 0
        let ungated = try SegmentationGroundTruthTests.score("callb8-babble20", configuration: config)
        print("without the gate: \(ungated)")
        #expect(ungated.merged > 0, "the VAD alone merges these utterances: \(ungated)")
    }
}
