import Testing
@testable import Audio

/// The segmenter's state machine, fed decisions directly: frame `i` holds the value `i` in
/// every sample, so an utterance's audio tells exactly which frames it kept.
@Suite struct UtteranceSegmenterTests {
    static let rate = 8000
    static let n = 160

    struct Run {
        var events: [(frame: Int, event: UtteranceSegmenter.Event)] = []
        var utterances: [Utterance] { events.compactMap { if case .utteranceEnded(let u) = $0.event { u } else { nil } } }
        var started: [Int] { events.compactMap { if case .speechStarted = $0.event { $0.frame } else { nil } } }
        var discarded: [Duration] { events.compactMap { if case .utteranceDiscarded(let d) = $0.event { d } else { nil } } }
    }

    /// Feeds `voiced(i)` for frames `0..<count`, starting at frame `first`.
    static func feed(_ segmenter: UtteranceSegmenter, _ frames: Range<Int>, into run: inout Run, voiced: (Int) -> Bool) throws {
        for i in frames {
            if let event = try segmenter.process(frame: [Int16](repeating: Int16(truncatingIfNeeded: i), count: n), isSpeech: voiced(i)) {
                run.events.append((i, event))
            }
        }
    }

    static func frames(of u: Utterance) -> [Int] {
        stride(from: 0, to: u.samples.count, by: n).map { Int(u.samples[$0]) }
    }

    static func segmenter(
        _ configure: (inout UtteranceSegmenter.Configuration) -> Void = { _ in }
    ) throws(UtteranceSegmenter.Error) -> UtteranceSegmenter {
        var c = UtteranceSegmenter.Configuration()
        configure(&c)
        return try UtteranceSegmenter(sampleRate: rate, configuration: c)
    }

    @Test func defaultsAreTheOriginalConnectorsAndLexsLimit() throws {
        let c = UtteranceSegmenter.Configuration()
        #expect(c.sensitivity == 2 && c.silenceTime == 400 && c.clipMin == 200 && c.clipMax == 10_000 && c.preRoll == 300)
        let clamped = try Self.segmenter { $0.clipMax = 60_000 }
        #expect(clamped.configuration.clipMax == 15_000)
        #expect(try Self.segmenter().frameLength == 160)
        #expect(try UtteranceSegmenter(sampleRate: 16000).frameLength == 320)
    }

    /// One voiced frame never starts speech, nor do scattered ones below the trigger ratio.
    @Test func isolatedVoicedFramesDoNotTrigger() throws {
        // Even with a ratio that asks for a single frame, the trigger needs two.
        let eager = try Self.segmenter { $0.triggerRatio = 0.05 }
        var run = Run()
        try Self.feed(eager, 0 ..< 300, into: &run) { $0 % 10 == 0 }
        #expect(run.events.isEmpty)
        try Self.feed(eager, 300 ..< 302, into: &run) { _ in true }
        #expect(run.started == [301])

        // Default: 5 of the 10 frames of the 200 ms window; 4 of 10 never start speech.
        let standard = try Self.segmenter()
        run = Run()
        try Self.feed(standard, 0 ..< 500, into: &run) { $0 % 10 < 4 }
        #expect(run.events.isEmpty)
        #expect(!standard.isSpeaking)
    }

    /// Speech starts on the 5th voiced frame; the utterance begins 300 ms before the trigger
    /// window, holds the pause, and ends after 400 ms of non-speech, which it keeps.
    @Test func utteranceIsContinuousFromPreRollToEndWithPauses() throws {
        let segmenter = try Self.segmenter()
        var run = Run()
        // Voiced 50..<100, a 300 ms pause (100..<115), voiced 115..<140, then non-speech.
        try Self.feed(segmenter, 0 ..< 400, into: &run) { (50 ..< 100).contains($0) || (115 ..< 140).contains($0) }
        #expect(run.started == [54])
        #expect(run.utterances.count == 1 && run.events.count == 2)
        let u = try #require(run.utterances.first)
        #expect(run.events.last?.frame == 159, "ends on the 20th non-speech frame")
        // Ring: 15 pre-roll frames + 10 window frames, the trigger frame the last of them.
        #expect(Self.frames(of: u) == Array(30 ... 159))
        #expect(u.startSample == 30 * Self.n && u.endSample == 160 * Self.n)
        #expect(u.reason == .silence)
        #expect(u.speechDuration == .milliseconds(90 * 20))
        #expect(u.duration == .milliseconds(130 * 20))
        #expect(u.sampleRate == Self.rate)
        #expect(segmenter.position == 400 * Self.n)
    }

    @Test func silenceTimeIsTheBoundaryForSplitting() throws {
        for (pause, utterances) in [(19, 1), (20, 2)] {
            let segmenter = try Self.segmenter()
            var run = Run()
            try Self.feed(segmenter, 0 ..< 300, into: &run) { (20 ..< 60).contains($0) || (60 + pause ..< 100 + pause).contains($0) }
            #expect(run.utterances.count == utterances, "pause of \(pause) frames")
            // Nothing is lost between two utterances cut by the silence: the second starts
            // with the frames the first did not take (its pre-roll is shorter).
            if utterances == 2 {
                #expect(run.utterances[1].startSample == run.utterances[0].endSample)
            }
        }
    }

