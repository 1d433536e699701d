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

    init(settings: CallSettings) throws {
        frameBytes = settings.frameBytes
        vadFrame = settings.lexRate / 50
        segmenter = try UtteranceSegmenter(sampleRate: settings.lexRate, configuration: settings.segmenter)
        resampler = try settings.resampling.inbound.map { try Resampler(from: $0.from, to: $0.to) }
    }

    /// Whether `count` bytes is an audio message this call takes: whole 16-bit samples, not
    /// empty, at most eight frames (README "What happens during a call": else close 1003).
    func accepts(byteCount count: Int) -> Bool {
        count % 2 == 0 && count <= frameBytes * 8 && count > 0
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
    /// Bytes still to drop at the start of the current reply.
    private var skipBytes = 0

    init(settings: CallSettings) throws {
        resampler = try settings.resampling.reply.map { try Resampler(from: $0.from, to: $0.to) }
    }

    /// A new reply begins: forget the last one's filter state.
    mutating func beginReply() {
        guard let r = resampler else { return }
        r.reset()
        skipBytes = r.outputLatency * 2
    }

    /// The next chunk of the reply, appended to `playback` at the call's rate.
    mutating func append(_ chunk: [UInt8], to playback: inout PlaybackBuffer) {
        guard let r = resampler else { return playback.append(chunk) }
        appendSkipping(r.process(littleEndian: chunk), to: &playback)
    }

    /// The reply is complete: its filter tail, appended.
    mutating func finish(to playback: inout PlaybackBuffer) {
        guard let r = resampler else { return }
        appendSkipping(PCM.littleEndianBytes(r.flush()), to: &playback)
    }

    private mutating func appendSkipping(_ bytes: [UInt8], to playback: inout PlaybackBuffer) {
        if skipBytes >= bytes.count {
            skipBytes -= bytes.count
            return
        }
        playback.append(bytes[skipBytes...])
        skipBytes = 0
    }
}
