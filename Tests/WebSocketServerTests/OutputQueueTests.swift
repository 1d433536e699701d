import Testing
@testable import WebSocketServer

/// The unwritten bytes `withNextBytes` offers.
private func next(_ q: OutputQueue) -> [UInt8]? { q.withNextBytes { Array($0) } }

@Suite("Output queue")
struct OutputQueueTests {
    @Test func partialWritesThenFlushed() {
        var q = OutputQueue(capacityBytes: 10)
        #expect(q.isEmpty)
        #expect(next(q) == nil)
        // A direct write took 1 byte of 4: the rest waits, and the socket is watched.
        #expect(q.append([1, 2, 3, 4], alreadyWritten: 1) == .startWatchingWritable)
        #expect(q.queuedBytes == 3)
        #expect(next(q) == [2, 3, 4])
        #expect(q.append([5, 6], alreadyWritten: 0) == .queued)
        #expect(q.queuedBytes == 5)
        #expect(q.didWrite(2) == .partial)
        #expect(next(q) == [4])
        #expect(q.didWrite(1) == .wroteChunk)
        #expect(next(q) == [5, 6])
        #expect(q.didWrite(1) == .partial)
        #expect(q.didWrite(1) == .flushed)
        #expect(q.isEmpty && q.queuedBytes == 0 && next(q) == nil)
        // Empty again: the next append starts watching again, from its own offset.
        #expect(q.append([7, 8, 9], alreadyWritten: 2) == .startWatchingWritable)
        #expect(next(q) == [9])
    }

    @Test func overflowQueuesNothing() {
        var q = OutputQueue(capacityBytes: 10)
        #expect(q.append([UInt8](repeating: 1, count: 8), alreadyWritten: 0) == .startWatchingWritable)
        #expect(q.append([2, 2, 2], alreadyWritten: 0) == .overflow)
        #expect(q.queuedBytes == 8)
        // Exactly at the cap is allowed: only the unwritten part counts.
        #expect(q.append([3, 3, 3], alreadyWritten: 1) == .queued)
        #expect(q.queuedBytes == 10)
    }

    @Test func removeAllEmpties() {
        var q = OutputQueue(capacityBytes: 100)
        _ = q.append([1, 2, 3], alreadyWritten: 0)
        _ = q.append([4], alreadyWritten: 0)
        q.removeAll()
        #expect(q.isEmpty && next(q) == nil)
        #expect(q.append([5], alreadyWritten: 0) == .startWatchingWritable)
    }
}
