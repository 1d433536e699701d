import Audio
import Logging
import WebSocketServer

/// What a turn-based call (`ActiveCall`) and a streaming call (`StreamingCall`) share once its
/// settings are known: its times and limits (idle timeout, maximum duration), how it ends
/// (`ending`, `fail`, `close`, the last report), the caller's audio as it arrives, the Vonage
/// events it takes, and the playback side (`output` over `playback`, paced). Pure like the
/// calls (no clock, no I/O). Each call holds one inline as its first stored property, so the
/// fields every frame and every tick read share the object's first cache lines; they come
/// first here for the same reason. What a finished playback or a DTMF key means is each
/// kind's own: the methods here report it (a `Bool`, a digit) and the call decides.
struct CallCore {
    // The fields every frame and every tick read come first.
    var lastTick: Instant?
    var lastInbound: Instant
    /// Set when this input ends the call.
    private(set) var ending: CallEnd?
    var output: ActiveCall.Output = .silent
    /// Frames counted since the last tick, for the metrics (counted per tick, not per frame).
    var pending = ActiveCall.FrameCounts()
    /// `settings.frameBytes`: one 20 ms frame at the call's rate.
    let frameBytes: Int
    /// `settings.idleTimeout` and `settings.maxDuration`, checked on every tick.
    let idleTimeout: Duration, maxDuration: Duration
    let startedAt: Instant
    var playback: PlaybackBuffer
    var stats = CallStatistics()

    init(settings: CallSettings, startedAt: Instant, lastTick: Instant?) {
        self.lastTick = lastTick
        lastInbound = startedAt
        frameBytes = settings.frameBytes
        idleTimeout = settings.idleTimeout
        maxDuration = settings.maxDuration
        self.startedAt = startedAt
        playback = PlaybackBuffer(frameBytes: settings.frameBytes)
    }

    // MARK: - The caller

    /// Whether `data` is an audio message the call takes: whole 16-bit samples, not empty, at
    /// most eight frames (README "What happens during a call"). If so it counts as inbound
    /// audio now; if not, the call fails with 1003.
    /// (Inlined: every frame of every call comes through here; the refusal is out of line.)
    @inline(__always)
    mutating func acceptAudio(_ data: [UInt8], at now: Instant, _ actions: inout [CallAction]) -> Bool {
        guard data.count % 2 == 0 && data.count <= frameBytes * 8 && data.count > 0 else {
            refuseAudio(byteCount: data.count, &actions)
            return false
        }
        lastInbound = now
        pending.received += 1
        return true
    }

    private mutating func refuseAudio(byteCount: Int, _ actions: inout [CallAction]) {
        actions.append(.count(.badInput(.audioFrameSize)))
        fail(.unsupportedData, "invalid audio frame of \(byteCount) bytes: expected \(frameBytes) (16-bit PCM, 20 ms)", &actions)
    }

    /// A TEXT message after the start: a Vonage event. Returns the digit of a valid
    /// `websocket:dtmf` (`isValid`; counted and reported as `dtmf`) for the call to use; other
    /// events are logged, and what is not a Vonage event or not a valid key is counted as bad input.
    mutating func vonageEvent(_ text: String, dtmfIsValid isValid: (String) -> Bool, _ actions: inout [CallAction]) -> String? {
        guard let event = VonageEvent.parse(text) else {
            actions.append(.count(.badInput(.textMessage)))
            actions.append(.log(.info, "ignored a text message that is not a Vonage event"))
            return nil
        }
        switch event {
        case .dtmf(let digit):
            guard isValid(digit) else {
                actions.append(.count(.badInput(.dtmf)))
                actions.append(.log(.info, "ignored an invalid DTMF event"))
                return nil
            }
            stats.dtmfDigits += 1
            actions.append(.emit(.dtmf(DTMFPressed(digit: digit))))
            return digit
        case .cleared:
            actions.append(.log(.debug, "vonage event", ["event": "websocket:cleared"]))
        case .notify:
            actions.append(.log(.debug, "vonage event", ["event": "websocket:notify"]))
        case .other(let name):
            actions.append(.log(.debug, "unknown vonage event ignored", ["event": "\(name)"]))
        }
        return nil
    }

    // MARK: - Playback

