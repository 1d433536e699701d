import LexcallCore

/// Figures a run collects. Totals cover the whole run; the rest only the measured window.
struct RunStats {
    var connected = 0
    var connectFailures = 0
    var refused: [String: Int] = [:]
    var protocolErrors = 0
    var lostConnections = 0
    var closedByServer: [UInt16: Int] = [:]
    var callsCompleted = 0
    var framesSent = 0
    var framesReceived = 0
    var wrongSize = 0
    var texts = 0
    var oks = 0
    var clears = 0
    var generatorLateSends = 0
    /// How late lexcall's own sends were against their deadlines (measured window).
    var sendLateness = DurationHistogram()
    var backloggedSends = 0
    // Measured window.
    var gaps = DurationHistogram()
    var replyLatency = DurationHistogram()
    var lateFrames = 0
    var windowFramesReceived = 0
    var windowFramesSent = 0
    var replies = 0
    var shortReplies = 0
    var missingFrames = 0
    var noReply = 0
    var playingNanoseconds: UInt64 = 0
}
