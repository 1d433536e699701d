import Foundation

/// The string a person expects for a JSON value, where a JSON value must become a string:
/// Lex session and request attributes are a map of strings (V1 headers, V2 session state),
/// and callers put any JSON value into them. One conversion for every such place.
///
/// | JSON value | string |
/// |---|---|
/// | `"Bob"` | `Bob` (as it is) |
/// | `true`, `false` | `true`, `false` (not the `1`/`0` of `NSNumber.stringValue`) |
/// | `42`, `-7`, `0.5` | `42`, `-7`, `0.5` |
/// | `12345678901234567890`, `123456789012345678901234567890` | the same digits, no exponent |
/// | `[1, true, "x"]`, `{"b": 1, "a": null}` | compact JSON text, object keys sorted by code point: `[1,true,"x"]`, `{"a":null,"b":1}` |
/// | `null` | nil: the attribute is left out (Lex has no null attribute; a bot reads a missing one as unset) |
///
/// Input is what `JSONSerialization` produces (`String`, `NSNumber` with booleans as its
/// boolean kind, `NSDecimalNumber` for integers beyond 64 bits, `[Any]`, `[String: Any]`,
/// `NSNull`) or the Swift values that bridge to them. Pure.
public enum JSONValueText {
    /// The attribute string for `value`, nil for JSON null (and for a value that is not
    /// JSON, such as a `Date`).
    public static func attribute(_ value: Any) -> String? {
        if let s = value as? String { return s }
        if value is NSNull { return nil }
        var out = ""
        return append(value, to: &out) ? out : nil
    }

    /// `value` as compact JSON text (keys sorted), nil when it is not a JSON value.
    public static func json(_ value: Any) -> String? {
        var out = ""
        return append(value, to: &out) ? out : nil
    }

    /// A number's JSON spelling; booleans as `true`/`false`.
    static func number(_ n: NSNumber, isSwiftBool: Bool) -> String {
        let kind = String(cString: n.objCType)
        if isSwiftBool || kind == "c" || kind == "B" { return n.boolValue ? "true" : "false" }
        if n is NSDecimalNumber { return n.description }
        if kind == "d" || kind == "f" {
            let d = n.doubleValue
            // JSON has no NaN or infinity; JSONSerialization never produces them.
            return d.isFinite ? "\(d)" : "null"
        }
        return n.stringValue
    }

    private static func append(_ value: Any, to out: inout String) -> Bool {
        switch value {
        case let s as String:
            HeaderCoding.appendJSONString(s, to: &out)
        case is NSNull:
            out += "null"
        case let n as NSNumber:
            out += number(n, isSwiftBool: type(of: value) == Bool.self)
        case let array as [Any]:
            out += "["
            for (i, element) in array.enumerated() {
                if i > 0 { out += "," }
                guard append(element, to: &out) else { return false }
            }
            out += "]"
        case let object as [String: Any]:
            out += "{"
            for (i, key) in object.keys.sorted(by: { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }).enumerated() {
                if i > 0 { out += "," }
                HeaderCoding.appendJSONString(key, to: &out)
                out += ":"
                guard let element = object[key], append(element, to: &out) else { return false }
            }
            out += "}"
        default:
            return false
        }
        return true
    }
}
