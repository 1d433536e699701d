/// Cuts a call's audio, fed as consecutive 20 ms frames, into utterances.
///
/// The idea of py-webrtcvad's `vad_collector`, with a trigger window separate from the pre-roll:
/// - idle, it keeps the last `preRoll + triggerWindow` of audio; speech starts when at least
///   `triggerRatio` of the frames in the trigger window (and never fewer than two) are voiced;
/// - the utterance then begins with everything kept, so it holds `preRoll` of audio from before
///   the trigger window, and grows with every frame, pauses included;
/// - it ends after `silenceTime` of consecutive unvoiced frames (the silence stays in the
///   utterance), or when its audio reaches `clipMax`;
/// - if the voiced span (first to last voiced frame) is shorter than `clipMin`, it is
///   discarded instead.
///
/// Pure apart from the VAD call: no clock, no I/O; positions count samples fed.
/// Not thread safe: feed it from one queue (the call's event loop).
public final class UtteranceSegmenter {
    /// Parameters; durations in milliseconds, rounded to whole 20 ms frames.
    public struct Configuration: Sendable, Equatable {
        /// VAD aggressiveness, 0 (flags the most audio as speech) to 3 (the least).
        public var sensitivity: Int
        /// Non-speech (ms) that ends an utterance.
        public var silenceTime: Int
        /// Utterances whose voiced span is shorter than this (ms) are discarded.
        public var clipMin: Int
        /// Longest utterance audio (ms); values above `Configuration.clipLimit` are clamped to it.
        public var clipMax: Int
        /// Audio (ms) kept from before the trigger window.
        public var preRoll: Int
        /// Window (ms) over which the start trigger counts voiced frames.
        public var triggerWindow: Int
        /// Share of voiced frames in the trigger window that starts an utterance.
        public var triggerRatio: Double

        /// Lex accepts at most 15 s of speech.
        public static let clipLimit = 15_000

        public init(
            sensitivity: Int = 2, silenceTime: Int = 400, clipMin: Int = 200, clipMax: Int = 10_000,
            preRoll: Int = 300, triggerWindow: Int = 200, triggerRatio: Double = 0.5
        ) {
            self.sensitivity = sensitivity
            self.silenceTime = silenceTime
            self.clipMin = clipMin
            self.clipMax = clipMax
            self.preRoll = preRoll
            self.triggerWindow = triggerWindow
            self.triggerRatio = triggerRatio
        }
    }

    public enum Event: Sendable, Equatable {
        /// The start trigger fired (barge-in: the caller talks).
        case speechStarted
        case utteranceEnded(Utterance)
        /// Speech started but its voiced span was shorter than `clipMin`.
        case utteranceDiscarded(speechDuration: Duration)
    }

    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        case unsupportedSampleRate(Int)
        case invalidParameter(name: String, value: String, expected: String)
        case wrongFrameLength(samples: Int, expected: Int)
        case detectorUnavailable(VoiceActivityDetector.Error)

