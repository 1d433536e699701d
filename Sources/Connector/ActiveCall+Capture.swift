import Audio
import Lex

/// How the caller's next input is captured, turn by turn: the call's own settings, replaced
/// for one turn by what Lex's last reply asks for in its `x-amz-lex:*` session attributes
/// (`LexCaptureSettings`), and the no-input timer (README "Lex's own speech settings").
struct TurnCapture: Sendable, Equatable {
    /// Whether the caller's speech stops the reply that plays: Lex's `allow-interrupt` for the
    /// last reply, else the call's `barge_in`.
    var allowInterrupt: Bool
    /// Silence after a prompt before the no-input text goes to Lex: Lex's `start-timeout-ms`
    /// for the last reply, else `[call] no_input_timeout_ms`; zero: never, else at least
    /// `minimumNoInputTimeout`.
    var noInputTimeout: Duration
    /// A successful reply came and the caller has given no input since: once it has played
    /// (and Lex is idle, nothing is queued, no speech or digits are open), the timer starts.
    var awaitingInput = false
    /// When the no-input text goes, if nothing comes before; nil: the timer is not running.
    var noInputDeadline: Instant?

    /// The shortest no-input timeout: each expiry sends a Lex request, so a bot answering at
    /// once with no audio and a timeout of 1 ms would otherwise have the call send one every
    /// other 20 ms tick (25 a second) for as long as the call lasts.
    static let minimumNoInputTimeout = Duration.seconds(1)

    /// `timeout`, raised to `minimumNoInputTimeout` unless it is zero (never).
    static func bounded(_ timeout: Duration) -> Duration {
        timeout > .zero ? max(timeout, minimumNoInputTimeout) : .zero
    }

    init(settings: CallSettings) {
        allowInterrupt = settings.bargeIn
        noInputTimeout = Self.bounded(settings.noInputTimeout)
    }

    /// An input went to Lex (or was queued for it): nothing is awaited any more.
    mutating func inputGiven() {
        awaitingInput = false
        noInputDeadline = nil
    }
}

extension ActiveCall {
    /// After a successful Lex turn: its `x-amz-lex:*` settings (for the intent and slot it
    /// elicits) govern the next turn, and where it sets none the call's own come back.
    /// Invalid values are logged once, by key (values are not logged).
    func applyCapture(_ turn: LexTurn, _ actions: inout [CallAction]) {
        let lex = LexCaptureSettings(sessionAttributes: turn.sessionAttributes, intent: turn.intentName, slot: turn.slotToElicit)
        if !lex.ignored.isEmpty {
            actions.append(.log(.info, "ignored invalid Lex speech settings", ["keys": "\(lex.ignored.joined(separator: ","))"]))
        }
        let own = settings.segmenter
        // The segmenter counts whole 20 ms frames: an end timeout under one frame is one frame.
        let silenceTime = max(20, lex.endTimeoutMs ?? own.silenceTime)
        do throws(UtteranceSegmenter.Error) {
            try inbound.segmenter.setTurn(silenceTime: silenceTime, clipMax: lex.maxLengthMs ?? own.clipMax)
        } catch {
            // Only a max-length shorter than this call's clip_min or trigger can be refused.
            actions.append(.log(.info, "Lex's x-amz-lex:audio:max-length-ms is too short for this call; clip_max stays", ["reason": "\(error)"]))
            try? inbound.segmenter.setTurn(silenceTime: silenceTime, clipMax: own.clipMax)
        }
        dtmf.apply(lex)
        capture.allowInterrupt = lex.allowInterrupt ?? settings.bargeIn
        capture.noInputTimeout = TurnCapture.bounded(lex.startTimeoutMs.map { .milliseconds($0) } ?? settings.noInputTimeout)
        capture.awaitingInput = true
        capture.noInputDeadline = nil
        if !lex.isEmpty {
            actions.append(.log(.debug, "Lex speech settings for the next turn", [
                "silence_time": "\(inbound.segmenter.configuration.silenceTime)", "clip_max": "\(inbound.segmenter.configuration.clipMax)",
                "no_input_ms": "\(capture.noInputTimeout.milliseconds)", "allow_interrupt": "\(capture.allowInterrupt)",
            ]))
        }
    }

    /// The open turn's reply began: whether the caller may interrupt it is known from Lex's
    /// response head, before its audio plays (the rest of its settings apply at completion).
    func lexReplyStarted(_ turn: LexTurn) {
        guard case .awaiting(let open, _) = lex, !open.discarding else { return }
        let lex = LexCaptureSettings(sessionAttributes: turn.sessionAttributes, intent: turn.intentName, slot: turn.slotToElicit)
        capture.allowInterrupt = lex.allowInterrupt ?? settings.bargeIn
    }

    /// On each tick: starts the no-input timer once the prompt has played with Lex idle and
    /// no input open; when it runs out, `no_input` is reported and the no-input text goes to Lex.
    func checkNoInput(at now: Instant, _ actions: inout [CallAction]) {
        guard capture.awaitingInput, capture.noInputTimeout > .zero else { return }
        guard case .idle = lex, core.output == .silent, !closeAfterPlayback,
              !inbound.segmenter.isSpeaking, dtmf.digits.isEmpty else {
            capture.noInputDeadline = nil
            return
        }
        guard let deadline = capture.noInputDeadline else {
            capture.noInputDeadline = now + capture.noInputTimeout
            return
        }
        guard now >= deadline else { return }
        let ms = capture.noInputTimeout.milliseconds
        actions.append(.log(.info, "no input after the prompt; sending the no-input text to Lex", ["timeout_ms": "\(ms)"]))
        actions.append(.emit(.noInput(NoInput(timeoutMs: ms))))
        enqueue(.text(settings.noInputText), origin: .noInput, at: now, &actions)
    }
}
