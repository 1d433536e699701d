import Audio
import Lex
import Logging
import WebSocketServer

/// A streaming call once its settings are known: the caller's audio goes to Lex as it comes
/// (one Lex V2 StartConversation stream, `StreamingConversation`), Lex decides where speech
/// ends and when a prompt is interrupted, and its prompts play paced like a turn-based reply.
/// The counterpart of `ActiveCall` for the `/conversation` route; part of `CallStateMachine`,
/// pure like it (no clock, no I/O, no transport: it asks for `streamAudio`, `streamDTMF`,
/// `streamPlaybackCompleted`, `reopenStream` and `endStream` and takes `LexStreamInput`s).
///
///     stream:   open ──retryable fault (first since Lex's last event)──▶ reopening (caller input held, bounded)
///               reopening ──`reopenDelay` later, on a tick──▶ open (same session id; held input sent first)
///               open ──other fault──▶ closed (1011 with the reason, or the fallback prompt, then 1000)
///     prompt:   none ──audio──▶ open ──empty chunk──▶ ended ──last frame sent──▶ none (+ PlaybackCompletionEvent)
///               open | ended ──PlaybackInterruptionEvent──▶ none (Vonage `clear`, no completion)
///     playback: silent ──audio──▶ buffering ──a frame's worth──▶ playing(paced, streaming) ──▶ silent
///
/// A dialog action `Close` or the `nexmo-close` session attribute closes the call (1000) once
/// the prompt after it has played, or `closeGrace` after it when no prompt comes.
final class StreamingCall {
    /// After a `Close` with nothing playing and no prompt coming, the call closes this long after.
    static let closeGrace: Duration = .milliseconds(1500)
    /// Retryable faults in a row (no event from Lex between them) that reopen the stream.
    static let maxReopens = 1

    enum Stream: Equatable {
        case open
        /// After a retryable fault: a new stream opens at this time (on a tick); the caller's
        /// audio and keys wait in `held` until then.
        case reopening(at: Instant)
        /// Gave up after a fault: the caller's audio is dropped, the call is closing.
        case closed
    }

    /// Caller input waiting for a reopened stream.
    enum HeldInput: Equatable {
        case audio([UInt8])
        case dtmf(String)
    }

    /// From a retryable fault to the new stream: time for Lex to let go of the session.
    static let reopenDelay: Duration = .milliseconds(200)
    /// Audio chunks held while the stream reopens (3 s); beyond it the oldest go.
    static let maxHeldAudioChunks = 150

    /// The prompt Lex is sending.
    enum Prompt: Equatable {
        case none
        /// Its audio is coming in; `firstChunkAt`: when its first chunk came.
        case open(firstChunkAt: Instant)
        /// Its end (the empty chunk) came: a PlaybackCompletionEvent is due after its last frame.
        case ended
    }

    // The fields every frame and every tick read come first (`core` leads with them).
    /// Times, limits, ending and playback, as a turn-based call has them too.
    var core: CallCore
    var stream: Stream = .open
    var prompt: Prompt = .none
    /// `Close` or `nexmo-close` came at this time: close once the prompt has played.
    var closeRequestedAt: Instant?
    var inbound: StreamingInbound
    var reply: StreamingReplyAudio
    /// The open prompt ran `ActiveCall.maxQueuedReply` ahead of playback: the rest of it is dropped.
    var promptOverflowed = false
    /// Faults since Lex's last event.
    var faultsInARow = 0
    var held: [HeldInput] = []
    var heldAudioChunks = 0
    /// When the last prompt's first chunk came (or the fallback prompt was queued).
    var promptStartedAt: Instant?
    /// A prompt's first chunk came at this time to silence and its first frame has not gone
    /// out: the start of the prompt-to-first-frame reaction time (recorded once per prompt).
    var firstChunkAwaitingFrame: Instant?
    var sessionAttributes: [String: String]
    /// The turn being assembled from Lex's events (transcript, intent, text).
    var turn = StreamTurn()
    let settings: CallSettings
    let api: LexAPI
    let fallbackPrompt: [UInt8]?

