import CZlib
import Foundation

/// The encodings Lex puts in headers: base64 JSON (V1), gzip+base64 (V2),
/// and compact JSON objects of string attributes.
enum HeaderCoding {
    enum Failure: Error, Equatable {
        case notBase64
        case notGzip
        case tooLarge
        case notJSON
        case notUTF8
    }

    /// Decoded header payloads larger than this are refused (a gzip bomb in
    /// a header must not cost memory).
    static let maxDecodedBytes = 1 << 20

    static func gzip(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: lc_gzip_bound(bytes.count))
        var written = 0
        let rc = bytes.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                lc_gzip(input.baseAddress, input.count, output.baseAddress, output.count, &written)
            }
        }
        // Cannot fail with an output buffer of lc_gzip_bound bytes.
        precondition(rc == 0, "gzip into a buffer of deflateBound bytes failed")
        out.removeSubrange(written...)
        return out
    }

    static func gunzip(_ bytes: [UInt8], limit: Int = maxDecodedBytes) throws(Failure) -> [UInt8] {
        var pointer: UnsafeMutablePointer<UInt8>? = nil
        var count = 0
        let rc = bytes.withUnsafeBufferPointer { lc_gunzip($0.baseAddress, $0.count, limit, &pointer, &count) }
        switch rc {
        case 0:
            defer { lc_zfree(pointer) }
            guard let pointer else { return [] }
            return Array(UnsafeBufferPointer(start: pointer, count: count))
        case -2: throw .tooLarge
        default: throw .notGzip
        }
    }

    static func base64(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
    }

    static func unbase64(_ string: String) throws(Failure) -> [UInt8] {
        guard string.utf8.count <= maxDecodedBytes * 2,
            let data = Data(base64Encoded: string.trimmingASCIIWhitespace())
        else { throw .notBase64 }
        return Array(data)
    }

    static func gzipBase64(_ text: String) -> String {
        base64(gzip(Array(text.utf8)))
    }

    static func gunzipBase64(_ value: String) throws(Failure) -> String {
        let bytes = try gunzip(try unbase64(value))
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .notUTF8 }
        return text
    }

    static func base64Text(_ value: String) throws(Failure) -> String {
        let bytes = try unbase64(value)
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .notUTF8 }
        return text
    }

    /// `{"a":"1","b":"2"}`: keys sorted by code point, no spaces, every
    /// character outside printable ASCII escaped as `\uXXXX`: byte for byte
    /// what Python's `json.dumps(d, separators=(',', ':'))` (ensure_ascii)
    /// prints for a dict built in sorted key order, which is what botocore
    /// sends for V1 attribute headers.
    static func compactJSON(_ object: [String: String]) -> String {
        var out = "{"
        for (i, key) in object.keys.sorted(by: { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }).enumerated() {
            if i > 0 { out += "," }
            appendJSONString(key, to: &out)
            out += ":"
            appendJSONString(object[key] ?? "", to: &out)
        }
        return out + "}"
    }

    static func appendJSONString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value >= 0x20 && scalar.value < 0x7f {
                    out.unicodeScalars.append(scalar)
                } else {
                    for unit in String(scalar).utf16 { out += "\\u" + hex4(unit) }
                }
            }
        }
        out += "\""
    }

    private static func hex4(_ v: UInt16) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(v >> 12)], digits[Int(v >> 8 & 0xf)], digits[Int(v >> 4 & 0xf)], digits[Int(v & 0xf)]])
    }

    static func parseJSON(_ text: String) throws(Failure) -> Any {
        guard let data = text.data(using: .utf8),
            let value = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        else { throw .notJSON }
        return value
    }

    /// A JSON object of strings; other values become strings by `JSONValueText.attribute`
    /// (booleans `true`/`false`, numbers as spelt, arrays and objects as JSON text), nulls
    /// dropped.
    static func stringMap(_ value: Any?) -> [String: String] {
        guard let dict = value as? [String: Any] else { return [:] }
        var out: [String: String] = [:]
        for (k, v) in dict {
            if let text = JSONValueText.attribute(v) { out[k] = text }
        }
        return out
    }
}
