import Audio
import Lex
import Logging
import WebSocketServer

/// The state of a call once its settings are known: the caller's side (audio, DTMF), the Lex
/// side and the playback side. Part of `CallStateMachine`, which owns it and hands each input
/// to it; pure like it (no clock, no I/O). A class, so that the machine's 100 inputs a second
/// mutate it in place rather than copy its fields (and retain each of their references) in and
/// out of the state enum; only the machine holds it. A method that decides the call ends
/// sets `ending`, after which the input does nothing more and the machine ends the call.
final class ActiveCall {
    /// The Lex side: no turn open, or one open with the inputs waiting behind it.
    enum LexSide {
        case idle
        case awaiting(Turn, queue: TurnQueue)
        /// Within the input that completed a turn: inputs wait to go once its reply is handled.
        case between(TurnQueue)
    }

    /// The Lex turn that is open.
    struct Turn: Sendable, Equatable {
        var origin: TurnOrigin
        var sentAt: Instant
        /// For speech sent the moment its utterance ended (nothing open or queued before it):
        /// that moment. The start of the speech-to-request reaction time.
        var speechEndedAt: Instant?
        /// Barge-in: the rest of this turn's reply is not played.
        var discarding = false
        /// The reply ran `ActiveCall.maxQueuedReply` ahead of playback: the rest of its audio
        /// is dropped (what is queued still plays).
        var overflowed = false
    }

    /// The most reply audio waiting to play. Lex sends a reply about as fast as it plays; one
    /// that runs this far ahead (a misbehaving endpoint) would otherwise grow the buffer
    /// without bound (5 minutes: 14.4 MB at 24 kHz).
    static let maxQueuedReply = Duration.seconds(300)

    // The fields every frame and every tick read come first (`core` leads with them), so that
    // they share the object's first cache lines (the settings, hundreds of bytes, come after them).
    /// Times, limits, ending and playback, as a streaming call has them too.
    var core: CallCore
    var lex: LexSide = .idle
    /// `nexmo-close` or a final dialog state: close once silent with Lex idle.
    var closeAfterPlayback = false
    var dtmf: DTMFCollector
    /// Barge-in and the no-input timer for the turn, as Lex's last reply set them (`ActiveCall+Capture`).
    var capture: TurnCapture
    var inbound: InboundAudio
    private var segmentEvents: [UtteranceSegmenter.Event] = []
    var reply: ReplyAudio
    let settings: CallSettings
    /// `v1` or `v2`, the metrics' `api` dimension.
    let api: LexAPI
    /// `[call] fallback_prompt` at the call's rate.
    let fallbackPrompt: [UInt8]?
    var sessionAttributes: [String: String]
    /// When the open turn's reply started playing from silence (nil: not yet, or it followed
    /// an earlier reply without a pause).
    var turnFirstFrameAt: Instant?
    /// The open turn's reply as Lex sent it, for `[debug] record_dir`.
    var replyRecord: [UInt8] = []

    /// The playback side.
    enum Output: Equatable {
        /// Nothing plays and no reply streams in.
        case silent
        /// A reply streams in (its first audio came, its completion not yet) but nothing plays:
        /// less than a frame so far, or Lex is slower than real time and the frames ran out.
        case buffering
        /// Frames go out on the ticks; `streaming`: the reply is still coming in.
        case playing(PacedPlayback, streaming: Bool)
    }

    /// Frames sent, late and received.
    struct FrameCounts: Sendable, Equatable {
        var played = 0
        var late = 0
        var received = 0
    }

    init(settings: CallSettings, api: LexAPI, startedAt: Instant, lastTick: Instant?, fallbackPrompt: [UInt8]?) throws(CallAudioError) {
        core = CallCore(settings: settings, startedAt: startedAt, lastTick: lastTick)
        self.settings = settings
        self.api = api
        self.fallbackPrompt = fallbackPrompt
        inbound = try InboundAudio(settings: settings)
        reply = try ReplyAudio(settings: settings)
        dtmf = DTMFCollector(timeout: settings.dtmfTimeout)
        capture = TurnCapture(settings: settings)
        sessionAttributes = settings.sessionAttributes
    }

