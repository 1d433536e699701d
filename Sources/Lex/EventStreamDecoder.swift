import Foundation

/// Incremental event stream decoder: feed it the bytes of a stream in
/// slices of any size (HTTP/2 DATA frames), take whole messages out.
///
/// Checks, in this order, per message:
/// 1. the prelude CRC, as soon as its 12 bytes are in (so a corrupted length
///    is reported as a CRC mismatch, as the AWS test suite expects);
/// 2. the lengths: total at least 16, headers at most total - 16;
/// 3. the limits (`maxMessageBytes`, `maxHeadersBytes`), from the prelude
///    alone, before the body is buffered: a peer cannot make the decoder
///    hold more than `maxMessageBytes` plus the slice being fed;
/// 4. the message CRC, once the whole message is in;
/// 5. the headers: known type bytes, no header past the headers section,
///    non-empty UTF-8 names, UTF-8 string values.
///
/// Any failure is a typed `EventStreamError`, never a trap; the decoder then
/// stays failed (it throws the same error again), since the framing of the
/// rest of the stream is lost. A pure value: no I/O, no clock.
public struct EventStreamDecoder: Sendable {
    public let maxMessageBytes: Int
    public let maxHeadersBytes: Int

    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var failure: EventStreamError?

    /// Capacity kept between messages; a larger buffer (after a large message)
    /// is released once drained, so an idle stream holds little memory.
    static let retainedCapacity = 16 * 1024

    public init(maxMessageBytes: Int = EventStreamLimits.maxMessageBytes,
                maxHeadersBytes: Int = EventStreamLimits.maxHeadersBytes) {
        self.maxMessageBytes = maxMessageBytes
        self.maxHeadersBytes = maxHeadersBytes
    }

    /// Bytes held that belong to a message not yet complete.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// The error the decoder stopped on, if any.
    public var error: EventStreamError? { failure }

    /// Appends `bytes` and returns every message they complete, in order.
    /// When a malformed message follows good ones in the same slice, the good
    /// ones are returned and the error is thrown by the next call (`feed`,
    /// `nextMessage` or `finish`): the outcome does not depend on how the
    /// stream was sliced.
    public mutating func feed<Bytes: Collection<UInt8>>(_ bytes: Bytes) throws(EventStreamError) -> [EventStreamMessage] {
        append(bytes)
        var messages: [EventStreamMessage] = []
        do {
            while let message = try nextMessage() {
                messages.append(message)
            }
        } catch {
            if messages.isEmpty { throw error }
        }
        return messages
    }

    /// Buffers `bytes` without decoding; pull messages with `nextMessage()`.
    public mutating func append<Bytes: Collection<UInt8>>(_ bytes: Bytes) {
        guard failure == nil else { return }
        buffer.append(contentsOf: bytes)
    }

    /// The next whole message, or nil when more bytes are needed.
    public mutating func nextMessage() throws(EventStreamError) -> EventStreamMessage? {
        if let failure { throw failure }
        do {
            return try decodeNext()
        } catch {
            failure = error
            buffer = []
            readIndex = 0
            throw error
        }
    }

    /// Call at the end of the stream: throws `.truncated` when part of a
    /// message is still buffered (or the error the decoder stopped on).
    public func finish() throws(EventStreamError) {
        if let failure { throw failure }
        if bufferedByteCount > 0 { throw .truncated(bufferedBytes: bufferedByteCount) }
    }

    private mutating func decodeNext() throws(EventStreamError) -> EventStreamMessage? {
        let available = buffer.count - readIndex
        guard available >= EventStreamLimits.preludeBytes else { return nil }
        let start = readIndex
        let total = Self.readUInt32(buffer, start)
        let headersLength = Self.readUInt32(buffer, start + 4)
        let preludeCRC = Self.readUInt32(buffer, start + 8)
        let computedPrelude = EventStreamCRC.checksum(buffer[start..<(start + 8)])
        guard computedPrelude == preludeCRC else {
            throw .preludeChecksumMismatch(expected: computedPrelude, received: preludeCRC)
        }
        guard Int(total) >= EventStreamLimits.overheadBytes,
            Int(headersLength) <= Int(total) - EventStreamLimits.overheadBytes
        else { throw .invalidLengths(total: total, headers: headersLength) }
        guard Int(total) <= maxMessageBytes else { throw .messageTooLarge(bytes: Int(total), limit: maxMessageBytes) }
        guard Int(headersLength) <= maxHeadersBytes else {
            throw .headersTooLarge(bytes: Int(headersLength), limit: maxHeadersBytes)
        }
        guard available >= Int(total) else { return nil }

        let end = start + Int(total)
        let messageCRC = Self.readUInt32(buffer, end - 4)
        let computed = EventStreamCRC.checksum(buffer[start..<(end - 4)])
        guard computed == messageCRC else {
            throw .messageChecksumMismatch(expected: computed, received: messageCRC)
        }
        let headersStart = start + EventStreamLimits.preludeBytes
        let headersEnd = headersStart + Int(headersLength)
        let headers = try Self.parseHeaders(buffer, headersStart, headersEnd)
        let payload = Array(buffer[headersEnd..<(end - 4)])
        readIndex = end
        compact()
        return EventStreamMessage(headers: headers, payload: payload)
    }

