/// The bytes an HTTP/2 stream has queued for DATA frames, taken from the front as nghttp2's data
/// provider asks for them: the request body of an `HTTP2Stream`, the response body of the
/// stand-in's streams. Not thread-safe: its owner holds the lock.
package struct HTTP2SendBuffer: Sendable {
    private var storage: [UInt8] = []
    /// Storage bytes before this index are taken.
    private var head = 0

    package init() {}

    /// Bytes queued and not yet taken.
    package var count: Int { storage.count - head }
    package var isEmpty: Bool { storage.count == head }

    package mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) { storage.append(contentsOf: bytes) }
    package mutating func append(_ bytes: [UInt8]) { storage.append(contentsOf: bytes) }

    /// Copies up to `capacity` bytes from the front into `buffer`; returns how many (0 when
    /// empty). The taken bytes are dropped from the storage when none are left, or once more
    /// than 64 KiB of them make more than half of it (so each byte moves at most once more).
    package mutating func take(into buffer: UnsafeMutablePointer<UInt8>, capacity: Int) -> Int {
        let n = min(count, capacity)
        guard n > 0 else { return 0 }
        storage.withUnsafeBufferPointer { buffer.update(from: $0.baseAddress! + head, count: n) }
        head += n
        if head == storage.count {
            storage.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 64 * 1024 && head * 2 > storage.count {
            storage.removeSubrange(0..<head)
            head = 0
        }
        return n
    }
}
