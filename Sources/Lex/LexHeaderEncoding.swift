/// The header encodings of the Lex APIs, for code that speaks Lex's side of
/// the protocol (the test stand-in) or inspects headers.
public enum LexHeaderEncoding {
    /// gzip (level 9, mtime 0) then base64: V2 session state, request
    /// attributes and the V2 response metadata headers.
    public static func gzipBase64(_ text: String) -> String {
        HeaderCoding.gzipBase64(text)
    }

    /// Inverse of `gzipBase64`; nil when the value is not base64 gzip of UTF-8.
    public static func gunzipBase64(_ value: String) -> String? {
        try? HeaderCoding.gunzipBase64(value)
    }

    /// base64 of UTF-8: V1 attribute and `x-amz-lex-encoded-*` headers.
    public static func base64(_ text: String) -> String {
        HeaderCoding.base64(Array(text.utf8))
    }

    public static func unbase64(_ value: String) -> String? {
        try? HeaderCoding.base64Text(value)
    }

    /// `{"a":"1"}` with sorted keys, no spaces, non-ASCII escaped.
    public static func compactJSON(_ object: [String: String]) -> String {
        HeaderCoding.compactJSON(object)
    }

    /// A JSON string literal (quotes included), escaped like `compactJSON`.
    public static func jsonString(_ text: String) -> String {
        var out = ""
        HeaderCoding.appendJSONString(text, to: &out)
        return out
    }

    /// The string values of a JSON object (nil when `json` is not one).
    public static func stringMap(fromJSON json: String) -> [String: String]? {
        guard let object = try? HeaderCoding.parseJSON(json), object is [String: Any] else { return nil }
        return HeaderCoding.stringMap(object)
    }

    /// The string values of the object under `key` in a JSON object.
    public static func stringMap(fromJSON json: String, key: String) -> [String: String]? {
        guard let object = try? HeaderCoding.parseJSON(json) as? [String: Any] else { return nil }
        return HeaderCoding.stringMap(object[key])
    }
}
