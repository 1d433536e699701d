/// A stretch of caller speech cut by `UtteranceSegmenter`, ready to send to Lex: continuous
/// audio from the pre-roll before the speech to the end, pauses between words included.
public struct Utterance: Sendable, Equatable {
    public enum EndReason: Sendable, Equatable {
        /// `silenceTime` of non-speech followed the speech (the trailing silence is included).
        case silence
        /// The audio reached `clipMax`; speech that goes on starts a new utterance.
        case maximumLength
        /// The caller of `UtteranceSegmenter.flush()` ended it (end of the audio stream).
        case flushed
    }

    /// 16-bit mono samples at `sampleRate`.
    public let samples: [Int16]
    public let sampleRate: Int
    /// Position of `samples[0]` in the segmenter's input stream, counted in samples from the
    /// first frame it was fed.
    public let startSample: Int
    /// From the start of the first frame the VAD flagged as speech to the end of the last one.
    public let speechDuration: Duration
    public let reason: EndReason

    public init(samples: [Int16], sampleRate: Int, startSample: Int, speechDuration: Duration, reason: EndReason) {
        self.samples = samples
        self.sampleRate = sampleRate
        self.startSample = startSample
        self.speechDuration = speechDuration
        self.reason = reason
    }

    /// Position just past the last sample in the input stream.
    public var endSample: Int { startSample + samples.count }

    /// Length of the audio.
    public var duration: Duration { .samples(samples.count, sampleRate: sampleRate) }
}

extension Duration {
    /// The duration of `count` samples at `sampleRate` Hz (exact to the nanosecond).
    static func samples(_ count: Int, sampleRate: Int) -> Duration {
        .nanoseconds(Int64(count) * 1_000_000_000 / Int64(sampleRate))
    }
}
