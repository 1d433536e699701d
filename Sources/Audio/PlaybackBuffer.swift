/// Queues PCM as it arrives (chunks of any size, odd byte counts included) and hands out
/// exact frames, one per pacing tick.
///
/// A partial frame at the end is held back until `finish()` says the stream is complete;
/// then it goes out zero-padded. `nextFrame()` never returns an empty or short frame.
/// Consumed bytes are dropped from the front in amortised O(1): a read offset, and a
/// compaction only once the consumed part is at least half the storage.
public struct PlaybackBuffer: Sendable {
    /// Bytes in a frame (320, 640 or 960 for 20 ms at 8, 16, 24 kHz).
    public let frameBytes: Int
    /// Playing time of one frame.
    public let frameDuration: Duration

    private var storage: [UInt8] = []
    private var head = 0
    /// Whether `finish()` was called since the last `append` or `clear()`.
    public private(set) var isFinished = false

    /// `frameBytes` must be positive (a programming error otherwise).
    public init(frameBytes: Int, frameDuration: Duration = .milliseconds(20)) {
        precondition(frameBytes > 0, "PlaybackBuffer frameBytes must be positive")
        self.frameBytes = frameBytes
        self.frameDuration = frameDuration
    }

    /// Bytes queued and not yet handed out (padding not counted).
    public var queuedBytes: Int { storage.count - head }

    /// Playing time of the queued bytes.
    public var queuedDuration: Duration { frameDuration * queuedBytes / frameBytes }

    /// Frames `nextFrame()` would hand out now.
    public var availableFrames: Int {
        isFinished ? (queuedBytes + frameBytes - 1) / frameBytes : queuedBytes / frameBytes
    }

    /// Queues the next bytes of the stream. After `finish()`, a new stream starts: the old
    /// one's last partial frame is first padded, so the new audio starts on a frame.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if isFinished {
            padToFrame()
            isFinished = false
        }
        storage.append(contentsOf: bytes)
    }

    /// The stream is complete: its last partial frame may go out, zero-padded.
    public mutating func finish() {
        isFinished = true
    }

    /// The next full frame, or nil if less than a frame is queued (or, after `finish()`,
    /// nothing at all).
    public mutating func nextFrame() -> [UInt8]? {
        if queuedBytes < frameBytes {
            guard isFinished, queuedBytes > 0 else { return nil }
            padToFrame()
        }
        let frame = Array(storage[head ..< head + frameBytes])
        head += frameBytes
        if head == storage.count {
            storage.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 4096, head * 2 >= storage.count {
            storage.removeSubrange(0 ..< head)
            head = 0
        }
        return frame
    }

    /// Drops everything queued (barge-in).
    public mutating func clear() {
        storage.removeAll(keepingCapacity: true)
        head = 0
        isFinished = false
    }

    private mutating func padToFrame() {
        let partial = queuedBytes % frameBytes
        if partial > 0 { storage.append(contentsOf: repeatElement(0, count: frameBytes - partial)) }
    }
}
