import CDeflate
import Foundation

/// One message of an AWS event stream (`application/vnd.amazon.eventstream`,
/// the Smithy "Amazon Event Stream" encoding): typed headers and an opaque
/// payload. Lex V2 StartConversation carries one event (or exception) per
/// message in both directions.
///
/// Wire form, all integers big-endian (Smithy event stream specification;
/// aws-c-event-stream):
///
///     total length (4) | headers length (4) | CRC-32 of those 8 bytes (4)
///     headers (headers length bytes) | payload | CRC-32 of everything before (4)
///
/// so `total length = 16 + headers length + payload length`. Each header is
/// `name length (1) | name (UTF-8, 1-255 bytes) | type (1) | value`; see
/// `EventStreamHeaderValue` for the ten value types.
public struct EventStreamMessage: Sendable, Hashable {
    public var headers: [EventStreamHeader]
    public var payload: [UInt8]

    public init(headers: [EventStreamHeader] = [], payload: [UInt8] = []) {
        self.headers = headers
        self.payload = payload
    }

    /// The value of the first header named `name` (names compare exactly:
    /// event stream header names are case-sensitive).
    public func header(_ name: String) -> EventStreamHeaderValue? {
        headers.first { $0.name == name }?.value
    }

    /// The first header named `name` when it is a string (type 7).
    public func stringHeader(_ name: String) -> String? {
        if case .string(let value) = header(name) { return value }
        return nil
    }

    /// The message on the wire (see `EventStreamEncoder`).
    public func encoded() throws(EventStreamError) -> [UInt8] {
        try EventStreamEncoder.encode(self)
    }
}

/// A named header of an event stream message.
public struct EventStreamHeader: Sendable, Hashable {
    public var name: String
    public var value: EventStreamHeaderValue

    public init(_ name: String, _ value: EventStreamHeaderValue) {
        self.name = name
        self.value = value
    }
}

/// The ten header value types of the event stream encoding, with their wire
/// type byte and value layout:
///
/// | type | case | value bytes |
/// |---|---|---|
/// | 0 / 1 | `bool(true)` / `bool(false)` | none |
/// | 2 | `byte` | 1, signed |
/// | 3 | `int16` ("short") | 2, signed |
/// | 4 | `int32` ("integer") | 4, signed |
/// | 5 | `int64` ("long") | 8, signed |
/// | 6 | `byteArray` | 2-byte length, then bytes (at most 32,767) |
/// | 7 | `string` | 2-byte length, then UTF-8 (at most 32,767 bytes) |
/// | 8 | `timestamp` | 8, signed milliseconds since 1970-01-01T00:00:00Z |
/// | 9 | `uuid` | 16 |
public enum EventStreamHeaderValue: Sendable, Hashable {
    case bool(Bool)
    case byte(Int8)
    case int16(Int16)
    case int32(Int32)
    case int64(Int64)
    case byteArray([UInt8])
    case string(String)
    /// Milliseconds since the Unix epoch.
    case timestamp(Int64)
    case uuid(UUID)

    /// The wire type byte of this value.
    public var typeCode: UInt8 {
        switch self {
        case .bool(let v): return v ? 0 : 1
        case .byte: return 2
        case .int16: return 3
        case .int32: return 4
        case .int64: return 5
        case .byteArray: return 6
        case .string: return 7
        case .timestamp: return 8
        case .uuid: return 9
        }
    }
}

/// Sizes the encoding allows and the limits this codebase enforces.
public enum EventStreamLimits {
    /// Prelude (12 bytes) plus the trailing message CRC (4): the size of an
    /// empty message.
    public static let overheadBytes = 16
    public static let preludeBytes = 12
    /// Header names are 1 to 255 bytes (one length byte). A name should
    /// appear once per message; the decoder keeps repeats in order and
    /// `header(_:)` returns the first.
    public static let maxHeaderNameBytes = 255
    /// Byte array and string values: at most 2^15-1 bytes (the
    /// specification's `data<1..2^15-1>`; aws-eventstream for Ruby refuses
    /// longer ones too). Empty values are accepted both ways, as the SDKs do.
    public static let maxHeaderValueBytes = 32_767
    /// The specification's limits: encoded headers at most 131,072 bytes, a
    /// payload at most 25,165,824 bytes (Smithy, "Amazon Event Stream
    /// Specification", message format). The decoder's own limits are
    /// parameters (a client may hold less).
    public static let maxHeadersBytes = 128 * 1024
    public static let maxPayloadBytes = 24 * 1024 * 1024
    public static let maxMessageBytes = maxPayloadBytes + maxHeadersBytes + overheadBytes
}

