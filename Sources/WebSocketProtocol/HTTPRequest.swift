/// An HTTP/1.x request head, as the parser produced it.
public struct HTTPRequest: Sendable, Equatable {
    public var method: String
    /// The request target as sent: path plus optional `?query`.
    public var target: String
    public var versionMajor: Int
    public var versionMinor: Int
    public var headers: HTTPFields

    public init(method: String, target: String, versionMajor: Int = 1, versionMinor: Int = 1, headers: HTTPFields = []) {
        self.method = method
        self.target = target
        self.versionMajor = versionMajor
        self.versionMinor = versionMinor
        self.headers = headers
    }

    /// The path without the query string.
    public var path: Substring {
        if let q = target.firstIndex(of: "?") { return target[..<q] }
        return target[...]
    }

    /// The query string without its `?`, if any.
    public var query: Substring? {
        guard let q = target.firstIndex(of: "?") else { return nil }
        return target[target.index(after: q)...]
    }

    public var isHTTP11OrLater: Bool { versionMajor > 1 || (versionMajor == 1 && versionMinor >= 1) }
}
