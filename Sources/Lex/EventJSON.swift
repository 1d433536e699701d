import Foundation

// The JSON of StartConversation events. Audio events are the hot path (one
// each way every few tens of milliseconds per call), so they are written and
// read here without Foundation's JSON coders; everything else (and any audio
// event this fast path does not recognise) goes through `JSONEncoder` /
// `JSONDecoder`.

/// Writes a flat JSON object: names are ASCII constants, string values are
/// escaped per RFC 8259 (quote, backslash, control characters).
struct JSONObjectWriter {
    private var bytes: [UInt8] = [UInt8(ascii: "{")]

    mutating func field(_ name: StaticString, string value: String) {
        key(name)
        Self.appendQuoted(value, to: &bytes)
    }

    /// A blob, base64 (whose alphabet needs no escaping).
    mutating func field(_ name: StaticString, base64 value: [UInt8]) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: Data(value).base64EncodedData())
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func field(_ name: StaticString, raw value: String) {
        key(name)
        bytes.append(contentsOf: value.utf8)
    }

    mutating func common(_ eventId: String?, _ clientTimestampMillis: Int64?) {
        if let eventId { field("eventId", string: eventId) }
        if let clientTimestampMillis { field("clientTimestampMillis", raw: String(clientTimestampMillis)) }
    }

    mutating func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    private mutating func key(_ name: StaticString) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: "\":".utf8)
    }

    static func needsEscape(_ c: UInt8) -> Bool {
        c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\")
    }

    static func appendQuoted(_ string: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var string = string
        let plain = string.withUTF8 { buffer in
            guard !buffer.contains(where: needsEscape) else { return false }
            out.append(contentsOf: buffer)
            return true
        }
        if !plain {
            let hex = Array("0123456789abcdef".utf8)
            for c in string.utf8 {
                switch c {
                case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
                case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
                case 0x0A: out.append(contentsOf: "\\n".utf8)
                case 0x0D: out.append(contentsOf: "\\r".utf8)
                case 0x09: out.append(contentsOf: "\\t".utf8)
                case 0..<0x20: out.append(contentsOf: "\\u00".utf8 + [hex[Int(c >> 4)], hex[Int(c & 15)]])
                default: out.append(c)
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// Reads a flat JSON object whose values are all strings without escapes
/// (`{"audioChunk":"...","contentType":"audio/pcm","eventId":"RESPONSE-5"}`):
/// the members as (name, value byte range). Nil for anything else (other
/// value types, escapes, nesting, trailing bytes), which the caller then
/// hands to `JSONDecoder`.
enum FlatJSONObject {
    static func parse(_ b: [UInt8]) -> [(name: String, value: Range<Int>)]? {
        var i = 0
        func skipSpace() {
            while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 }
        }
        /// A string without escapes or control characters: its content range.
        func string() -> Range<Int>? {
            guard i < b.count, b[i] == UInt8(ascii: "\"") else { return nil }
            let start = i + 1
            var j = start
            while j < b.count, b[j] != UInt8(ascii: "\"") {
                if JSONObjectWriter.needsEscape(b[j]) { return nil }
                j += 1
            }
            guard j < b.count else { return nil }
            i = j + 1
            return start..<j
        }
        var members: [(name: String, value: Range<Int>)] = []
        skipSpace()
        guard i < b.count, b[i] == UInt8(ascii: "{") else { return nil }
        i += 1
        skipSpace()
        if i < b.count, b[i] == UInt8(ascii: "}") {
            i += 1
        } else {
            while true {
                skipSpace()
                guard let nameRange = string(), let name = String(validating: b[nameRange], as: UTF8.self) else {
                    return nil
                }
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { return nil }
                i += 1
                skipSpace()
                guard let value = string(), String(validating: b[value], as: UTF8.self) != nil else { return nil }
                members.append((name, value))
                skipSpace()
                guard i < b.count else { return nil }
                if b[i] == UInt8(ascii: "}") {
                    i += 1
                    break
                }
                guard b[i] == UInt8(ascii: ",") else { return nil }
                i += 1
            }
        }
        skipSpace()
        return i == b.count ? members : nil
    }
}

extension FlatJSONObject {
    /// The members of an audio event (`audioChunk` base64-decoded, `contentType`, `eventId`),
    /// read from a flat object of plain strings; nil when the payload is not one, a member
    /// repeats or the chunk is not base64, or (`otherMembers` false) any other member is there.
    static func audioMembers(_ payload: [UInt8], otherMembers: Bool)
        -> (chunk: [UInt8]?, contentType: String?, eventId: String?)? {
        guard let members = parse(payload) else { return nil }
        var chunk: [UInt8]?, contentType: String?, eventId: String?
        for (name, range) in members {
            switch name {
            case "audioChunk":
                guard chunk == nil, let data = Data(base64Encoded: Data(payload[range])) else { return nil }
                chunk = [UInt8](data)
            case "contentType":
                guard contentType == nil else { return nil }
                contentType = String(decoding: payload[range], as: UTF8.self)
            case "eventId":
                guard eventId == nil else { return nil }
                eventId = String(decoding: payload[range], as: UTF8.self)
            default:
                guard otherMembers else { return nil }
            }
        }
        return (chunk, contentType, eventId)
    }
}

extension StartConversation.AudioResponseEvent {
    /// The fast path for Lex's most frequent event; nil when the payload is
    /// not a flat object of plain strings or a member repeats (then
    /// `JSONDecoder` decides, and reports errors). Other members are skipped.
    init?(flatJSON payload: [UInt8]) {
        guard let m = FlatJSONObject.audioMembers(payload, otherMembers: true) else { return nil }
        self.init(audioChunk: m.chunk ?? [], contentType: m.contentType, eventId: m.eventId)
    }
}

extension StartConversation.AudioInputEvent {
    /// The fast path for the most frequent input event (the stand-in reads 50 a second per
    /// call); nil when the payload is not a flat object of plain strings, a member repeats,
    /// `audioChunk` or `contentType` is missing, or another member is there
    /// (`clientTimestampMillis` is a number) (then `JSONDecoder` decides, and reports errors).
    init?(flatJSON payload: [UInt8]) {
        guard let m = FlatJSONObject.audioMembers(payload, otherMembers: false),
              let chunk = m.chunk, let contentType = m.contentType else { return nil }
        self.init(audioChunk: chunk, contentType: contentType, eventId: m.eventId)
    }
}

func decodeBase64<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K) throws -> [UInt8]? {
    guard let text = try c.decodeIfPresent(String.self, forKey: key) else { return nil }
    guard let data = Data(base64Encoded: text) else {
        throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "not base64")
    }
    return [UInt8](data)
}

func encodeJSON<T: Encodable>(_ value: T) -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    do {
        return [UInt8](try encoder.encode(value))
    } catch {
        // Only non-finite doubles fail, and no event carries one from us.
        preconditionFailure("JSON encoding of \(T.self) failed: \(error)")
    }
}

func decodeJSON<T: Decodable>(_ payload: [UInt8], event: String) throws(StartConversation.DecodingError) -> T {
    do {
        return try JSONDecoder().decode(T.self, from: Data(payload))
    } catch {
        throw .invalidPayload(eventType: event, reason: StartConversation.DecodingError.summary(error))
    }
}