    init(settings: CallSettings, api: LexAPI, startedAt: Instant, lastTick: Instant?, fallbackPrompt: [UInt8]?) throws(CallAudioError) {
        core = CallCore(settings: settings, startedAt: startedAt, lastTick: lastTick)
        self.settings = settings
        self.api = api
        self.fallbackPrompt = fallbackPrompt
        inbound = try StreamingInbound(callRate: settings.sampleRate)
        reply = StreamingReplyAudio(callRate: settings.sampleRate)
        sessionAttributes = settings.sessionAttributes
    }

    // MARK: - The caller

    func receiveAudio(_ data: [UInt8], at now: Instant, _ actions: inout [CallAction]) {
        guard core.acceptAudio(data, at: now, &actions) else { return }
        switch stream {
        case .open: inbound.receive(data) { chunk in actions.append(.streamAudio(chunk)) }
        case .reopening: inbound.receive(data) { chunk in hold(.audio(chunk), &actions) }
        case .closed: return
        }
    }

    func receiveText(_ text: String, at now: Instant, _ actions: inout [CallAction]) {
        guard let digit = core.vonageEvent(text, dtmfIsValid: StartConversation.DTMFInputEvent.isValid, &actions) else { return }
        switch stream {
        case .open: actions.append(.streamDTMF(digit))
        case .reopening: hold(.dtmf(digit), &actions)
        case .closed: break
        }
    }

    // MARK: - Time

    func tick(at now: Instant, _ actions: inout [CallAction]) {
        if core.tick(at: now, &actions) { playbackFinished(&actions) }
        if core.ending != nil { return }
        if case .reopening(let at) = stream, now >= at { reopen(&actions) }
        core.flushCounters(&actions)
        if let asked = closeRequestedAt, core.output == .silent, prompt == .none, now - asked >= Self.closeGrace {
            return core.close(.normal, "conversation ended")
        }
        core.checkLimits(at: now, &actions)
    }

    // MARK: - Reopening

    private func hold(_ input: HeldInput, _ actions: inout [CallAction]) {
        held.append(input)
        guard case .audio = input else { return }
        heldAudioChunks += 1
        guard heldAudioChunks > Self.maxHeldAudioChunks, let oldest = held.firstIndex(where: { if case .audio = $0 { true } else { false } }) else { return }
        held.remove(at: oldest)
        heldAudioChunks -= 1
        if heldAudioChunks == Self.maxHeldAudioChunks { actions.append(.log(.warning, "lex stream reopening: the oldest held audio is dropped")) }
    }

    /// The new stream opens on the same session id; what the caller said and pressed meanwhile goes first.
    private func reopen(_ actions: inout [CallAction]) {
        stream = .open
        actions.append(.count(.streamReopened))
        actions.append(.log(.warning, "reopening the lex stream on the same session id", ["held_chunks": "\(heldAudioChunks)"]))
        actions.append(.reopenStream(sessionAttributes: sessionAttributes))
        for input in held {
            switch input {
            case .audio(let chunk): actions.append(.streamAudio(chunk))
            case .dtmf(let digit): actions.append(.streamDTMF(digit))
            }
        }
        held.removeAll()
        heldAudioChunks = 0
    }

    // MARK: - Ending

    /// Set when this input ends the call.
    var ending: CallEnd? { core.ending }

    /// The call is over: the stream gets its DisconnectionEvent and end; count, log, report.
    func end(_ end: CallEnd, at now: Instant, _ actions: inout [CallAction]) {
        flushTurn(at: now, &actions)
        if stream == .open { actions.append(.endStream) }
        stream = .closed
        core.report(end, at: now, ["mode": "streaming"], &actions)
    }
}

