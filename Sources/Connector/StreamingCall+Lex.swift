import Audio
import Lex
import Logging

/// The turn a streaming call assembles from Lex's events: a transcript, then an intent
/// result, then the bot's text; reported as one `lex_turn` when the next turn or the prompt's
/// audio begins, or when the call ends.
struct StreamTurn: Sendable, Equatable {
    var transcript: String?
    var intent: StartConversation.IntentResultEvent?
    var botText: String?
    var startedAt: Instant?

    var isEmpty: Bool { transcript == nil && intent == nil && botText == nil }
}

/// Lex's side of a streaming call: its events, and playback of its prompts.
extension StreamingCall {
    func lexStream(_ input: LexStreamInput, at now: Instant, _ actions: inout [CallAction]) {
        if case .failed(let fault) = input { return streamFailed(fault, at: now, &actions) }
        guard stream == .open else { return }
        faultsInARow = 0
        switch input {
        case .audio(let chunk, let rate):
            chunk.isEmpty ? promptEnded(at: now, &actions) : promptAudio(chunk, rate: rate, at: now, &actions)
        case .interrupted(let reason):
            interrupted(reason, &actions)
        case .transcript(let text):
            flushTurn(at: now, &actions)
            turn.transcript = text
            turn.startedAt = now
            actions.append(.log(.info, "lex transcript", ["transcript": "\(text)"]))
        case .intent(let event):
            if turn.intent != nil { flushTurn(at: now, &actions) }
            if turn.startedAt == nil { turn.startedAt = now }
            turn.intent = event
            intentResult(event, at: now, &actions)
        case .text(let messages):
            let text = messages.compactMap(\.content).joined(separator: " ")
            turn.botText = turn.botText.map { $0 + " " + text } ?? text
            if turn.startedAt == nil { turn.startedAt = now }
            actions.append(.log(.info, "lex text response", ["text": "\(text)"]))
        case .ended:
            if closeRequestedAt != nil {
                stream = .closed
                actions.append(.log(.info, "Lex ended the stream after the conversation closed"))
            } else {
                streamFailed(.lifetimeEnded, at: now, &actions)
            }
        case .failed:
            break
        }
    }

    private func intentResult(_ event: StartConversation.IntentResultEvent, at now: Instant, _ actions: inout [CallAction]) {
        core.stats.lexTurns += 1
        if let attributes = event.sessionState?.sessionAttributes, !attributes.isEmpty { sessionAttributes = attributes }
        let closeAttribute = sessionAttributes["nexmo-close"].map { !["", "false", "0", "no"].contains($0.lowercased()) } ?? false
        let dialogClose = event.sessionState?.dialogAction?.type == "Close"
        if (closeAttribute || (dialogClose && settings.closeOnFinal)) && closeRequestedAt == nil {
            closeRequestedAt = now
            actions.append(.log(.info, "conversation over; closing after playback", ["by": "\(closeAttribute ? "nexmo-close" : "dialog action Close")"]))
        }
    }

    /// Reports the assembled turn (`lex_turn`) and starts a new one.
    func flushTurn(at now: Instant, _ actions: inout [CallAction]) {
        guard !turn.isEmpty else { return }
        let intent = turn.intent?.sessionState?.intent ?? turn.intent?.interpretations?.first?.intent
        var slots: [String: String] = [:]
        for (name, slot) in intent?.slots ?? [:] {
            if let value = slot?.value { slots[name] = value.interpretedValue }
        }
        let dialogState = turn.intent?.sessionState?.dialogAction?.type ?? ""
        let latency = turn.startedAt.map { now - $0 } ?? .zero
        actions.append(.log(.info, "lex turn", [
            "transcript": "\(turn.transcript ?? "")", "intent": "\(intent?.name ?? "")",
            "dialog_state": "\(dialogState)", "mode": "streaming",
        ]))
        actions.append(.emit(.lexTurn(LexTurnCompleted(
            customerTranscript: turn.transcript ?? "", botTranscript: turn.botText ?? "", intent: intent?.name ?? "",
            slots: slots, dialogState: dialogState, inputMode: turn.intent?.inputMode, latencyMs: latency.milliseconds,
            input: "stream"))))
        turn = StreamTurn()
    }

    // MARK: - Faults