    @Test func shortSpeechIsDiscarded() throws {
        for (voicedFrames, kept) in [(9, false), (10, true)] {
            let segmenter = try Self.segmenter()
            var run = Run()
            try Self.feed(segmenter, 0 ..< 200, into: &run) { (50 ..< 50 + voicedFrames).contains($0) }
            #expect(run.started == [54])
            #expect(run.utterances.count == (kept ? 1 : 0))
            #expect(run.discarded == (kept ? [] : [.milliseconds(voicedFrames * 20)]))
        }
    }

    /// Speech longer than clip_max is cut into pieces of exactly clip_max, none of the audio lost.
    @Test func longSpeechIsCutAtClipMaxWithoutLosingAudio() throws {
        let segmenter = try Self.segmenter { $0.clipMax = 2_000 }
        var run = Run()
        // Pieces of 100 frames: 0...99 and 100...199 (each cut), then 200...289 (ends in silence).
        try Self.feed(segmenter, 0 ..< 400, into: &run) { (20 ..< 270).contains($0) }
        let pieces = run.utterances
        #expect(pieces.map(\.reason) == [.maximumLength, .maximumLength, .silence])
        #expect(pieces.dropLast().allSatisfy { $0.samples.count == 100 * Self.n })
        #expect(run.started.count == 3)
        let frames = pieces.flatMap(Self.frames(of:))
        #expect(frames == Array(0 ... 289), "contiguous from the pre-roll to the end of the silence")
    }

    @Test func clipMaxIsClampedToFifteenSeconds() throws {
        let segmenter = try Self.segmenter { $0.clipMax = 20_000 }
        var run = Run()
        try Self.feed(segmenter, 0 ..< 800, into: &run) { _ in true }
        #expect(run.utterances.first?.duration == .seconds(15))
        #expect(run.utterances.first?.reason == .maximumLength)
    }

    @Test func flushEndsAndResetForgets() throws {
        let segmenter = try Self.segmenter()
        #expect(segmenter.flush() == nil)
        var run = Run()
        try Self.feed(segmenter, 0 ..< 30, into: &run) { $0 >= 10 }
        #expect(segmenter.isSpeaking)
        guard case .utteranceEnded(let u) = segmenter.flush() else {
            Issue.record("flush should end the utterance")
            return
        }
        #expect(u.reason == .flushed && Self.frames(of: u) == Array(0 ..< 30))
        #expect(!segmenter.isSpeaking)

        // Reset drops the utterance in progress and the kept audio.
        try Self.feed(segmenter, 30 ..< 40, into: &run) { _ in true }
        #expect(segmenter.isSpeaking)
        segmenter.reset()
        #expect(!segmenter.isSpeaking && segmenter.flush() == nil)
        run = Run()
        try Self.feed(segmenter, 40 ..< 100, into: &run) { $0 < 60 }
        #expect(run.started == [44])
        #expect(run.utterances.map { Self.frames(of: $0).first } == [40], "nothing from before the reset")
    }

    @Test func rejectsBadFramesAndParameters() throws {
        let segmenter = try Self.segmenter()
        #expect(throws: UtteranceSegmenter.Error.wrongFrameLength(samples: 320, expected: 160)) {
            try segmenter.process(frame: [Int16](repeating: 0, count: 320))
        }
        #expect(throws: UtteranceSegmenter.Error.wrongFrameLength(samples: 0, expected: 160)) {
            try segmenter.process(frame: [], isSpeech: true)
        }
        #expect(segmenter.position == 0)
        #expect(throws: UtteranceSegmenter.Error.unsupportedSampleRate(24000)) { try UtteranceSegmenter(sampleRate: 24000) }
        let bad: [(String, (inout UtteranceSegmenter.Configuration) -> Void)] = [
            ("sensitivity", { $0.sensitivity = 4 }), ("sensitivity", { $0.sensitivity = -1 }),
            ("silence_time", { $0.silenceTime = 10 }), ("clip_min", { $0.clipMin = -5 }),
            ("clip_max", { $0.clipMax = 400 }), ("clip_max", { $0.clipMin = 12_000 }),
            ("pre_roll", { $0.preRoll = -20 }), ("trigger_window", { $0.triggerWindow = 20 }),
            ("trigger_ratio", { $0.triggerRatio = 0 }), ("trigger_ratio", { $0.triggerRatio = 1.5 }),
        ]
        for (name, configure) in bad {
            do throws(UtteranceSegmenter.Error) {
                _ = try Self.segmenter(configure)
                Issue.record("\(name) accepted")
            } catch {
                guard case .invalidParameter(let got, _, _) = error else {
                    Issue.record("\(error)")
                    continue
                }
                #expect(got == name)
            }
        }
    }

    /// With the real VAD: digital silence never starts speech; a loud tone burst does, and
    /// the utterance carries the burst's samples.
    @Test func realDetectorPath() throws {
        let segmenter = try UtteranceSegmenter(sampleRate: 16000)
        var events: [UtteranceSegmenter.Event] = []
        for _ in 0 ..< 100 {
            if let e = try segmenter.process(frame: [Int16](repeating: 0, count: 320)) { events.append(e) }
        }
        #expect(events.isEmpty)
        let track = try Fixtures.track("speech16-clean")
        let yes = track.truth.utterances[0]
        let samples = track.wav.samples
        for start in stride(from: 0, to: yes.end + 16000, by: 320) {
            if let e = try segmenter.process(frame: Array(samples[start ..< start + 320])) { events.append(e) }
        }
        #expect(events.count == 2)
        guard case .utteranceEnded(let u) = events.last else {
            Issue.record("expected an utterance")
            return
        }
        #expect(u.startSample - 100 * 320 <= yes.start && u.endSample - 100 * 320 >= yes.end)
    }
}
