@testable import Lex
import Testing

/// `HTTP2SendBuffer`: bytes out in the order they went in, in pieces of the reader's size,
/// across the storage's compaction.
@Suite struct HTTP2SendBufferTests {
    private func take(_ buffer: inout HTTP2SendBuffer, _ capacity: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: capacity)
        let n = out.withUnsafeMutableBufferPointer { buffer.take(into: $0.baseAddress!, capacity: capacity) }
        return Array(out[..<n])
    }

    @Test func takesFromTheFrontInOrder() {
        var buffer = HTTP2SendBuffer()
        #expect(buffer.isEmpty && take(&buffer, 16).isEmpty)
        buffer.append([1, 2, 3, 4, 5])
        #expect(take(&buffer, 2) == [1, 2])
        buffer.append([6, 7])
        #expect(buffer.count == 5)
        #expect(take(&buffer, 16) == [3, 4, 5, 6, 7])
        #expect(buffer.isEmpty && buffer.count == 0)
    }

    /// 200 KiB in, 1,000 bytes at a time out, with more appended midway: past the 64 KiB
    /// compaction the order and content hold.
    @Test func keepsOrderAcrossCompaction() {
        var buffer = HTTP2SendBuffer()
        let first = (0..<150_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let second = (0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) }
        buffer.append(first)
        var out: [UInt8] = []
        while out.count < 100_000 { out += take(&buffer, 1000) }
        buffer.append(second)
        #expect(buffer.count == 100_000)
        while !buffer.isEmpty { out += take(&buffer, 1000) }
        #expect(out == first + second)
    }
}