    private func streamFailed(_ fault: LexStreamFault, at now: Instant, _ actions: inout [CallAction]) {
        guard stream == .open else { return }
        core.stats.lexErrors += 1
        actions.append(.count(.streamError(fault.metricType)))
        actions.append(.count(.error(.lex)))
        actions.append(.log(.error, "lex stream failed: \(fault)"))
        actions.append(.emit(.error(CallError(kind: "lex", message: fault.description, retryable: fault.isRetryable))))
        // The stream's prompt state goes with it; what already came keeps playing.
        if case .open = prompt { reply.finish(to: &core.playback); core.playback.finish(); replyComplete() }
        prompt = .none
        if fault.isRetryable && faultsInARow < Self.maxReopens && closeRequestedAt == nil {
            faultsInARow += 1
            stream = .reopening(at: now + Self.reopenDelay)
            return
        }
        stream = .closed
        actions.append(.endStream)
        if let fallback = fallbackPrompt {
            if case .playing = core.output {} else { core.playback.clear() }
            core.playback.append(fallback)
            core.playback.finish()
            replyComplete()
            closeRequestedAt = now
            promptStartedAt = now
            prompt = .ended
            startPlaybackIfReady(at: now, &actions)
        } else {
            core.fail(.internalError, fault.description, &actions)
        }
    }

    // MARK: - Prompts and playback

    private func promptAudio(_ chunk: [UInt8], rate: Int, at now: Instant, _ actions: inout [CallAction]) {
        var first = false
        if case .open = prompt {} else {
            flushTurn(at: now, &actions)
            prompt = .open(firstChunkAt: now)
            promptStartedAt = now
            firstChunkAwaitingFrame = core.output == .silent ? now : nil
            first = true
            promptOverflowed = false
        }
        // The same bound as a turn-based reply's: a prompt far ahead of playback is cut.
        if core.playback.queuedDuration >= ActiveCall.maxQueuedReply {
            if !promptOverflowed {
                promptOverflowed = true
                actions.append(.count(.error(.replyOverflow)))
                actions.append(.log(.warning, "Lex's prompt is more than \(ActiveCall.maxQueuedReply.milliseconds / 1000) s ahead of playback; the rest of it is dropped"))
            }
            return
        }
        reply.append(chunk, rate: rate, first: first, to: &core.playback)
        core.output.replyAudioArrived()
        startPlaybackIfReady(at: now, &actions)
    }

    private func promptEnded(at now: Instant, _ actions: inout [CallAction]) {
        guard case .open = prompt else { return }
        reply.finish(to: &core.playback)
        core.playback.finish()
        prompt = .ended
        replyComplete()
        startPlaybackIfReady(at: now, &actions)
        if core.output == .silent && core.playback.queuedBytes == 0 { playbackFinished(&actions) }
    }

    /// Lex interrupted the prompt: drop it here and at Vonage; no completion is due for it.
    private func interrupted(_ reason: String, _ actions: inout [CallAction]) {
        prompt = .none
        let queuedMs = core.interruptPlayback(sampleRate: settings.sampleRate, &actions)
        actions.append(.log(.info, "barge-in: Lex interrupted the prompt", ["reason": "\(reason)", "dropped_ms": "\(queuedMs)"]))
        actions.append(.emit(.playbackInterrupted(PlaybackInterrupted(remainingMs: queuedMs))))
    }

    private func startPlaybackIfReady(at now: Instant, _ actions: inout [CallAction]) {
        let playback = core.startPlaybackIfReady(at: now, &actions)
        if playback.finished { playbackFinished(&actions) }
        guard playback.started else { return }
        if let first = firstChunkAwaitingFrame, now >= first {
            actions.append(.count(.promptToFirstFrame(now - first)))
        }
        firstChunkAwaitingFrame = nil
    }

    /// What was queued has played: the prompt's completion goes to Lex; close if it is over.
    func playbackFinished(_ actions: inout [CallAction]) {
        core.playbackFinished(&actions)
        guard prompt == .ended else { return }
        prompt = .none
        if stream == .open { actions.append(.streamPlaybackCompleted) }
        // The prompt that came with (or after) the close has played.
        if let asked = closeRequestedAt, let started = promptStartedAt, started >= asked { core.close(.normal, "conversation ended") }
    }

    private func replyComplete() { core.output.replyComplete() }
}