        public var description: String {
            switch self {
            case .unsupportedSampleRate(let rate):
                "segmenter sample rate \(rate) Hz is not supported: use 8000 or 16000 (or 32000, 48000); resample other rates first"
            case .invalidParameter(let name, let value, let expected):
                "segmenter parameter \(name)=\(value) is invalid: expected \(expected)"
            case .wrongFrameLength(let samples, let expected):
                "segmenter frame of \(samples) samples is not 20 ms: expected \(expected) samples"
            case .detectorUnavailable(let error):
                "segmenter has no voice activity detector: \(error)"
            }
        }
    }

    public let sampleRate: Int
    /// Samples in a 20 ms frame.
    public let frameLength: Int
    /// The configuration in use (`clipMax` clamped).
    public let configuration: Configuration
    /// Samples fed so far (also across `reset()`).
    public private(set) var position = 0
    /// Whether an utterance is in progress.
    public var isSpeaking: Bool { !audio.isEmpty }

    private let detector: VoiceActivityDetector
    private let windowFrames, triggerFrames, silenceFrames, minSpeechFrames, maxFrames: Int

    // Idle: a ring of the last `decisions.count` frames (samples and VAD decisions).
    private var ring: [Int16]
    private var decisions: [Bool]
    private var ringStart = 0, ringCount = 0

    // Speaking: the utterance so far; voiced span and trailing silence in frames of `audio`.
    private var audio: [Int16] = []
    private var audioStart = 0
    private var firstVoiced = 0, lastVoiced = 0, silentRun = 0

    public init(sampleRate: Int, configuration: Configuration = Configuration()) throws(Error) {
        guard VoiceActivityDetector.sampleRates.contains(sampleRate) else { throw .unsupportedSampleRate(sampleRate) }
        var config = configuration
        config.clipMax = min(config.clipMax, Configuration.clipLimit)
        func check(_ ok: Bool, _ name: String, _ value: some CustomStringConvertible, _ expected: String) throws(Error) {
            if !ok { throw .invalidParameter(name: name, value: value.description, expected: expected) }
        }
        try check((0...3).contains(config.sensitivity), "sensitivity", config.sensitivity, "0 to 3")
        try check(config.silenceTime >= 20, "silence_time", config.silenceTime, "at least 20 ms")
        try check(config.clipMin >= 0, "clip_min", config.clipMin, "0 ms or more")
        try check(config.preRoll >= 0 && config.preRoll <= 2000, "pre_roll", config.preRoll, "0 to 2000 ms")
        try check(config.triggerWindow >= 40 && config.triggerWindow <= 1000, "trigger_window", config.triggerWindow, "40 to 1000 ms")
        try check(config.triggerRatio > 0 && config.triggerRatio <= 1, "trigger_ratio", config.triggerRatio, "more than 0, at most 1")
        try check(config.clipMax >= max(config.clipMin, config.preRoll + config.triggerWindow) + 20, "clip_max", config.clipMax,
                  "more than clip_min and than pre_roll + trigger_window, at most \(Configuration.clipLimit) ms")
        do {
            detector = try VoiceActivityDetector(sampleRate: sampleRate, mode: config.sensitivity)
        } catch {
            throw .detectorUnavailable(error)
        }
        func frames(_ ms: Int) -> Int { (ms + 19) / 20 }
        self.sampleRate = sampleRate
        self.configuration = config
        frameLength = sampleRate / 50
        windowFrames = config.triggerWindow / 20
        triggerFrames = max(2, Int((config.triggerRatio * Double(windowFrames)).rounded(.up)))
        silenceFrames = frames(config.silenceTime)
        minSpeechFrames = frames(config.clipMin)
        maxFrames = config.clipMax / 20
        let ringFrames = frames(config.preRoll) + windowFrames
        ring = Array(repeating: 0, count: ringFrames * frameLength)
        decisions = Array(repeating: false, count: ringFrames)
    }

    /// Feeds one 20 ms frame; the VAD decides whether it is speech.
    public func process(frame: UnsafeBufferPointer<Int16>) throws(Error) -> Event? {
        guard frame.count == frameLength else { throw .wrongFrameLength(samples: frame.count, expected: frameLength) }
        // The length is right, so the detector cannot fail.
        let voiced = (try? detector.isSpeech(frame: frame)) ?? false
        return try process(frame: frame, isSpeech: voiced)
    }

    public func process(frame: [Int16]) throws(Error) -> Event? {
        try frame.withUnsafeBufferPointer { (buffer) throws(Error) -> Event? in try process(frame: buffer) }
    }

    /// Feeds one 20 ms frame with a speech decision made elsewhere (the VAD is not called).
    public func process(frame: UnsafeBufferPointer<Int16>, isSpeech voiced: Bool) throws(Error) -> Event? {
        guard frame.count == frameLength else { throw .wrongFrameLength(samples: frame.count, expected: frameLength) }
        defer { position += frameLength }
        if audio.isEmpty {
            return keep(frame, voiced) ? .speechStarted : nil
        }
        audio.append(contentsOf: frame)
        let index = audio.count / frameLength - 1
        if voiced {
            lastVoiced = index
            silentRun = 0
        } else {
            silentRun += 1
        }
        if index + 1 >= maxFrames { return end(.maximumLength) }
        if silentRun >= silenceFrames { return end(.silence) }
        return nil
    }

    public func process(frame: [Int16], isSpeech: Bool) throws(Error) -> Event? {
        try frame.withUnsafeBufferPointer { (buffer) throws(Error) -> Event? in try process(frame: buffer, isSpeech: isSpeech) }
    }

    /// Ends the utterance in progress now (end of the stream), or returns nil.
    public func flush() -> Event? {
        defer { reset() }
        return audio.isEmpty ? nil : end(.flushed)
    }

    /// Forgets the utterance in progress and the kept audio; the next frame starts afresh.
    public func reset() {
        audio = []
        ringCount = 0
    }

    /// Idle: keeps the frame in the ring and starts an utterance if the trigger fires.
    private func keep(_ frame: UnsafeBufferPointer<Int16>, _ voiced: Bool) -> Bool {
        let capacity = decisions.count
        let slot = (ringStart + ringCount) % capacity
        if ringCount == capacity { ringStart = (ringStart + 1) % capacity } else { ringCount += 1 }
        decisions[slot] = voiced
        ring.withUnsafeMutableBufferPointer { ring in
            _ = UnsafeMutableBufferPointer(rebasing: ring[slot * frameLength ..< (slot + 1) * frameLength]).update(fromContentsOf: frame)
        }
        guard voiced else { return false }
        // Frames of the trigger window, oldest first, as positions in the ring's order.
        let window = max(0, ringCount - windowFrames) ..< ringCount
        let voicedInWindow = window.count { decisions[(ringStart + $0) % capacity] }
        guard voicedInWindow >= triggerFrames else { return false }

        audio.reserveCapacity(maxFrames * frameLength)
        for i in 0 ..< ringCount {
            let s = (ringStart + i) % capacity
            audio.append(contentsOf: ring[s * frameLength ..< (s + 1) * frameLength])
        }
        audioStart = position + frameLength - audio.count
        firstVoiced = window.first { decisions[(ringStart + $0) % capacity] } ?? window.lowerBound
        lastVoiced = ringCount - 1
        silentRun = 0
        ringCount = 0
        return true
    }

    private func end(_ reason: Utterance.EndReason) -> Event {
        let span = Duration.samples((lastVoiced - firstVoiced + 1) * frameLength, sampleRate: sampleRate)
        let event: Event = lastVoiced - firstVoiced + 1 < minSpeechFrames
            ? .utteranceDiscarded(speechDuration: span)
            : .utteranceEnded(Utterance(samples: audio, sampleRate: sampleRate, startSample: audioStart,
                                        speechDuration: span, reason: reason))
        audio = []
        return event
    }
}
