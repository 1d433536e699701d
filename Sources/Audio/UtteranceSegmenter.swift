/// Cuts a call's audio, fed as consecutive 20 ms frames, into utterances.
///
/// The idea of py-webrtcvad's `vad_collector`, with a trigger window separate from the pre-roll,
/// and a noise gate on the VAD (the WebRTC VAD takes steady noise for speech, from 20 dB SNR
/// for babble and from 10 dB for white and pink noise on a loud line):
/// - each frame is *voiced* if the VAD says so, and *loud* if its energy reaches the call's
///   noise gate (`NoiseFloor`: floor + max(`noiseMargin`, `noiseSpreadFactor` × spread) dB);
///   a frame is *speech* if it is both. With `noiseMargin` 0 there is no gate: every frame is
///   loud;
/// - idle, it keeps the last `preRoll + triggerWindow` of audio; speech starts when at least
///   `triggerRatio` of the frames in the trigger window (and never fewer than two) are speech;
/// - the utterance then begins with everything kept, so it holds `preRoll` of audio from before
///   the trigger window, and grows with every frame, pauses included;
/// - it ends after `silenceTime` of consecutive unvoiced frames, or after `silenceTime` +
///   `gateHangover` of consecutive frames that are not speech (so noise the VAD calls voiced
///   cannot hold it open, while the VAD's own hangover after a word still counts as it always
///   did), the silence staying in the utterance; or when its audio reaches `clipMax`;
/// - if the speech span (first to last speech frame) is shorter than `clipMin`, it is
///   discarded instead;
/// - the noise floor adapts to every frame heard while no utterance is open (the frame that
///   opens one excluded). Inside an utterance a caller's speech does not move it, with one
///   exception for noise that got louder: when `noiseRiseTime` passes without a single frame
///   below the gate (speech has gaps between words, steady noise has none), the floor rises
///   to the quietest frame of that stretch, and the release rule above then ends the utterance.
///
/// `process(frame:isSpeech:)` takes the final decision from elsewhere (no VAD, no gate, the
/// floor unmoved); `process(frame:voiceActivity:)` takes the VAD's decision and applies the gate.
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
        /// Share of speech frames in the trigger window that starts an utterance.
        public var triggerRatio: Double
        /// Least margin (dB) of the noise gate above the call's noise floor (`NoiseFloor`);
        /// 0 turns the gate off (the VAD alone decides, as before the gate existed).
        public var noiseMargin: Double
        /// The gate's margin as a multiple of the noise's spread above the floor, when larger
        /// than `noiseMargin` (fluctuating noise such as babble).
        public var noiseSpreadFactor: Double
        /// Frames the VAD calls voiced but the gate does not may hold an utterance open this
        /// long (ms) beyond `silenceTime` (the VAD's own hangover after speech, about that long).
        public var gateHangover: Int
        /// Inside an utterance, when no frame has fallen below the gate for this long (ms), the
        /// floor is taken as stale (the noise got louder) and rises to the quietest of those
        /// frames; 0: never (the floor then adapts only between utterances).
        public var noiseRiseTime: Int

        /// Lex accepts at most 15 s of speech.
        public static let clipLimit = 15_000

        public init(
            sensitivity: Int = 2, silenceTime: Int = 400, clipMin: Int = 200, clipMax: Int = 10_000,
            preRoll: Int = 300, triggerWindow: Int = 200, triggerRatio: Double = 0.5,
            noiseMargin: Double = 3, noiseSpreadFactor: Double = 2.5, gateHangover: Int = 200,
            noiseRiseTime: Int = 3000
        ) {
            self.sensitivity = sensitivity
            self.silenceTime = silenceTime
            self.clipMin = clipMin
            self.clipMax = clipMax
            self.preRoll = preRoll
            self.triggerWindow = triggerWindow
            self.triggerRatio = triggerRatio
            self.noiseMargin = noiseMargin
            self.noiseSpreadFactor = noiseSpreadFactor
            self.gateHangover = gateHangover
            self.noiseRiseTime = noiseRiseTime
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
    public private(set) var configuration: Configuration
    /// Samples fed so far (also across `reset()`).
    public private(set) var position = 0
    /// Whether an utterance is in progress.
    public var isSpeaking: Bool { !audio.isEmpty }
    /// The call's noise floor and gate (unused when `noiseMargin` is 0).
    public private(set) var noiseFloor: NoiseFloor

    private let detector: VoiceActivityDetector
    private let gated: Bool
    private let windowFrames, triggerFrames, minSpeechFrames, hangoverFrames, riseFrames: Int
    // Inside an utterance: consecutive frames at or above the gate, and the quietest of them.
    private var loudRun = 0, loudMinimum = Double.infinity
    private var silenceFrames, maxFrames: Int

    // Idle: a ring of the last `decisions.count` frames (samples and speech decisions).
    private var ring: [Int16]
    private var decisions: [Bool]
    private var ringStart = 0, ringCount = 0

    // Speaking: the utterance so far; voiced span and trailing silence in frames of `audio`.
    private var audio: [Int16] = []
    private var audioStart = 0
    private var firstVoiced = 0, lastVoiced = 0, silentRun = 0, quietRun = 0

    public init(sampleRate: Int, configuration: Configuration = Configuration()) throws(Error) {
        guard VoiceActivityDetector.sampleRates.contains(sampleRate) else { throw .unsupportedSampleRate(sampleRate) }
        let config = try Self.validated(configuration)
        do {
            detector = try VoiceActivityDetector(sampleRate: sampleRate, mode: config.sensitivity)
        } catch {
            throw .detectorUnavailable(error)
        }
        self.sampleRate = sampleRate
        self.configuration = config
        frameLength = sampleRate / 50
        windowFrames = config.triggerWindow / 20
        triggerFrames = max(2, Int((config.triggerRatio * Double(windowFrames)).rounded(.up)))
        silenceFrames = Self.frames(config.silenceTime)
        minSpeechFrames = Self.frames(config.clipMin)
        hangoverFrames = Self.frames(config.gateHangover)
        riseFrames = Self.frames(config.noiseRiseTime)
        maxFrames = config.clipMax / 20
        gated = config.noiseMargin > 0
        noiseFloor = NoiseFloor(sampleRate: sampleRate, margin: config.noiseMargin, spreadFactor: config.noiseSpreadFactor)
        let ringFrames = Self.frames(config.preRoll) + windowFrames
        ring = Array(repeating: 0, count: ringFrames * frameLength)
        decisions = Array(repeating: false, count: ringFrames)
    }

    /// Changes the end-of-speech silence and the longest utterance for what follows (a turn's
    /// overrides, such as Lex's `x-amz-lex:audio:end-timeout-ms` and `max-length-ms`): the
    /// utterance in progress, if any, ends by the new rules, judged from the next frame.
    /// Throws `invalidParameter` (and changes nothing) where `init` would.
    public func setTurn(silenceTime: Int, clipMax: Int) throws(Error) {
        var next = configuration
        next.silenceTime = silenceTime
        next.clipMax = clipMax
        configuration = try Self.validated(next)
        silenceFrames = Self.frames(configuration.silenceTime)
        maxFrames = configuration.clipMax / 20
    }

    private static func frames(_ ms: Int) -> Int { (ms + 19) / 20 }

    /// `configuration` with `clipMax` clamped, or the first invalid parameter.
    private static func validated(_ configuration: Configuration) throws(Error) -> Configuration {
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
        try check(config.noiseMargin >= 0 && config.noiseMargin <= 30, "noise_margin", config.noiseMargin, "0 (off) to 30 dB")
        try check(config.noiseSpreadFactor >= 0 && config.noiseSpreadFactor <= 10, "noise_spread_factor",
                  config.noiseSpreadFactor, "0 to 10")
        try check(config.gateHangover >= 0 && config.gateHangover <= 2000, "gate_hangover", config.gateHangover, "0 to 2000 ms")
        try check(config.noiseRiseTime == 0 || config.noiseRiseTime >= 1000 && config.noiseRiseTime <= 15_000, "noise_rise_time",
                  config.noiseRiseTime, "0 (off) or 1000 to 15000 ms")
        return config
    }

    /// Feeds one 20 ms frame; the VAD and the noise gate decide whether it is speech.
    public func process(frame: UnsafeBufferPointer<Int16>) throws(Error) -> Event? {
        guard frame.count == frameLength else { throw .wrongFrameLength(samples: frame.count, expected: frameLength) }
        // The length is right, so the detector cannot fail.
        let voiced = (try? detector.isSpeech(frame: frame)) ?? false
        return try process(frame: frame, voiceActivity: voiced)
    }

    public func process(frame: [Int16]) throws(Error) -> Event? {
        try frame.withUnsafeBufferPointer { (buffer) throws(Error) -> Event? in try process(frame: buffer) }
    }

    /// Feeds one 20 ms frame with the VAD's decision made elsewhere: the noise gate applies and
    /// the floor adapts as in `process(frame:)`.
    public func process(frame: UnsafeBufferPointer<Int16>, voiceActivity voiced: Bool) throws(Error) -> Event? {
        guard frame.count == frameLength else { throw .wrongFrameLength(samples: frame.count, expected: frameLength) }
        guard gated else { return advance(frame, voiced, loud: true) }
        let energy = noiseFloor.energy(of: frame)
        let idle = audio.isEmpty
        let loud = energy >= noiseFloor.gate ?? -.infinity
        let event = advance(frame, voiced, loud: loud)
        if idle && audio.isEmpty {
            noiseFloor.adapt(to: energy)
        } else if !audio.isEmpty {
            // Inside an utterance: a floor that no frame has come down to for `noiseRiseTime`
            // is stale (the noise itself got louder); it rises to the quietest of those frames.
            loudRun = loud ? loudRun + 1 : 0
            loudMinimum = loud ? min(loudMinimum, energy) : .infinity
            if riseFrames > 0 && loudRun >= riseFrames {
                noiseFloor.rise(to: loudMinimum)
                loudRun = 0
                loudMinimum = .infinity
            }
        }
        return event
    }

    public func process(frame: [Int16], voiceActivity: Bool) throws(Error) -> Event? {
        try frame.withUnsafeBufferPointer { (buffer) throws(Error) -> Event? in try process(frame: buffer, voiceActivity: voiceActivity) }
    }

    /// Feeds one 20 ms frame with the final speech decision made elsewhere: neither the VAD
    /// nor the noise gate is consulted, and the floor does not move.
    public func process(frame: UnsafeBufferPointer<Int16>, isSpeech voiced: Bool) throws(Error) -> Event? {
        guard frame.count == frameLength else { throw .wrongFrameLength(samples: frame.count, expected: frameLength) }
        return advance(frame, voiced, loud: true)
    }

    public func process(frame: [Int16], isSpeech: Bool) throws(Error) -> Event? {
        try frame.withUnsafeBufferPointer { (buffer) throws(Error) -> Event? in try process(frame: buffer, isSpeech: isSpeech) }
    }

    /// One frame of the state machine: `voiced` the VAD's decision, `loud` whether the frame
    /// passes the noise gate; speech is both.
    private func advance(_ frame: UnsafeBufferPointer<Int16>, _ voiced: Bool, loud: Bool) -> Event? {
        defer { position += frameLength }
        let speech = voiced && loud
        if audio.isEmpty {
            return keep(frame, speech) ? .speechStarted : nil
        }
        audio.append(contentsOf: frame)
        let index = audio.count / frameLength - 1
        silentRun = voiced ? 0 : silentRun + 1
        if speech {
            lastVoiced = index
            quietRun = 0
        } else {
            quietRun += 1
        }
        if index + 1 >= maxFrames { return end(.maximumLength) }
        if silentRun >= silenceFrames || quietRun >= silenceFrames + hangoverFrames { return end(.silence) }
        return nil
    }

    /// Ends the utterance in progress now (end of the stream), or returns nil.
    public func flush() -> Event? {
        defer { reset() }
        return audio.isEmpty ? nil : end(.flushed)
    }

    /// Forgets the utterance in progress and the kept audio; the next frame starts afresh. The
    /// noise floor is kept: it belongs to the call, not to an utterance.
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
        quietRun = 0
        loudRun = 0
        loudMinimum = .infinity
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
