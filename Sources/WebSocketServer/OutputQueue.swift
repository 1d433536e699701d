/// What a connection has still to write, as pure state: chunks appended in order, the part of
/// the oldest already written, and the cap that cuts off a peer that stops reading. The
/// connection tries a direct write first and queues only what the socket did not take; while
/// the queue holds anything the loop watches the socket for writability.
///
/// Transcript (cap 10): `append([1,2,3,4], alreadyWritten: 1)` -> `.startWatchingWritable`
/// (3 bytes queued); `append([5,6], alreadyWritten: 0)` -> `.queued` (5); `didWrite(3)` ->
/// `.wroteChunk`; `didWrite(1)` -> `.partial`; `didWrite(1)` -> `.flushed` (stop watching).
/// Style after swift-nio's `PendingWritesManager` (a write queue as plain state).
struct OutputQueue {
    /// Most bytes that may wait; beyond it `append` answers `.overflow`.
    let capacityBytes: Int
    private var chunks: [[UInt8]] = []
    private var head = 0
    /// Bytes of `chunks[head]` already written.
    private var offset = 0
    /// Bytes waiting to be written.
    private(set) var queuedBytes = 0

    init(capacityBytes: Int) { self.capacityBytes = capacityBytes }

    /// True when nothing waits: a new write may go to the socket directly.
    var isEmpty: Bool { queuedBytes == 0 }

    enum AppendOutcome: Equatable {
        /// The queue was empty: start watching the socket for writability.
        case startWatchingWritable
        /// Queued behind earlier bytes (already watching).
        case queued
        /// Over `capacityBytes`: nothing was queued; the peer is not reading, cut it off.
        case overflow
    }

    /// Queues what a direct write left of `bytes` (its first `alreadyWritten` bytes went out).
    mutating func append(_ bytes: [UInt8], alreadyWritten: Int) -> AppendOutcome {
        let size = bytes.count - alreadyWritten
        precondition(size > 0, "append of a chunk that was written whole")
        if queuedBytes + size > capacityBytes { return .overflow }
        let wasEmpty = isEmpty
        if wasEmpty { offset = alreadyWritten }
        chunks.append(bytes)
        queuedBytes += size
        return wasEmpty ? .startWatchingWritable : .queued
    }

    /// The unwritten bytes of the oldest chunk, for the next write; nil when empty.
    func withNextBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R? {
        guard head < chunks.count else { return nil }
        return chunks[head].withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
    }

    enum WriteOutcome: Equatable {
        /// The socket took part of the oldest chunk: wait for writability again.
        case partial
        /// The oldest chunk is written; more wait: write the next.
        case wroteChunk
        /// Everything is written: stop watching for writability.
        case flushed
    }

    /// Records that the socket took `count` bytes of `withNextBytes`' buffer.
    mutating func didWrite(_ count: Int) -> WriteOutcome {
        precondition(head < chunks.count && count >= 0 && count <= chunks[head].count - offset,
                     "didWrite(\(count)) beyond the queued bytes")
        offset += count
        queuedBytes -= count
        guard offset == chunks[head].count else { return .partial }
        head += 1
        offset = 0
        guard head == chunks.count else { return .wroteChunk }
        removeAll()
        return .flushed
    }

    /// Drops everything (the socket is closing).
    mutating func removeAll() {
        chunks.removeAll(keepingCapacity: false)
        head = 0
        offset = 0
        queuedBytes = 0
    }
}
