import Audio
import Lex
import Logging

/// The Lex side and the playback side of a call.
extension ActiveCall {
    // MARK: - Turns

    /// A caller input for Lex: sent now when no turn is open, else queued behind it.
    func enqueue(_ input: LexInput, origin: TurnOrigin, at now: Instant, _ actions: inout [CallAction]) {
        let entry = TurnQueue.Entry(input: input, origin: origin, queuedAt: now)
        capture.inputGiven()
        switch lex {
        case .idle:
            send(entry, queue: TurnQueue(limit: settings.maxQueuedInputs), at: now, &actions)
        case .between:
            preconditionFailure("no caller input comes while a turn completes")
        case .awaiting(let turn, var queue):
            if let dropped = queue.append(entry) {
                actions.append(.count(.utterance(.dropped)))
                actions.append(.log(.warning, "Lex is busy and \(queue.limit) inputs are queued; the oldest (\(dropped.origin.rawValue)) was dropped"))
                actions.append(.emit(.error(CallError(kind: "queue_overflow", message: "an input was dropped because Lex was busy"))))
            }
            lex = .awaiting(turn, queue: queue)
        }
    }

    private func send(_ entry: TurnQueue.Entry, queue: TurnQueue, at now: Instant, _ actions: inout [CallAction]) {
        let speechEnded = entry.origin == .speech && now - entry.queuedAt < .milliseconds(1) ? entry.queuedAt : nil
        lex = .awaiting(Turn(origin: entry.origin, sentAt: now, speechEndedAt: speechEnded), queue: queue)
        turnFirstFrameAt = nil
        replyRecord.removeAll(keepingCapacity: true)
        reply.beginReply()
        actions.append(.log(.debug, "lex request", ["origin": "\(entry.origin.rawValue)", "queued_ms": "\((now - entry.queuedAt).milliseconds)"]))
        actions.append(.sendToLex(entry.input, sessionAttributes: sessionAttributes))
    }

    func lexAudio(_ chunk: [UInt8], at now: Instant, _ actions: inout [CallAction]) {
        guard case .awaiting(var turn, let queue) = lex else { preconditionFailure("Lex reply audio with no turn open") }
        guard !turn.discarding, !turn.overflowed else { return }
        if core.playback.queuedDuration >= Self.maxQueuedReply {
            turn.overflowed = true
            lex = .awaiting(turn, queue: queue)
            actions.append(.count(.error(.replyOverflow)))
            actions.append(.log(.warning, "Lex's reply is more than \(Self.maxQueuedReply.milliseconds / 1000) s ahead of playback; the rest of it is dropped"))
            return
        }
        if settings.recording { replyRecord += chunk }
        reply.append(chunk, to: &core.playback)
        core.output.replyAudioArrived()
        startPlaybackIfReady(at: now, &actions)
    }