    /// The call just started: the welcome text goes to Lex first.
    func begin(at now: Instant, _ actions: inout [CallAction]) {
        if let welcome = settings.welcomeText { enqueue(.text(welcome), origin: .welcome, at: now, &actions) }
    }

    // MARK: - The caller

    func receiveAudio(_ data: [UInt8], at now: Instant, _ actions: inout [CallAction]) {
        guard core.acceptAudio(data, at: now, &actions) else { return }
        if let error = inbound.receive(data, events: &segmentEvents) {
            actions.append(.log(.error, "segmenter rejected a frame: \(error)"))
        }
        for event in segmentEvents where core.ending == nil {
            segment(event, at: now, &actions)
        }
    }

    private func segment(_ event: UtteranceSegmenter.Event, at now: Instant, _ actions: inout [CallAction]) {
        switch event {
        case .speechStarted:
            capture.noInputDeadline = nil
            if core.output != .silent && capture.allowInterrupt { bargeIn(&actions) }
        case .utteranceEnded(let u):
            core.stats.utterances += 1
            let reason: ConnectorMetrics.UtteranceOutcome = u.reason == .maximumLength ? .maximumLength : .silence
            actions.append(.count(.utterance(reason)))
            actions.append(.log(.info, "utterance", ["ms": "\(u.duration.milliseconds)", "reason": "\(reason.rawValue)"]))
            actions.append(.emit(.utterance(UtteranceEnded(durationMs: u.duration.milliseconds, reason: reason.rawValue))))
            if settings.recording { actions.append(.record(samples: u.samples, rate: u.sampleRate, kind: .utterance)) }
            enqueue(.audio(pcm: PCM.littleEndianBytes(u.samples), sampleRate: settings.lexRate), origin: .speech, at: now, &actions)
        case .utteranceDiscarded(let d):
            actions.append(.count(.utterance(.discarded)))
            actions.append(.log(.debug, "utterance too short, discarded", ["ms": "\(d.milliseconds)"]))
        }
    }

    /// The caller talks over a reply: drop what is queued here and at Vonage, and the rest of
    /// the open turn's reply.
    private func bargeIn(_ actions: inout [CallAction]) {
        if case .awaiting(var turn, let queue) = lex {
            turn.discarding = true
            lex = .awaiting(turn, queue: queue)
        }
        closeAfterPlayback = false
        let queuedMs = core.interruptPlayback(sampleRate: settings.sampleRate, &actions)
        actions.append(.log(.info, "barge-in: playback stopped", ["dropped_ms": "\(queuedMs)"]))
        actions.append(.emit(.playbackInterrupted(PlaybackInterrupted(remainingMs: queuedMs))))
    }

    func receiveText(_ text: String, at now: Instant, _ actions: inout [CallAction]) {
        guard let digit = core.vonageEvent(text, dtmfIsValid: DTMFCollector.isKey, &actions), let key = digit.first else { return }
        capture.noInputDeadline = nil
        if let digits = dtmf.press(key, at: now) { sendDTMF(digits, at: now, &actions) }
    }

    private func sendDTMF(_ digits: String, at now: Instant, _ actions: inout [CallAction]) {
        actions.append(.log(.info, "dtmf input", ["digits": "\(digits.count)"]))
        enqueue(.text(digits), origin: .dtmf, at: now, &actions)
    }

    // MARK: - Time

    func tick(at now: Instant, _ actions: inout [CallAction]) {
        if core.tick(at: now, &actions) { playbackFinished(&actions) }
        if core.ending != nil { return }
        if let digits = dtmf.expire(at: now) { sendDTMF(digits, at: now, &actions) }
        checkNoInput(at: now, &actions)
        core.flushCounters(&actions)
        core.checkLimits(at: now, &actions)
    }

    // MARK: - Ending

    /// Set when this input ends the call.
    var ending: CallEnd? { core.ending }

    /// The call is over: cancel Lex, count, log and report it.
    func end(_ end: CallEnd, at now: Instant, _ actions: inout [CallAction]) {
        if case .awaiting = lex { actions.append(.cancelLex) }
        lex = .idle
        core.report(end, at: now, ["utterances": "\(core.stats.utterances)"], &actions)
    }
}