    /// Starts paced playback when nothing plays and a frame is queued, and sends the frames
    /// due. Returns whether it started (`finished`: everything queued has played already).
    mutating func startPlaybackIfReady(at now: Instant, _ actions: inout [CallAction]) -> (started: Bool, finished: Bool) {
        guard !output.isPlaying, playback.availableFrames > 0 else { return (false, false) }
        let paced = PacedPlayback.begin(at: now, lastTick: lastTick)
        output = .playing(paced, streaming: output == .buffering)
        actions.append(.emit(.playbackStarted(PlaybackStarted())))
        return (true, sendDueFrames(at: paced.start, &actions))
    }

    /// Sends the frames due by `now` (`ActiveCall.Output.sendDueFrames`). Returns true when
    /// everything queued has played and the reply is complete: call `playbackFinished`.
    mutating func sendDueFrames(at now: Instant, _ actions: inout [CallAction]) -> Bool {
        output.sendDueFrames(at: now, from: &playback, counts: &pending, &actions)
    }

    /// The output that played goes silent: its frames are counted and `playback_finished` sent.
    mutating func playbackFinished(_ actions: inout [CallAction]) {
        guard case .playing(let paced, _) = output else { return }
        output = .silent
        stats.framesPlayed += paced.framesSent
        actions.append(.emit(.playbackFinished(PlaybackFinished(frames: paced.framesSent))))
    }

    /// Barge-in: what is queued here goes, and Vonage is told to drop what it holds. Returns
    /// the milliseconds dropped here (at `sampleRate`), for the call's log line and event.
    mutating func interruptPlayback(sampleRate: Int, _ actions: inout [CallAction]) -> Int {
        stats.bargeIns += 1
        let queuedMs = playback.queuedBytes * 1000 / (sampleRate * 2)
        playback.clear()
        output = .silent
        actions.append(.sendText(#"{"action":"clear"}"#))
        return queuedMs
    }

    // MARK: - Time

    /// On each tick: the frames due. Returns true when playback has finished (see `sendDueFrames`).
    mutating func tick(at now: Instant, _ actions: inout [CallAction]) -> Bool {
        lastTick = now
        guard case .playing = output else { return false }
        return sendDueFrames(at: now, &actions)
    }

    /// The idle timeout (no inbound audio for `idleTimeout`) and the maximum duration, unless
    /// the call is ending already.
    mutating func checkLimits(at now: Instant, _ actions: inout [CallAction]) {
        guard ending == nil else { return }
        if idleTimeout > .zero && now - lastInbound > idleTimeout {
            actions.append(.count(.error(.idleTimeout)))
            return close(.normal, "idle timeout: no audio for \(idleTimeout.milliseconds / 1000) s")
        }
        if maxDuration > .zero && now - startedAt > maxDuration {
            close(.normal, "maximum call duration reached")
        }
    }

    mutating func flushCounters(_ actions: inout [CallAction]) { pending.flush(into: &actions) }

    // MARK: - Ending

    /// Sends an error event as text, then closes with `code`.
    mutating func fail(_ code: WebSocketCloseCode, _ reason: String, _ actions: inout [CallAction]) {
        actions.append(.log(.warning, "closing call: \(reason)", ["code": "\(code.rawValue)"]))
        actions.append(.sendText(CallEnd.errorMessage(reason)))
        close(code, reason)
    }

    mutating func close(_ code: WebSocketCloseCode, _ reason: String) {
        if ending == nil { ending = CallEnd(code: code, reason: reason, byPeer: false, closeSocket: true) }
    }

    /// The call is over (the kind has let go of Lex): the counters, the frames of what was
    /// playing, the `call ended` line (`metadata` added to its common fields) and `call_ended`.
    mutating func report(_ end: CallEnd, at now: Instant, _ metadata: Logger.Metadata, _ actions: inout [CallAction]) {
        flushCounters(&actions)
        if case .playing(let p, _) = output { stats.framesPlayed += p.framesSent }
        output = .silent
        let duration = now - startedAt
        var line: Logger.Metadata = [
            "code": "\(end.code.rawValue)", "reason": "\(end.reason)", "by_peer": "\(end.byPeer)",
            "seconds": "\(Int(duration.seconds))", "lex_turns": "\(stats.lexTurns)", "lex_errors": "\(stats.lexErrors)",
        ]
        line.merge(metadata) { _, new in new }
        actions.append(.log(.info, "call ended", line))
        actions.append(.emit(.callEnded(stats.ended(code: Int(end.code.rawValue), reason: end.reason, byCaller: end.byPeer, duration: duration))))
    }
}
