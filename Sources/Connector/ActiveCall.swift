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

    // The fields every frame and every tick read come first, so that they share the object's
    // first cache lines (the settings, hundreds of bytes, come after them).
    var lastTick: Instant?
    var lastInbound: Instant
    /// Set when this input ends the call.
    private(set) var ending: CallEnd?
    var output: Output = .silent
    var lex: LexSide = .idle
    /// Frames counted since the last tick, for the metrics (counted per tick, not per frame).
    var pending = FrameCounts()
    /// `nexmo-close` or a final dialog state: close once silent with Lex idle.
    var closeAfterPlayback = false
    var dtmf: DTMFCollector
    /// Barge-in and the no-input timer for the turn, as Lex's last reply set them (`ActiveCall+Capture`).
    var capture: TurnCapture
    /// `settings.idleTimeout` and `settings.maxDuration`, checked on every tick.
    let idleTimeout: Duration, maxDuration: Duration
    let startedAt: Instant
    var inbound: InboundAudio
    private var segmentEvents: [UtteranceSegmenter.Event] = []
    var playback: PlaybackBuffer
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
    var stats = CallStatistics()

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
        self.settings = settings
        idleTimeout = settings.idleTimeout
        maxDuration = settings.maxDuration
        self.api = api
        self.startedAt = startedAt
        self.lastTick = lastTick
        self.fallbackPrompt = fallbackPrompt
        inbound = try InboundAudio(settings: settings)
        reply = try ReplyAudio(settings: settings)
        playback = PlaybackBuffer(frameBytes: settings.frameBytes)
        dtmf = DTMFCollector(timeout: settings.dtmfTimeout)
        capture = TurnCapture(settings: settings)
        sessionAttributes = settings.sessionAttributes
        lastInbound = startedAt
    }

    /// The call just started: the welcome text goes to Lex first.
    func begin(at now: Instant, _ actions: inout [CallAction]) {
        if let welcome = settings.welcomeText { enqueue(.text(welcome), origin: .welcome, at: now, &actions) }
    }

    // MARK: - The caller

    func receiveAudio(_ data: [UInt8], at now: Instant, _ actions: inout [CallAction]) {
        guard inbound.accepts(byteCount: data.count) else {
            actions.append(.count(.badInput(.audioFrameSize)))
            return fail(.unsupportedData, "invalid audio frame of \(data.count) bytes: expected \(settings.frameBytes) (16-bit PCM, 20 ms)", &actions)
        }
        lastInbound = now
        pending.received += 1
        if let error = inbound.receive(data, events: &segmentEvents) {
            actions.append(.log(.error, "segmenter rejected a frame: \(error)"))
        }
        for event in segmentEvents where ending == nil {
            segment(event, at: now, &actions)
        }
    }

    private func segment(_ event: UtteranceSegmenter.Event, at now: Instant, _ actions: inout [CallAction]) {
        switch event {
        case .speechStarted:
            capture.noInputDeadline = nil
            if output != .silent && capture.allowInterrupt { bargeIn(&actions) }
        case .utteranceEnded(let u):
            stats.utterances += 1
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
        stats.bargeIns += 1
        if case .awaiting(var turn, let queue) = lex {
            turn.discarding = true
            lex = .awaiting(turn, queue: queue)
        }
        let queuedMs = playback.queuedBytes * 1000 / (settings.sampleRate * 2)
        playback.clear()
        output = .silent
        closeAfterPlayback = false
        actions.append(.sendText(#"{"action":"clear"}"#))
        actions.append(.log(.info, "barge-in: playback stopped", ["dropped_ms": "\(queuedMs)"]))
        actions.append(.emit(.playbackInterrupted(PlaybackInterrupted(remainingMs: queuedMs))))
    }

    func receiveText(_ text: String, at now: Instant, _ actions: inout [CallAction]) {
        guard let event = VonageEvent.parse(text) else {
            actions.append(.count(.badInput(.textMessage)))
            actions.append(.log(.info, "ignored a text message that is not a Vonage event"))
            return
        }
        switch event {
        case .dtmf(let digit):
            guard digit.count == 1, let key = digit.first, DTMFCollector.keys.contains(key) else {
                actions.append(.count(.badInput(.dtmf)))
                actions.append(.log(.info, "ignored an invalid DTMF event"))
                return
            }
            stats.dtmfDigits += 1
            actions.append(.emit(.dtmf(DTMFPressed(digit: digit))))
            capture.noInputDeadline = nil
            if let digits = dtmf.press(key, at: now) { sendDTMF(digits, at: now, &actions) }
        case .cleared:
            actions.append(.log(.debug, "vonage event", ["event": "websocket:cleared"]))
        case .notify:
            actions.append(.log(.debug, "vonage event", ["event": "websocket:notify"]))
        case .other(let name):
            actions.append(.log(.debug, "unknown vonage event ignored", ["event": "\(name)"]))
        }
    }

    private func sendDTMF(_ digits: String, at now: Instant, _ actions: inout [CallAction]) {
        actions.append(.log(.info, "dtmf input", ["digits": "\(digits.count)"]))
        enqueue(.text(digits), origin: .dtmf, at: now, &actions)
    }

    // MARK: - Time

    func tick(at now: Instant, _ actions: inout [CallAction]) {
        lastTick = now
        if case .playing = output { sendDueFrames(at: now, &actions) }
        if ending != nil { return }
        if let digits = dtmf.expire(at: now) { sendDTMF(digits, at: now, &actions) }
        checkNoInput(at: now, &actions)
        flushCounters(&actions)
        if idleTimeout > .zero && now - lastInbound > idleTimeout {
            actions.append(.count(.error(.idleTimeout)))
            return close(.normal, "idle timeout: no audio for \(idleTimeout.milliseconds / 1000) s")
        }
        if maxDuration > .zero && now - startedAt > maxDuration {
            close(.normal, "maximum call duration reached")
        }
    }

    func flushCounters(_ actions: inout [CallAction]) { pending.flush(into: &actions) }

    // MARK: - Ending

    /// Sends an error event as text, then closes with `code`.
    func fail(_ code: WebSocketCloseCode, _ reason: String, _ actions: inout [CallAction]) {
        actions.append(.log(.warning, "closing call: \(reason)", ["code": "\(code.rawValue)"]))
        actions.append(.sendText(CallEnd.errorMessage(reason)))
        close(code, reason)
    }

    func close(_ code: WebSocketCloseCode, _ reason: String) {
        if ending == nil { ending = CallEnd(code: code, reason: reason, byPeer: false, closeSocket: true) }
    }

    /// The call is over: cancel Lex, count, log and report it.
    func end(_ end: CallEnd, at now: Instant, _ actions: inout [CallAction]) {
        if case .awaiting = lex { actions.append(.cancelLex) }
        lex = .idle
        flushCounters(&actions)
        if case .playing(let p, _) = output { stats.framesPlayed += p.framesSent }
        output = .silent
        let duration = now - startedAt
        actions.append(.log(.info, "call ended", [
            "code": "\(end.code.rawValue)", "reason": "\(end.reason)", "by_peer": "\(end.byPeer)",
            "seconds": "\(Int(duration.seconds))", "utterances": "\(stats.utterances)",
            "lex_turns": "\(stats.lexTurns)", "lex_errors": "\(stats.lexErrors)",
        ]))
        actions.append(.emit(.callEnded(stats.ended(code: Int(end.code.rawValue), reason: end.reason, byCaller: end.byPeer, duration: duration))))
    }
}
