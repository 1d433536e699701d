import Foundation

/// Writes event stream messages (see `EventStreamMessage` for the layout).
/// Pure: bytes in, bytes out.
public enum EventStreamEncoder {
    /// The message as it goes on the wire: prelude (total length, headers
    /// length, their CRC-32), headers, payload, message CRC-32.
    ///
    /// Throws `.headerNameTooLong` (over 255 bytes), `.headerValueTooLong`
    /// (byte array or string over 32,767), `.headersTooLarge` (over 128 KiB)
    /// or `.messageTooLarge` (payload over 24 MiB): each is a caller's bug,
    /// since a peer would refuse such a message.
    public static func encode(_ message: EventStreamMessage) throws(EventStreamError) -> [UInt8] {
        let headersLength = try headersByteCount(message.headers)
        guard message.payload.count <= EventStreamLimits.maxPayloadBytes else {
            throw .messageTooLarge(bytes: message.payload.count, limit: EventStreamLimits.maxPayloadBytes)
        }
        let total = EventStreamLimits.overheadBytes + headersLength + message.payload.count
        var out = [UInt8]()
        out.reserveCapacity(total)
        appendUInt32(UInt32(total), to: &out)
        appendUInt32(UInt32(headersLength), to: &out)
        appendUInt32(EventStreamCRC.checksum(out), to: &out)
        appendHeaders(message.headers, to: &out)
        out.append(contentsOf: message.payload)
        appendUInt32(EventStreamCRC.checksum(out), to: &out)
        return out
    }

    /// The headers section alone (what SigV4 event signing hashes for the
    /// `:date` header). Throws as `encode` does.
    public static func encodeHeaders(_ headers: [EventStreamHeader]) throws(EventStreamError) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(try headersByteCount(headers))
        appendHeaders(headers, to: &out)
        return out
    }

    /// Checks every header against the encoding's limits and returns the
    /// size of the headers section.
    static func headersByteCount(_ headers: [EventStreamHeader]) throws(EventStreamError) -> Int {
        var total = 0
        for header in headers {
            let nameLength = header.name.utf8.count
            guard nameLength <= EventStreamLimits.maxHeaderNameBytes else { throw .headerNameTooLong(bytes: nameLength) }
            guard nameLength > 0 else { throw .emptyHeaderName(offset: total) }
            total += 1 + nameLength + 1
            switch header.value {
            case .bool: break
            case .byte: total += 1
            case .int16: total += 2
            case .int32: total += 4
            case .int64, .timestamp: total += 8
            case .uuid: total += 16
            case .byteArray(let bytes):
                guard bytes.count <= EventStreamLimits.maxHeaderValueBytes else {
                    throw .headerValueTooLong(header: header.name, bytes: bytes.count)
                }
                total += 2 + bytes.count
            case .string(let string):
                let n = string.utf8.count
                guard n <= EventStreamLimits.maxHeaderValueBytes else {
                    throw .headerValueTooLong(header: header.name, bytes: n)
                }
                total += 2 + n
            }
        }
        guard total <= EventStreamLimits.maxHeadersBytes else {
            throw .headersTooLarge(bytes: total, limit: EventStreamLimits.maxHeadersBytes)
        }
        return total
    }

    /// Appends headers already checked by `headersByteCount`.
    static func appendHeaders(_ headers: [EventStreamHeader], to out: inout [UInt8]) {
        for header in headers {
            out.append(UInt8(header.name.utf8.count))
            out.append(contentsOf: header.name.utf8)
            out.append(header.value.typeCode)
            switch header.value {
            case .bool: break
            case .byte(let v): out.append(UInt8(bitPattern: v))
            case .int16(let v): appendBigEndian(UInt16(bitPattern: v), to: &out)
            case .int32(let v): appendBigEndian(UInt32(bitPattern: v), to: &out)
            case .int64(let v), .timestamp(let v): appendBigEndian(UInt64(bitPattern: v), to: &out)
            case .byteArray(let bytes):
                appendBigEndian(UInt16(bytes.count), to: &out)
                out.append(contentsOf: bytes)
            case .string(let string):
                appendBigEndian(UInt16(string.utf8.count), to: &out)
                out.append(contentsOf: string.utf8)
            case .uuid(let uuid):
                withUnsafeBytes(of: uuid.uuid) { out.append(contentsOf: $0) }
            }
        }
    }

    static func appendUInt32(_ v: UInt32, to out: inout [UInt8]) {
        appendBigEndian(v, to: &out)
    }

    static func appendBigEndian<T: FixedWidthInteger>(_ v: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: v.bigEndian) { out.append(contentsOf: $0) }
    }
}
