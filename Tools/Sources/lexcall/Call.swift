import LexcallCore
import WebSocketProtocol

/// One simulated call's state. Owned by the engine's thread.
final class Call {
    enum State { case waiting, connecting, handshaking, open, closing, done }

    /// What the caller is doing.
    enum Script: Equatable {
        /// Sending the WAV's frames; the next one is `frame`.
        case speaking(frame: Int)
        /// Speech over; silence until the reply starts (or the reply timeout).
        case awaitingReply(since: UInt64)
        /// A reply is playing; silence until it ends.
        case hearing
        /// Silence until `until`, then speak again (load) or finish (single call).
        case pausing(until: UInt64)
        /// Silence to the end.
        case silent
    }

    let number: Int
    let startAt: UInt64
    let path: String
    var state = State.waiting
    var fd: Int32 = -1
    var expectedAccept = ""
    var handshakeBytes: [UInt8] = []
    var openedAt: UInt64 = 0
    /// Index of the next frame: frame k is due at openedAt + k × 20 ms.
    var nextFrame = 0
    var decoder = FrameDecoder(role: .client, maxPayload: 1 << 20)
    var pendingOut: [UInt8] = []
    var writeArmed = false
    var script: Script
    var tracker: ReplyTracker
    var nextDTMF = 0
    var hangUpAt: UInt64 = .max
    var closeSentAt: UInt64 = 0
    var closeCode: UInt16?
    var closeReason = ""
    var closedByServer = false
    var failure: String?
    /// Send times of the frames that ended speech, and the arrival of each reply's first frame.
    var speechEnds: [UInt64] = []
    var replyStarts: [UInt64] = []
    var lastSpeechEnd: UInt64 = 0
    var wavFinishedAt: UInt64 = 0
    var lastReplyFrame: UInt64 = 0
    /// Single call: the bot's audio as received.
    var replyAudio: [UInt8] = []

    init(number: Int, startAt: UInt64, path: String, script: Script, quiet: UInt64) {
        self.number = number
        self.startAt = startAt
        self.path = path
        self.script = script
        tracker = ReplyTracker(quiet: quiet)
    }

    func due(_ k: Int) -> UInt64 { openedAt + UInt64(k) * ReplyTracker.frameNanoseconds }
}
