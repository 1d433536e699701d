import Foundation

/// One HTTP header as sent: name in its original case, value as given.
public struct HTTPHeader: Sendable, Hashable {
    public var name: String
    public var value: String
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// The parts of an HTTP request that SigV4 covers.
public struct SigV4Request: Sendable, Hashable {
    public var method: String
    /// The path exactly as it goes on the wire (already percent-encoded for
    /// Lex; raw for the AWS test suite). The signer encodes it once more.
    public var path: String
    /// The raw query string, without `?`.
    public var query: String
    /// Must include `Host`.
    public var headers: [HTTPHeader]

    public init(method: String, path: String, query: String = "", headers: [HTTPHeader]) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveEquals(name) }?.value
    }

    mutating func setHeader(_ name: String, _ value: String) {
        headers.removeAll { $0.name.caseInsensitiveEquals(name) }
        headers.append(HTTPHeader(name, value))
    }
}

extension String {
    func caseInsensitiveEquals(_ other: String) -> Bool {
        let a = utf8, b = other.utf8
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) where x != y {
            let lx = (x >= 65 && x <= 90) ? x + 32 : x
            let ly = (y >= 65 && y <= 90) ? y + 32 : y
            if lx != ly { return false }
        }
        return true
    }

    func trimmingASCIIWhitespace() -> String {
        func ws(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d }
        guard let first = utf8.first, let last = utf8.last, ws(first) || ws(last) else { return self }
        let bytes = Array(utf8)
        var start = 0, end = bytes.count
        while start < end, ws(bytes[start]) { start += 1 }
        while end > start, ws(bytes[end - 1]) { end -= 1 }
        if start == 0 && end == bytes.count { return self }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
