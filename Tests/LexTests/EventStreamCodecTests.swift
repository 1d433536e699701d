import Foundation
import Testing

@testable import Lex

/// One vector of `Vectors/eventstream.json` (see its README for the sources).
struct EventStreamVector: Decodable, CustomStringConvertible {
    struct Header: Decodable {
        var name: String
        var type: UInt8
        var value: JSONValue
    }
    var name: String
    var source: String
    var hex: String
    var headers: [Header]?
    var payload: String?
    var error: String?
    var headersError: String?

    var description: String { name }
    var bytes: [UInt8] { unhex(hex) }

    static let all: [EventStreamVector] = {
        guard let url = Bundle.module.url(forResource: "eventstream", withExtension: "json", subdirectory: "Vectors"),
            let data = try? Data(contentsOf: url),
            let file = try? JSONDecoder().decode([String: [EventStreamVector]].self, from: data)
        else { return [] }
        return file["vectors"] ?? []
    }()

    /// The expected headers as typed values.
    var expectedHeaders: [EventStreamHeader] {
        (headers ?? []).map { h in
            let value: EventStreamHeaderValue
            switch (h.type, h.value) {
            case (0, _): value = .bool(true)
            case (1, _): value = .bool(false)
            case (2, .number(let n)): value = .byte(Int8(n))
            case (3, .number(let n)): value = .int16(Int16(n))
            case (4, .number(let n)): value = .int32(Int32(n))
            case (5, .number(let n)): value = .int64(n)
            case (6, .string(let s)): value = .byteArray(unhex(s))
            case (7, .string(let s)): value = .string(s)
            case (8, .number(let n)): value = .timestamp(n)
            case (9, .string(let s)):
                let b = unhex(s)
                value = .uuid(UUID(uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
                                          b[12], b[13], b[14], b[15])))
            default: fatalError("vector \(name): header \(h.name) of type \(h.type) has an unexpected value")
            }
            return EventStreamHeader(h.name, value)
        }
    }
}

enum JSONValue: Decodable {
    case bool(Bool), number(Int64), string(String)
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Int64.self) { self = .number(n) }
        else { self = .string(try c.decode(String.self)) }
    }
}

func unhex(_ s: String) -> [UInt8] {
    Digest.unhex(s) ?? []
}

/// The case name of an error, to compare with a vector's expectation.
func kind(_ error: EventStreamError) -> String {
    String(String(describing: Mirror(reflecting: error).children.first?.label ?? "\(error)").prefix { $0 != "(" })
}

/// A message with `rawHeaders` as its headers section, both CRCs right.
func frame(rawHeaders: [UInt8], payload: [UInt8] = [], total: UInt32? = nil, headersLength: UInt32? = nil) -> [UInt8] {
    var out = [UInt8]()
    let t = total ?? UInt32(16 + rawHeaders.count + payload.count)
    EventStreamEncoder.appendUInt32(t, to: &out)
    EventStreamEncoder.appendUInt32(headersLength ?? UInt32(rawHeaders.count), to: &out)
    EventStreamEncoder.appendUInt32(EventStreamCRC.checksum(out), to: &out)
    out += rawHeaders + payload
    EventStreamEncoder.appendUInt32(EventStreamCRC.checksum(out), to: &out)
    return out
}

/// Decodes `bytes` fed in slices of `chunk` bytes; returns messages or the error.
func decodeChunked(_ bytes: [UInt8], chunk: Int, maxMessageBytes: Int = EventStreamLimits.maxMessageBytes)
    -> Result<[EventStreamMessage], EventStreamError>
{
    var decoder = EventStreamDecoder(maxMessageBytes: maxMessageBytes)
    var out: [EventStreamMessage] = []
    do throws(EventStreamError) {
        var i = 0
        while i < bytes.count {
            out += try decoder.feed(bytes[i..<min(bytes.count, i + chunk)])
            i += chunk
        }
        try decoder.finish()
        return .success(out)
    } catch {
        return .failure(error)
    }
}