/// The caller's audio on its way to Lex: messages of any even size at the call's rate, cut
/// into 20 ms, resampled to 8 kHz (Lex's only input format) and handed on in chunks of
/// `chunkBytes`. Deterministic; the resampler is this call's own.
struct StreamingInbound {
    /// Bytes of 8 kHz audio per `AudioInputEvent`: 320 (20 ms), the most the Lex V2 developer
    /// guide allows in one audio chunk ("Starting a conversation stream to an Amazon Lex V2
    /// bot"; README, "Streaming calls").
    static let chunkBytes = 320
    let resampler: Resampler?
    private var samples: [Int16] = []

    /// speexdsp quality of the way down to 8 kHz: 4, flat (within 0.02 dB) over the telephone
    /// band to 3.4 kHz and 30% cheaper than the default 6 (1.77 against 2.53 µs per 16 kHz
    /// frame; 3 would lose 1 dB at 3.4 kHz). Lex hears 8 kHz telephone audio at best.
    static let resamplerQuality = 4

    init(callRate: Int) throws(CallAudioError) {
        resampler = try CallAudioError.resampler(callRate == 8000 ? nil : (callRate, 8000), quality: Self.resamplerQuality)
        // A chunk's worth held back, plus the most one message of 8 frames at 24 kHz adds.
        samples.reserveCapacity(Self.chunkBytes + 8 * 160 + 16)
    }

    /// Feeds one message (whole 16-bit samples); each whole chunk goes to `chunk`. The
    /// message's bytes go to the resampler (or the buffer) as they are, on little-endian hosts.
    mutating func receive(_ data: [UInt8], chunk: (_ pcm8k: [UInt8]) -> Void) {
        #if _endian(little)
        data.withUnsafeBytes { raw in
            let whole = UnsafeRawBufferPointer(rebasing: raw[0..<(raw.count & ~1)])
            if let base = whole.baseAddress, Int(bitPattern: base) % MemoryLayout<Int16>.alignment == 0 {
                whole.withMemoryRebound(to: Int16.self) { append($0) }
            } else {
                PCM.samples(littleEndian: data).withUnsafeBufferPointer { append($0) }
            }
        }
        #else
        PCM.samples(littleEndian: data).withUnsafeBufferPointer { append($0) }
        #endif
        let perChunk = Self.chunkBytes / 2
        var offset = 0
        while samples.count - offset >= perChunk {
            chunk(PCM.littleEndianBytes(samples[offset..<(offset + perChunk)]))
            offset += perChunk
        }
        if offset > 0 { samples.removeFirst(offset) }
    }

    private mutating func append(_ pcm: UnsafeBufferPointer<Int16>) {
        if let resampler { resampler.process(pcm, appendingTo: &samples) } else { samples.append(contentsOf: pcm) }
    }
}

/// Lex's prompts on their way to the call's rate: each prompt resampled from the rate its
/// chunks say (16 kHz unless they say otherwise) to the call's, less the filter's delay at its
/// start, so a prompt keeps its exact length.
struct StreamingReplyAudio {
    let callRate: Int
    private var resampler: Resampler?
    private var fromRate: Int?
    private var trim = LatencyTrim()

    init(callRate: Int) { self.callRate = callRate }

    /// The next chunk of the current prompt at `rate` Hz, appended to `playback` at the call's
    /// rate. `first`: the prompt's first chunk (the filter starts afresh).
    mutating func append(_ chunk: [UInt8], rate: Int, first: Bool, to playback: inout PlaybackBuffer) {
        if first || rate != fromRate {
            fromRate = rate
            resampler = rate == callRate ? nil : try? Resampler(from: rate, to: callRate)
            trim.restart(latency: resampler?.outputLatency ?? 0)
        }
        guard let r = resampler else { return playback.append(chunk) }
        trim.append(r.process(littleEndian: chunk), to: &playback)
    }

    /// The prompt ended: its filter tail, appended.
    mutating func finish(to playback: inout PlaybackBuffer) {
        guard let r = resampler else { return }
        trim.append(PCM.littleEndianBytes(r.flush()), to: &playback)
        r.reset()
    }
}
