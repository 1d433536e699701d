import Audio
import CoreTypes

/// The playback side that turn-based (`ActiveCall`) and streaming (`StreamingCall`) calls
/// share: how reply audio moves the output between silent, buffering and paced playing, and
/// which frames a tick sends. Pure; each call keeps its own `PlaybackBuffer` and counts and
/// decides what a finished playback means for it.
extension ActiveCall.Output {
    /// Reply audio arrived: a silent output starts buffering, a reply playing out its last
    /// frames is streaming again.
    mutating func replyAudioArrived() {
        switch self {
        case .silent: self = .buffering
        case .playing(let p, streaming: false): self = .playing(p, streaming: true)
        case .buffering, .playing: break
        }
    }

    /// The reply stream is complete: what it left plays out, or nothing streams any more.
    mutating func replyComplete() {
        switch self {
        case .buffering: self = .silent
        case .playing(let p, streaming: true): self = .playing(p, streaming: false)
        case .silent, .playing: break
        }
    }

    /// Sends the frames of `playback` due by `now` (`PacedPlayback`). When the audio runs out
    /// while the reply still streams, the output waits silent for more (`buffering`). Returns
    /// true when everything queued has played and the reply is complete: the caller's playback
    /// has finished (the output is still `.playing`, so the caller can read its frame count).
    mutating func sendDueFrames(at now: Instant, from playback: inout PlaybackBuffer,
                                counts: inout ActiveCall.FrameCounts, _ actions: inout [CallAction]) -> Bool {
        guard case .playing(var paced, let streaming) = self else { return false }
        let due = paced.due(at: now)
        counts.late += due.late
        for _ in 0..<due.frames {
            guard let frame = playback.nextFrame() else {
                self = streaming ? .buffering : .playing(paced, streaming: false)
                return !streaming
            }
            actions.append(.sendFrame(frame))
            paced.didSend()
            counts.played += 1
        }
        self = .playing(paced, streaming: streaming)
        return playback.availableFrames == 0 && !streaming && playback.queuedBytes == 0
    }
}

extension ActiveCall.FrameCounts {
    /// The counts as metric actions (the frames of a tick go as one increment each), then zero.
    mutating func flush(into actions: inout [CallAction]) {
        if played > 0 { actions.append(.count(.framesPlayed(played))) }
        if late > 0 { actions.append(.count(.framesLate(late))) }
        if received > 0 { actions.append(.count(.framesReceived(received))) }
        self = ActiveCall.FrameCounts()
    }
}
