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

extension Duration {
    /// Whole milliseconds (rounded down).
    var milliseconds: Int {
        let (s, a) = components
        return Int(s) * 1000 + Int(a / 1_000_000_000_000_000)
    }

    /// Seconds as a `Double`.
    var seconds: Double {
        let (s, a) = components
        return Double(s) + Double(a) / 1e18
    }
}
