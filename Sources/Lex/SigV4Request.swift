import Foundation

/// The parts of an HTTP request that SigV4 covers.
public struct SigV4Request: Sendable, Hashable {
    public var method: String
    /// The path exactly as it goes on the wire (already percent-encoded for
    /// Lex; raw for the AWS test suite). The signer encodes it once more.
    public var path: String
    /// The raw query string, without `?`.
    public var query: String
    /// Must include `Host`.
    public var headers: HTTPFields

    public init(method: String, path: String, query: String = "", headers: HTTPFields) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
    }

    public func header(_ name: String) -> String? { headers[name] }

    mutating func setHeader(_ name: String, _ value: String) { headers.set(name, value) }
}

extension String {
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
