/// A `ws://host[:port]/path` URL (lexcall speaks plain WebSocket: put TLS in front of the
/// connector, not between it and lexcall).
public struct WebSocketURL: Equatable, Sendable {
    public var host: String
    public var port: Int
    /// Path and query, starting with `/`.
    public var path: String

    public init(host: String, port: Int, path: String) {
        self.host = host
        self.port = port
        self.path = path
    }

    public static func parse(_ text: String) -> Result<WebSocketURL, ParseFailure> {
        guard text.hasPrefix("ws://") else {
            return .failure(.init(text.hasPrefix("wss://") ? "wss:// is not supported: connect to the connector directly with ws://" : "expected ws://HOST:PORT/PATH"))
        }
        let rest = text.dropFirst(5)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        var host = String(authority)
        var port = 80
        if let colon = authority.lastIndex(of: ":") {
            guard let p = Int(authority[authority.index(after: colon)...]), (1...65535).contains(p) else {
                return .failure(.init("bad port in \(authority)"))
            }
            port = p
            host = String(authority[..<colon])
        }
        guard !host.isEmpty else { return .failure(.init("no host")) }
        return .success(WebSocketURL(host: host, port: port, path: path))
    }

    /// The path with `{call}` replaced by the call's number.
    public func path(forCall n: Int) -> String {
        path.replacingAll("{call}", with: String(n))
    }

    public struct ParseFailure: Error, Equatable, CustomStringConvertible {
        public var description: String
        init(_ d: String) { description = d }
    }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        while let r = rest.firstRange(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}

/// The client half of the RFC 6455 opening handshake, pure.
public enum ClientHandshake {
    public static func request(host: String, port: Int, path: String, key: String) -> [UInt8] {
        Array(("GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\nUser-Agent: lexcall\r\n\r\n").utf8)
    }

    public enum Outcome: Equatable, Sendable {
        /// More bytes are needed.
        case incomplete
        /// 101 with the right accept value; `headLength` bytes were the response head.
        case upgraded(headLength: Int)
        /// Anything else: the status line (or reason) to report.
        case refused(String)
    }

    /// Looks at the bytes received so far.
    public static func check(_ bytes: [UInt8], expectedAccept: String) -> Outcome {
        guard let end = headEnd(bytes) else {
            return bytes.count > 16384 ? .refused("response head longer than 16 KiB") : .incomplete
        }
        let head = String(decoding: bytes[..<end], as: UTF8.self)
        let lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        let status = lines.first.map(String.init) ?? ""
        guard status.hasPrefix("HTTP/1.1 101") else {
            // Include a short body if it came with the head (the server's reason).
            let body = String(decoding: bytes[(end + 4)...].prefix(200), as: UTF8.self).trimmingWhitespace()
            return .refused(body.isEmpty ? status : "\(status): \(body)")
        }
        let accept = lines.dropFirst().first { $0.lowercased().hasPrefix("sec-websocket-accept:") }
            .map { String($0.dropFirst("sec-websocket-accept:".count)).trimmingWhitespace() }
        guard accept == expectedAccept else { return .refused("101 with a wrong Sec-WebSocket-Accept") }
        return .upgraded(headLength: end + 4)
    }

    static func headEnd(_ b: [UInt8]) -> Int? {
        guard b.count >= 4 else { return nil }
        for i in 0...(b.count - 4) where b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { return i }
        return nil
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
