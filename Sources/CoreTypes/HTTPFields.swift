/// One HTTP header field as sent or received: the name in its original case, the value as given.
/// HTTP/1.1 keeps the case; HTTP/2 sends names in lower case (RFC 9113 §8.2.1), which the
/// HTTP/2 client and stand-in do where they hand fields to nghttp2. `description` hides the
/// value of a sensitive field, so a field or a list of them may go to a log line.
public struct HTTPField: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }

    /// Lower-case names of the fields whose values carry a credential: never logged, and sent
    /// never-indexed on HTTP/2 so HPACK keeps them out of its dynamic table (RFC 7541 §7.1.3).
    public static let sensitiveNames: Set<String> = ["authorization", "x-amz-security-token", "cookie"]

    /// True when `name` (any case) is one of `sensitiveNames`.
    public var isSensitive: Bool {
        Self.sensitiveNames.contains { name.caseInsensitiveEquals($0) }
    }

    /// `name: value`, or `name: <redacted>` for a sensitive field.
    public var description: String { isSensitive ? "\(name): <redacted>" : "\(name): \(value)" }
}

/// Header fields in order (RFC 9110 section 5); names compare ASCII case-insensitively. The
/// one header type of the server's parser, the Lex clients' requests and responses (HTTP/1.1
/// and HTTP/2), the SigV4 signer and the stand-in. A list, not a dictionary: a field may
/// repeat, and order matters for the signature and the wire.
public struct HTTPFields: Sendable, Hashable, RandomAccessCollection, MutableCollection, RangeReplaceableCollection, ExpressibleByArrayLiteral,
                          CustomStringConvertible {
    public private(set) var fields: [HTTPField]

    /// `[name: value, ...]`, sensitive values redacted (see `HTTPField.description`).
    public var description: String { "[" + fields.map(\.description).joined(separator: ", ") + "]" }

    public init() { fields = [] }
    public init(arrayLiteral elements: HTTPField...) { fields = elements }
    public init<S: Sequence>(_ elements: S) where S.Element == HTTPField { fields = Array(elements) }
    /// Fields from `(name, value)` pairs, in order.
    public init(_ pairs: [(String, String)]) { fields = pairs.map { HTTPField($0.0, $0.1) } }

    public var startIndex: Int { fields.startIndex }
    public var endIndex: Int { fields.endIndex }
    public subscript(position: Int) -> HTTPField {
        get { fields[position] }
        set { fields[position] = newValue }
    }
    public mutating func replaceSubrange<C: Collection>(_ range: Range<Int>, with new: C) where C.Element == HTTPField {
        fields.replaceSubrange(range, with: new)
    }
    public mutating func reserveCapacity(_ n: Int) { fields.reserveCapacity(n) }

    /// Appends a field (`name` as given).
    public mutating func append(name: String, value: String) { fields.append(HTTPField(name, value)) }

    /// The first value of `name` (any case), if present.
    public subscript(name: String) -> String? {
        for f in fields where f.name.caseInsensitiveEquals(name) { return f.value }
        return nil
    }

    /// Every value of `name` (any case), in order.
    public func values(_ name: String) -> [String] {
        fields.filter { $0.name.caseInsensitiveEquals(name) }.map(\.value)
    }

    /// Replaces every `name` field by one with `value`, appended last.
    public mutating func set(_ name: String, _ value: String) {
        fields.removeAll { $0.name.caseInsensitiveEquals(name) }
        fields.append(HTTPField(name, value))
    }

    /// True when any comma-separated element of any `name` field equals `token`, case-insensitively
    /// (for `Connection: keep-alive, Upgrade` and the like).
    public func containsToken(_ token: String, in name: String) -> Bool {
        for value in values(name) {
            for element in value.split(separator: ",") where element.trimmingHTTPWhitespace().caseInsensitiveEquals(token) {
                return true
            }
        }
        return false
    }
}

extension StringProtocol {
    /// ASCII case-insensitive comparison (header names and tokens are ASCII).
    package func caseInsensitiveEquals<S: StringProtocol>(_ other: S) -> Bool {
        let a = self.utf8, b = other.utf8
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) where x != y {
            let lx = (x >= 65 && x <= 90) ? x | 0x20 : x
            let ly = (y >= 65 && y <= 90) ? y | 0x20 : y
            if lx != ly { return false }
        }
        return true
    }

    /// Without leading and trailing spaces and tabs (HTTP's OWS).
    package func trimmingHTTPWhitespace() -> Substring {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return Substring(s)
    }
}