    private mutating func compact() {
        if readIndex == buffer.count {
            if buffer.capacity > Self.retainedCapacity {
                buffer = []
            } else {
                buffer.removeAll(keepingCapacity: true)
            }
            readIndex = 0
        } else if readIndex >= 4096 && readIndex * 2 >= buffer.count {
            buffer.removeSubrange(0..<readIndex)
            readIndex = 0
        }
    }

    /// Decodes a headers section `bytes[start..<end]`.
    static func parseHeaders(_ bytes: [UInt8], _ start: Int, _ end: Int) throws(EventStreamError) -> [EventStreamHeader] {
        var headers: [EventStreamHeader] = []
        var i = start
        while i < end {
            let offset = i - start
            let nameLength = Int(bytes[i])
            i += 1
            guard nameLength > 0 else { throw .emptyHeaderName(offset: offset) }
            // The name and the type byte must fit.
            guard end - i >= nameLength + 1 else { throw .headerOverrun(offset: offset) }
            guard let name = String(validating: bytes[i..<(i + nameLength)], as: UTF8.self) else {
                throw .invalidUTF8(header: nil)
            }
            i += nameLength
            let type = bytes[i]
            i += 1
            func need(_ n: Int) throws(EventStreamError) {
                guard end - i >= n else { throw .headerOverrun(offset: offset) }
            }
            let value: EventStreamHeaderValue
            switch type {
            case 0: value = .bool(true)
            case 1: value = .bool(false)
            case 2:
                try need(1)
                value = .byte(Int8(bitPattern: bytes[i]))
                i += 1
            case 3:
                try need(2)
                value = .int16(Int16(bitPattern: UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1])))
                i += 2
            case 4:
                try need(4)
                value = .int32(Int32(bitPattern: readUInt32(bytes, i)))
                i += 4
            case 5, 8:
                try need(8)
                let v = Int64(bitPattern: UInt64(readUInt32(bytes, i)) << 32 | UInt64(readUInt32(bytes, i + 4)))
                value = type == 5 ? .int64(v) : .timestamp(v)
                i += 8
            case 6, 7:
                try need(2)
                let length = Int(bytes[i]) << 8 | Int(bytes[i + 1])
                i += 2
                try need(length)
                let slice = bytes[i..<(i + length)]
                if type == 6 {
                    value = .byteArray(Array(slice))
                } else {
                    guard let string = String(validating: slice, as: UTF8.self) else {
                        throw .invalidUTF8(header: name)
                    }
                    value = .string(string)
                }
                i += length
            case 9:
                try need(16)
                let b = bytes
                let j = i
                value = .uuid(UUID(uuid: (b[j], b[j + 1], b[j + 2], b[j + 3], b[j + 4], b[j + 5], b[j + 6], b[j + 7],
                                          b[j + 8], b[j + 9], b[j + 10], b[j + 11], b[j + 12], b[j + 13], b[j + 14],
                                          b[j + 15])))
                i += 16
            default:
                throw .unknownHeaderType(type, header: name)
            }
            headers.append(EventStreamHeader(name, value))
        }
        return headers
    }

    static func readUInt32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }
}

extension EventStreamDecoder {
    /// Decodes a complete stream held in memory: every message, then
    /// `finish()` (so trailing bytes are `.truncated`).
    public static func decodeAll<Bytes: Collection<UInt8>>(
        _ bytes: Bytes, maxMessageBytes: Int = EventStreamLimits.maxMessageBytes
    ) throws(EventStreamError) -> [EventStreamMessage] {
        var decoder = EventStreamDecoder(maxMessageBytes: maxMessageBytes)
        let messages = try decoder.feed(bytes)
        try decoder.finish()
        return messages
    }
}