/// Why bytes are not a valid event stream, or a message cannot be encoded.
/// A stream that failed to decode cannot be resynchronised (the framing is
/// lost): the caller ends the stream.
public enum EventStreamError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The CRC-32 in the prelude does not match its first 8 bytes: the
    /// lengths cannot be trusted.
    case preludeChecksumMismatch(expected: UInt32, received: UInt32)
    /// The CRC-32 at the end of a message does not match the message.
    case messageChecksumMismatch(expected: UInt32, received: UInt32)
    /// The prelude's lengths contradict each other: total under 16 bytes, or
    /// headers longer than the message.
    case invalidLengths(total: UInt32, headers: UInt32)
    /// A message longer than the decoder's limit (seen from the prelude,
    /// before any of it is buffered), or than the encoding allows.
    case messageTooLarge(bytes: Int, limit: Int)
    /// A headers section longer than the limit.
    case headersTooLarge(bytes: Int, limit: Int)
    /// The stream ended inside a message.
    case truncated(bufferedBytes: Int)
    /// A header's type byte is not 0-9.
    case unknownHeaderType(UInt8, header: String)
    /// A header (its name, type or value) runs past the headers section.
    case headerOverrun(offset: Int)
    /// A header name of length 0.
    case emptyHeaderName(offset: Int)
    /// A header name, or a string value, that is not UTF-8. `header` is the
    /// name when it was valid.
    case invalidUTF8(header: String?)
    /// Encoding: a header name over 255 bytes.
    case headerNameTooLong(bytes: Int)
    /// Encoding: a byte array or string value over 32,767 bytes.
    case headerValueTooLong(header: String, bytes: Int)

    public var description: String {
        switch self {
        case .preludeChecksumMismatch(let e, let r):
            return "event stream prelude CRC mismatch (computed \(hex(e)), received \(hex(r))): corrupted stream"
        case .messageChecksumMismatch(let e, let r):
            return "event stream message CRC mismatch (computed \(hex(e)), received \(hex(r))): corrupted stream"
        case .invalidLengths(let total, let headers):
            return "event stream prelude says total \(total) bytes with \(headers) bytes of headers: impossible lengths"
        case .messageTooLarge(let bytes, let limit):
            return "event stream message of \(bytes) bytes is over the limit of \(limit)"
        case .headersTooLarge(let bytes, let limit):
            return "event stream headers of \(bytes) bytes are over the limit of \(limit)"
        case .truncated(let n):
            return "event stream ended inside a message (\(n) bytes of it received)"
        case .unknownHeaderType(let type, let header):
            return "event stream header '\(header)' has unknown value type \(type) (0-9 are defined)"
        case .headerOverrun(let offset):
            return "event stream header at offset \(offset) runs past the headers section"
        case .emptyHeaderName(let offset):
            return "event stream header at offset \(offset) has an empty name"
        case .invalidUTF8(let header):
            return header.map { "event stream header '\($0)' has a string value that is not UTF-8" }
                ?? "event stream header name is not UTF-8"
        case .headerNameTooLong(let bytes):
            return "event stream header name of \(bytes) bytes is over 255"
        case .headerValueTooLong(let header, let bytes):
            return "event stream header '\(header)' value of \(bytes) bytes is over 32767"
        }
    }

    private func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }
}

/// CRC-32 (ISO-HDLC, the zlib/PNG polynomial) as the event stream uses it,
/// through libdeflate's `libdeflate_crc32` (the same function as zlib's `crc32`,
/// PCLMULQDQ-accelerated: about 40 ns for a 650-byte audio event where zlib 1.2.13
/// takes about 160).
enum EventStreamCRC {
    static func checksum(_ bytes: UnsafeBufferPointer<UInt8>, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return crc }
        return libdeflate_crc32(crc, base, bytes.count)
    }

    static func checksum(_ bytes: UnsafePointer<UInt8>, count: Int, continuing crc: UInt32 = 0) -> UInt32 {
        count == 0 ? crc : libdeflate_crc32(crc, bytes, count)
    }

    static func checksum(_ bytes: ArraySlice<UInt8>, continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBufferPointer { checksum($0, continuing: crc) }
    }

    static func checksum(_ bytes: [UInt8], continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBufferPointer { checksum($0, continuing: crc) }
    }
}