@Suite("Event stream codec")
struct EventStreamCodecTests {
    @Test("the vector file loads")
    func vectorsLoad() {
        #expect(EventStreamVector.all.count == 20)
    }

    @Test("AWS vectors decode to their headers and payload, whole and in slices, and re-encode to the same bytes",
          arguments: EventStreamVector.all.filter { $0.error == nil })
    func positive(_ vector: EventStreamVector) throws {
        for chunk in [vector.bytes.count, 1, 3, 7] {
            let messages = try decodeChunked(vector.bytes, chunk: chunk).get()
            #expect(messages.count == 1)
            #expect(messages.first?.headers == vector.expectedHeaders)
            #expect(messages.first?.payload == unhex(vector.payload ?? ""))
        }
        let message = EventStreamMessage(headers: vector.expectedHeaders, payload: unhex(vector.payload ?? ""))
        #expect(try message.encoded() == vector.bytes)
    }

    @Test("AWS negative vectors raise the expected typed error, whole and byte by byte",
          arguments: EventStreamVector.all.filter { $0.error != nil })
    func negative(_ vector: EventStreamVector) {
        for chunk in [vector.bytes.count, 1] {
            guard case .failure(let error) = decodeChunked(vector.bytes, chunk: chunk) else {
                Issue.record("\(vector.name) decoded")
                return
            }
            #expect(kind(error) == vector.error, "\(vector.name): \(error)")
        }
        if let expected = vector.headersError {
            let b = vector.bytes
            let length = Int(EventStreamDecoder.readUInt32(b, 4))
            #expect(throws: EventStreamError.self) {
                _ = try EventStreamDecoder.parseHeaders(b, 12, 12 + length)
            }
            do {
                _ = try EventStreamDecoder.parseHeaders(b, 12, 12 + length)
            } catch {
                #expect(kind(error) == expected, "\(vector.name): \(error)")
            }
        }
    }

    static let everyType: [EventStreamHeader] = [
        EventStreamHeader("t", .bool(true)), EventStreamHeader("f", .bool(false)),
        EventStreamHeader("byte-min", .byte(.min)), EventStreamHeader("byte-max", .byte(.max)),
        EventStreamHeader("short", .int16(-12345)), EventStreamHeader("int", .int32(.min)),
        EventStreamHeader("long", .int64(.max)), EventStreamHeader("bytes", .byteArray([0, 255, 1])),
        EventStreamHeader("empty-bytes", .byteArray([])), EventStreamHeader("empty-string", .string("")),
        EventStreamHeader(":event-type", .string("AudioResponseEvent")), EventStreamHeader("é名", .string("ünïcødé ✓")),
        EventStreamHeader(":date", .timestamp(1_700_000_000_123)), EventStreamHeader("before-1970", .timestamp(-1)),
        EventStreamHeader("uuid", .uuid(UUID(uuidString: "B79BC914-DE21-4E13-B8B2-BC47E85B7F0B")!)),
        EventStreamHeader(String(repeating: "n", count: 255), .byteArray([UInt8](repeating: 7, count: 32_767))),
        EventStreamHeader("long-string", .string(String(repeating: "s", count: 32_767))),
    ]

    @Test("every header type round-trips, at its limits too")
    func roundTrip() throws {
        for header in Self.everyType {
            let message = EventStreamMessage(headers: [header], payload: Array("p".utf8))
            let decoded = try EventStreamDecoder.decodeAll(try message.encoded())
            #expect(decoded == [message], "\(header.name)")
        }
        let all = EventStreamMessage(headers: Self.everyType, payload: [UInt8](repeating: 0xAB, count: 70_000))
        let bytes = try all.encoded()
        #expect(try EventStreamDecoder.decodeAll(bytes) == [all])
        #expect(try decodeChunked(bytes, chunk: 4093).get() == [all])
    }

    @Test("several messages in one slice come out in order; a message split anywhere waits for its end")
    func streaming() throws {
        let a = EventStreamMessage(headers: [EventStreamHeader(":message-type", .string("event"))], payload: [1, 2])
        let b = EventStreamMessage()
        let c = EventStreamMessage(headers: [EventStreamHeader("n", .int32(3))], payload: Array("three".utf8))
        let stream = try a.encoded() + b.encoded() + c.encoded()
        var decoder = EventStreamDecoder()
        #expect(try decoder.feed(stream) == [a, b, c])
        #expect(decoder.bufferedByteCount == 0)
        for cut in 0...stream.count {
            var d = EventStreamDecoder()
            let first = try d.feed(stream[..<cut])
            let rest = try d.feed(stream[cut...])
            #expect(first + rest == [a, b, c])
            try d.finish()
        }
    }

    @Test("a stream that ends inside a message is truncated, with the count of bytes held")
    func truncated() throws {
        let bytes = try EventStreamMessage(payload: [1, 2, 3]).encoded()
        for cut in 1..<bytes.count {
            var decoder = EventStreamDecoder()
            #expect(try decoder.feed(bytes[..<cut]).isEmpty)
            #expect(throws: EventStreamError.truncated(bufferedBytes: cut)) { try decoder.finish() }
        }
    }

    @Test("an oversized message is refused from its prelude alone, before its body is buffered")
    func oversized() throws {
        let big = try EventStreamMessage(payload: [UInt8](repeating: 0, count: 1000)).encoded()
        var decoder = EventStreamDecoder(maxMessageBytes: 999)
        #expect(throws: EventStreamError.messageTooLarge(bytes: 1016, limit: 999)) {
            _ = try decoder.feed(big.prefix(12))
        }
        #expect(decoder.bufferedByteCount == 0)
        // A prelude that announces 4 GiB: refused at once with the default limits.
        let huge = frame(rawHeaders: [], total: .max).prefix(12)
        var d2 = EventStreamDecoder()
        #expect(throws: EventStreamError.messageTooLarge(bytes: Int(UInt32.max), limit: EventStreamLimits.maxMessageBytes)) {
            _ = try d2.feed(huge)
        }
        // Headers over 128 KiB, announced in a message within the size limit.
        let many = frame(rawHeaders: [], total: 200_000, headersLength: 131_073).prefix(12)
        var d3 = EventStreamDecoder()
        #expect(throws: EventStreamError.headersTooLarge(bytes: 131_073, limit: 131_072)) { _ = try d3.feed(many) }
    }

    @Test("impossible lengths with a valid prelude CRC are refused", arguments: [
        (UInt32(0), UInt32(0)), (UInt32(15), UInt32(0)), (UInt32(16), UInt32(1)), (UInt32(20), UInt32(5)),
    ])
    func impossibleLengths(_ total: UInt32, _ headers: UInt32) {
        var decoder = EventStreamDecoder()
        #expect(throws: EventStreamError.invalidLengths(total: total, headers: headers)) {
            _ = try decoder.feed(frame(rawHeaders: [], total: total, headersLength: headers).prefix(12))
        }
    }

    @Test("corrupted CRCs are typed errors, and a failed decoder stays failed")
    func checksums() throws {
        var bytes = try EventStreamMessage(headers: [EventStreamHeader("a", .bool(true))], payload: [9]).encoded()
        var corrupt = bytes
        corrupt[9] ^= 1
        #expect(throws: EventStreamError.self) { _ = try EventStreamDecoder.decodeAll(corrupt) }
        bytes[bytes.count - 5] ^= 0x80  // the payload byte
        var decoder = EventStreamDecoder()
        #expect(throws: EventStreamError.self) { _ = try decoder.feed(bytes) }
        let stored = decoder.error
        #expect(stored.map(kind) == "messageChecksumMismatch")
        // More (valid) bytes do not revive it.
        #expect(throws: stored!) { _ = try decoder.feed(try EventStreamMessage().encoded()) }
        #expect(throws: stored!) { try decoder.finish() }
    }

    @Test("malformed headers inside a message with good CRCs are typed errors", arguments: [
        ([UInt8(1), 0x61, 10], "unknownHeaderType"),                 // type 10
        ([UInt8(1), 0x61, 0xFF], "unknownHeaderType"),
        ([UInt8(0), 0], "emptyHeaderName"),
        ([UInt8(5), 0x61, 0x62], "headerOverrun"),                   // name past the end
        ([UInt8(1), 0x61], "headerOverrun"),                         // no type byte
        ([UInt8(1), 0x61, 4, 0, 0, 0], "headerOverrun"),             // int32 cut short
        ([UInt8(1), 0x61, 9] + [UInt8](repeating: 0, count: 15), "headerOverrun"),
        ([UInt8(1), 0x61, 7, 0, 5, 0x62], "headerOverrun"),          // string longer than the section
        ([UInt8(1), 0x61, 6, 0], "headerOverrun"),                   // length cut short
        ([UInt8(2), 0xC3, 0x28, 0], "invalidUTF8"),                  // name not UTF-8
        ([UInt8(1), 0x61, 7, 0, 2, 0xED, 0xA0], "invalidUTF8"),      // value not UTF-8 (a surrogate)
    ])
    func malformedHeaders(_ raw: [UInt8], _ expected: String) {
        guard case .failure(let error) = decodeChunked(frame(rawHeaders: raw, payload: [1]), chunk: 5) else {
            Issue.record("decoded \(raw)")
            return
        }
        #expect(kind(error) == expected, "\(error)")
        #expect(!error.description.isEmpty)
    }

    @Test("the encoder refuses what a peer would refuse")
    func encoderLimits() {
        #expect(throws: EventStreamError.headerNameTooLong(bytes: 256)) {
            _ = try EventStreamMessage(headers: [EventStreamHeader(String(repeating: "x", count: 256), .bool(true))]).encoded()
        }
        #expect(throws: EventStreamError.emptyHeaderName(offset: 0)) {
            _ = try EventStreamMessage(headers: [EventStreamHeader("", .bool(true))]).encoded()
        }
        #expect(throws: EventStreamError.headerValueTooLong(header: "v", bytes: 32_768)) {
            _ = try EventStreamMessage(headers: [EventStreamHeader("v", .string(String(repeating: "s", count: 32_768)))]).encoded()
        }
        let wide = (0..<5).map { EventStreamHeader("h\($0)", .byteArray([UInt8](repeating: 0, count: 30_000))) }
        #expect(throws: EventStreamError.headersTooLarge(bytes: 150_030, limit: 131_072)) {
            _ = try EventStreamMessage(headers: wide).encoded()
        }
        #expect(throws: EventStreamError.messageTooLarge(bytes: 25_165_825, limit: 25_165_824)) {
            _ = try EventStreamMessage(payload: [UInt8](repeating: 0, count: 25_165_825)).encoded()
        }
    }

    @Test("a large message's buffer is released once it is decoded")
    func memoryReleased() throws {
        let big = try EventStreamMessage(payload: [UInt8](repeating: 1, count: 200_000)).encoded()
        var decoder = EventStreamDecoder()
        _ = try decoder.feed(big.prefix(100_000))
        #expect(decoder.bufferedByteCount == 100_000)
        #expect(try decoder.feed(big.dropFirst(100_000)).count == 1)
        #expect(decoder.bufferedByteCount == 0)
    }
}

@Suite("Event stream decoder slicing")
struct EventStreamSlicingTests {
    @Test("good messages before a bad one come out whatever the slicing; the error follows on the next call")
    func goodThenBad() throws {
        let good = try EventStreamMessage(payload: [1]).encoded()
        var bad = try EventStreamMessage(payload: [2]).encoded()
        bad[bad.count - 1] ^= 1
        var decoder = EventStreamDecoder()
        #expect(try decoder.feed(good + good + bad).count == 2)
        #expect(decoder.error.map(kind) == "messageChecksumMismatch")
        #expect(throws: decoder.error!) { try decoder.finish() }
        for chunk in [1, 5, 17] {
            guard case .failure(let error) = decodeChunked(good + good + bad, chunk: chunk) else {
                Issue.record("decoded")
                continue
            }
            #expect(kind(error) == "messageChecksumMismatch")
        }
    }
}
