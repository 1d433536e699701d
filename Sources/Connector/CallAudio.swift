import Audio

/// The caller's audio on its way to utterances: whole 20 ms frames cut from BINARY messages
/// of any even size (carried over between messages), 24 kHz resampled to 16 kHz, fed to the
/// segmenter. Deterministic (no clock, no I/O); the resampler and the segmenter are stateful
/// objects of this call alone.
struct InboundAudio {
    let frameBytes: Int
    /// Samples of one 20 ms VAD frame at the Lex rate.
    let vadFrame: Int
    let segmenter: UtteranceSegmenter
    let resampler: Resampler?
    private var carry: [UInt8] = []
    private var resampled: [Int16] = []

    init(settings: CallSettings) throws(CallAudioError) {
        frameBytes = settings.frameBytes
        vadFrame = settings.lexRate / 50
        do {
            segmenter = try UtteranceSegmenter(sampleRate: settings.lexRate, configuration: settings.segmenter)
        } catch {
            throw .segmenter(error)
        }
        resampler = try CallAudioError.resampler(settings.resampling.inbound)
    }

    /// Feeds one message; the segmenter's events go to `events` (emptied first). A frame the
    /// segmenter rejects (a programming error: frames are cut to its size) is skipped and its
    /// error returned.
    mutating func receive(_ data: [UInt8], events: inout [UtteranceSegmenter.Event]) -> UtteranceSegmenter.Error? {
        events.removeAll(keepingCapacity: true)
        var rejected: UtteranceSegmenter.Error?
        func feed(_ frame: [Int16]) {
            do throws(UtteranceSegmenter.Error) {
                if let e = try segmenter.process(frame: frame) { events.append(e) }
            } catch { rejected = error }
        }
        // The usual case, one whole frame and nothing carried over, skips the carry buffer.
        let direct = carry.isEmpty && data.count == frameBytes
        if !direct { carry += data }
        var offset = 0
        while (direct ? data.count : carry.count) - offset >= frameBytes {
            let samples = PCM.samples(littleEndian: (direct ? data : carry)[offset..<(offset + frameBytes)])
            offset += frameBytes
            if let r = resampler {
                resampled += r.process(samples)
                while resampled.count >= vadFrame {
                    let f = Array(resampled[0..<vadFrame])
                    resampled.removeFirst(vadFrame)
                    feed(f)
                }
            } else {
                feed(samples)
            }
        }
        if !direct { carry.removeFirst(offset) }
        return rejected
    }
}

/// Lex's reply (16 kHz) on its way to the call's rate: resampled when the call is not at
/// 16 kHz, less the resampler's filter delay at the start of each reply, so a reply keeps its
/// exact length.
struct ReplyAudio {
    let resampler: Resampler?
    private var trim = LatencyTrim()

    init(settings: CallSettings) throws(CallAudioError) {
        resampler = try CallAudioError.resampler(settings.resampling.reply)
    }

    /// A new reply begins: forget the last one's filter state.
    mutating func beginReply() {
        guard let r = resampler else { return }
        r.reset()
        trim.restart(latency: r.outputLatency)
    }

    /// The next chunk of the reply, appended to `playback` at the call's rate.
    mutating func append(_ chunk: [UInt8], to playback: inout PlaybackBuffer) {
        guard let r = resampler else { return playback.append(chunk) }
        trim.append(r.process(littleEndian: chunk), to: &playback)
    }

    /// The reply is complete: its filter tail, appended.
    mutating func finish(to playback: inout PlaybackBuffer) {
        guard let r = resampler else { return }
        trim.append(PCM.littleEndianBytes(r.flush()), to: &playback)
    }
}

/// A resampled reply less the resampler's filter delay at its start (`Resampler.outputLatency`
/// samples of the filter's own silence), so a reply keeps its exact length. Turn-based replies
/// (`ReplyAudio`) and streaming prompts (`StreamingReplyAudio`) both go through one.
struct LatencyTrim {
    /// Bytes still to drop at the start of the current reply.
    private var bytes = 0

    /// A reply begins: its first `latency` samples (16-bit) are dropped.
    mutating func restart(latency: Int) { bytes = latency * 2 }

    /// Appends `pcm` to `playback`, less what is still to drop.
    mutating func append(_ pcm: [UInt8], to playback: inout PlaybackBuffer) {
        if bytes >= pcm.count {
            bytes -= pcm.count
            return
        }
        playback.append(pcm[bytes...])
        bytes = 0
    }
}

/// Why a call's audio path cannot be built from its settings (the start message's VAD
/// parameters, or a rate the resampler refuses): the call is refused with 1008.
enum CallAudioError: Error, Equatable, Sendable, CustomStringConvertible {
    case segmenter(UtteranceSegmenter.Error)
    case resampler(Resampler.Error)

    var description: String {
        switch self {
        case .segmenter(let e): "\(e)"
        case .resampler(let e): "\(e)"
        }
    }

    /// A resampler for `plan` (from, to rates) at speexdsp `quality`, or nil when there is none
    /// to make.
    static func resampler(_ plan: (from: Int, to: Int)?, quality: Int = 6) throws(CallAudioError) -> Resampler? {
        guard let plan else { return nil }
        do { return try Resampler(from: plan.from, to: plan.to, quality: quality) } catch { throw .resampler(error) }
    }
}
