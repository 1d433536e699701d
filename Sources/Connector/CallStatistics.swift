/// What one call did, for its `call_ended` event and last log line.
struct CallStatistics: Sendable, Equatable {
    var utterances = 0
    var lexTurns = 0
    var lexErrors = 0
    /// Frames of replies that played to their end or to the end of the call (a reply cut by
    /// barge-in is not counted here; `lexconnector_frames_played_total` counts every frame).
    var framesPlayed = 0
    var bargeIns = 0
    /// Keys pressed, `#` included.
    var dtmfDigits = 0

    func ended(code: Int, reason: String, byCaller: Bool, duration: Duration) -> CallEnded {
        CallEnded(code: code, reason: reason, byCaller: byCaller, durationSeconds: duration.seconds,
                  utterances: utterances, lexTurns: lexTurns, lexErrors: lexErrors, framesPlayed: framesPlayed,
                  bargeIns: bargeIns, dtmfDigits: dtmfDigits)
    }
}