    func lexCompleted(_ result: Result<LexTurn, LexError>, at now: Instant, _ actions: inout [CallAction]) {
        guard case .awaiting(let turn, let queue) = lex else { preconditionFailure("Lex completion with no turn open") }
        lex = queue.isEmpty ? .idle : .between(queue)
        let elapsed = now - turn.sentAt
        actions.append(.count(.lexLatency(elapsed)))
        switch result {
        case .success(let t):
            actions.append(.count(.lexRequest(api: api, status: .http(t.statusCode))))
            core.stats.lexTurns += 1
            if !t.sessionAttributes.isEmpty { sessionAttributes = t.sessionAttributes }
            applyCapture(t, &actions)
            actions.append(.log(.info, "lex turn", [
                "transcript": "\(t.inputTranscript ?? "")", "intent": "\(t.intentName ?? "")",
                "dialog_state": "\(t.dialogState ?? "")", "ms": "\(elapsed.milliseconds)", "audio_bytes": "\(t.audioByteCount)",
            ]))
            actions.append(.emit(.lexTurn(LexTurnCompleted(
                customerTranscript: t.inputTranscript ?? "", botTranscript: t.messageText, intent: t.intentName ?? "",
                slots: t.slots, dialogState: t.dialogState ?? "", inputMode: t.inputMode, latencyMs: elapsed.milliseconds,
                input: turn.origin.rawValue))))
            if settings.recording && !replyRecord.isEmpty {
                actions.append(.record(samples: PCM.samples(littleEndian: replyRecord), rate: 16000, kind: .reply))
            }
            if !turn.discarding {
                reply.finish(to: &core.playback)
                core.playback.finish()
                replyComplete()
                startPlaybackIfReady(at: now, &actions)
            }
            recordReactionTimes(t.transfer, turn, &actions)
            let close = t.sessionAttributes["nexmo-close"].map { !["", "false", "0", "no"].contains($0.lowercased()) } ?? false
            if close || (settings.closeOnFinal && t.isFinal) {
                closeAfterPlayback = true
                actions.append(.log(.info, "conversation over; closing after playback", ["by": "\(close ? "nexmo-close" : "final dialog state")"]))
            }
        case .failure(.cancelled):
            // Not delivered after `cancelLex` (LexConversation's contract); nothing to play.
            break
        case .failure(let error):
            core.stats.lexErrors += 1
            capture.awaitingInput = false
            let status: ConnectorMetrics.LexRequestStatus
            if case .service(let s, _, _) = error { status = .http(s) } else { status = .noResponse }
            actions.append(.count(.lexRequest(api: api, status: status)))
            actions.append(.count(.error(.lex)))
            actions.append(.log(.error, "lex request failed: \(error)"))
            actions.append(.emit(.error(CallError(kind: "lex", message: "\(error)", retryable: error.isRetryable))))
            if let prompt = fallbackPrompt, !core.output.isPlaying {
                core.playback.append(prompt)
                core.playback.finish()
                replyComplete()
                startPlaybackIfReady(at: now, &actions)
            }
        }
        if core.output == .silent && core.playback.availableFrames == 0 { playbackFinished(&actions) }
        if case .between(var waiting) = lex {
            lex = .idle
            if core.ending == nil, let next = waiting.popFirst() { send(next, queue: waiting, at: now, &actions) }
        }
    }

    /// The connector's own share of a turn's reaction times, on the monotonic clock: from the
    /// end of an utterance (sent at once) to libcurl starting to send the request, and from
    /// the reply body's first bytes at the client thread to the first frame to the caller
    /// (when the reply started from silence).
    private func recordReactionTimes(_ t: HTTPTransferStats, _ turn: Turn, _ actions: inout [CallAction]) {
        if t.attempts == 1, let started = t.attemptStartedAt, let speechEnd = turn.speechEndedAt {
            let requestAt = started + t.timeToRequest
            if requestAt >= speechEnd { actions.append(.count(.speechToRequest(requestAt - speechEnd))) }
        }
        if let bodyAt = t.firstBodyBytesAt, let first = turnFirstFrameAt, first >= bodyAt {
            actions.append(.count(.replyToFirstFrame(first - bodyAt)))
        }
    }

    // MARK: - Playback

    private func startPlaybackIfReady(at now: Instant, _ actions: inout [CallAction]) {
        let playback = core.startPlaybackIfReady(at: now, &actions)
        if playback.started && turnFirstFrameAt == nil { turnFirstFrameAt = now }
        if playback.finished { playbackFinished(&actions) }
    }

    /// The audio queued so far has played; close now if the conversation is over.
    func playbackFinished(_ actions: inout [CallAction]) {
        core.playbackFinished(&actions)
        if closeAfterPlayback, case .idle = lex { core.close(.normal, "conversation ended") }
    }

    /// The reply stream is complete: what it left plays out, or nothing streams any more.
    private func replyComplete() { core.output.replyComplete() }
}

extension ActiveCall.Output {
    var isPlaying: Bool {
        if case .playing = self { return true }
        return false
    }
}
