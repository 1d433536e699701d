/// Size limits for a request head. A slow sender is cut off by the connection's
/// handshake timeout, not here: the parser reads no clock.
public struct HTTPLimits: Sendable, Equatable {
    /// Longest request line, in bytes, without its line ending.
    public var requestLineBytes: Int
    /// Largest header section (every field line and line ending), in bytes.
    public var headerBytes: Int
    /// Most header fields.
    public var headerCount: Int

    public init(requestLineBytes: Int = 8 * 1024, headerBytes: Int = 16 * 1024, headerCount: Int = 100) {
        self.requestLineBytes = requestLineBytes
        self.headerBytes = headerBytes
        self.headerCount = headerCount
    }

    public static let `default` = HTTPLimits()
}

/// Why a request head was refused, with the status it earns.
public enum HTTPParseError: Error, Equatable, Sendable {
    case requestLineTooLong(limit: Int)
    case headerSectionTooLarge(limit: Int)
    case tooManyHeaderFields(limit: Int)
    case malformedRequestLine(String)
    case malformedHeaderField(String)
    case unsupportedVersion(String)

    public var status: HTTPStatus {
        switch self {
        case .requestLineTooLong: return .uriTooLong
        case .headerSectionTooLarge, .tooManyHeaderFields: return .requestHeaderFieldsTooLarge
        case .malformedRequestLine, .malformedHeaderField: return .badRequest
        case .unsupportedVersion: return .httpVersionNotSupported
        }
    }

    /// A short, safe explanation for the response body and the log.
    public var reason: String {
        switch self {
        case .requestLineTooLong(let l): return "request line longer than \(l) bytes"
        case .headerSectionTooLarge(let l): return "header section larger than \(l) bytes"
        case .tooManyHeaderFields(let l): return "more than \(l) header fields"
        case .malformedRequestLine(let why): return "malformed request line: \(why)"
        case .malformedHeaderField(let why): return "malformed header field: \(why)"
        case .unsupportedVersion(let v): return "unsupported HTTP version \(v)"
        }
    }
}

/// An incremental HTTP/1.x request-head parser: bytes in, a request or an error out.
/// Pure: it does no I/O and reads no clock, so tests and fuzzers feed it exact input.
public struct HTTPRequestParser: Sendable {
    public let limits: HTTPLimits
    private var buffer: [UInt8] = []
    private var lineStart = 0
    private var scanFrom = 0
    private var headerSectionStart = -1
    private var method = ""
    private var target = ""
    private var version = (1, 1)
    private var headers = HTTPFields()
    private var done = false

    public init(limits: HTTPLimits = .default) { self.limits = limits }

    /// Feeds bytes. Returns the request once its head is complete, `nil` while more is needed.
    /// After a request is returned, `remainder` holds the bytes that followed the head.
    public mutating func append<C: Collection>(_ bytes: C) throws(HTTPParseError) -> HTTPRequest? where C.Element == UInt8 {
        precondition(!done, "HTTPRequestParser used after it returned a request")
        buffer.append(contentsOf: bytes)
        while let lf = nextLineFeed() {
            var end = lf
            if end > lineStart && buffer[end - 1] == 13 { end -= 1 }
            let line = lineStart..<end
            lineStart = lf + 1
            scanFrom = lineStart
            if headerSectionStart < 0 {
                if line.isEmpty && method.isEmpty && lineStart <= 4 { continue }  // tolerate a leading blank line
                try parseRequestLine(line)
                headerSectionStart = lineStart
            } else {
                if lineStart - headerSectionStart > limits.headerBytes {
                    throw .headerSectionTooLarge(limit: limits.headerBytes)
                }
                if line.isEmpty {
                    done = true
                    return HTTPRequest(method: method, target: target, versionMajor: version.0,
                                       versionMinor: version.1, headers: headers)
                }
                try parseHeaderField(line)
            }
        }
        scanFrom = buffer.count
        let pending = buffer.count - lineStart
        if headerSectionStart < 0 {
            if pending > limits.requestLineBytes + 1 { throw .requestLineTooLong(limit: limits.requestLineBytes) }
        } else if buffer.count - headerSectionStart > limits.headerBytes {
            throw .headerSectionTooLarge(limit: limits.headerBytes)
        }
        return nil
    }

    /// The bytes received after the end of the head (for example the first WebSocket frames).
    public var remainder: ArraySlice<UInt8> { done ? buffer[lineStart...] : [] }

    private func nextLineFeed() -> Int? {
        var i = scanFrom
        while i < buffer.count {
            if buffer[i] == 10 { return i }
            i += 1
        }
        return nil
    }

    private mutating func parseRequestLine(_ range: Range<Int>) throws(HTTPParseError) {
        if range.count > limits.requestLineBytes { throw .requestLineTooLong(limit: limits.requestLineBytes) }
        let line = buffer[range]
        let parts = line.split(separator: 32, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformedRequestLine("expected METHOD SP TARGET SP VERSION") }
        let (m, t, v) = (parts[0], parts[1], parts[2])
        guard !m.isEmpty, m.allSatisfy(Self.isTokenByte) else { throw .malformedRequestLine("invalid method") }
        guard !t.isEmpty, t.allSatisfy({ $0 > 32 && $0 < 127 }) else { throw .malformedRequestLine("invalid request target") }
        guard t.first == UInt8(ascii: "/") || (t.count == 1 && t.first == UInt8(ascii: "*")) || t.starts(with: Array("http".utf8)) else {
            throw .malformedRequestLine("request target must be an absolute path")
        }
        let vb = Array(v)
        guard vb.count == 8, vb.starts(with: Array("HTTP/".utf8)), vb[6] == UInt8(ascii: "."),
              Self.isDigit(vb[5]), Self.isDigit(vb[7]) else {
            throw .malformedRequestLine("invalid HTTP version")
        }
        let major = Int(vb[5] - 48), minor = Int(vb[7] - 48)
        guard major == 1 else { throw .unsupportedVersion(String(decoding: vb, as: UTF8.self)) }
        method = String(decoding: m, as: UTF8.self)
        target = String(decoding: t, as: UTF8.self)
        version = (major, minor)
    }

    private mutating func parseHeaderField(_ range: Range<Int>) throws(HTTPParseError) {
        let first = buffer[range.lowerBound]
        if first == 32 || first == 9 { throw .malformedHeaderField("obsolete line folding") }
        guard let colon = buffer[range].firstIndex(of: UInt8(ascii: ":")) else {
            throw .malformedHeaderField("missing colon")
        }
        let name = buffer[range.lowerBound..<colon]
        guard !name.isEmpty, name.allSatisfy(Self.isTokenByte) else {
            throw .malformedHeaderField("invalid field name")
        }
        var vs = colon + 1, ve = range.upperBound
        while vs < ve && (buffer[vs] == 32 || buffer[vs] == 9) { vs += 1 }
        while ve > vs && (buffer[ve - 1] == 32 || buffer[ve - 1] == 9) { ve -= 1 }
        let value = buffer[vs..<ve]
        guard value.allSatisfy({ $0 == 9 || ($0 >= 32 && $0 != 127) }) else {
            throw .malformedHeaderField("control character in value")
        }
        guard headers.count < limits.headerCount else { throw .tooManyHeaderFields(limit: limits.headerCount) }
        headers.append(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }

    /// RFC 9110 `tchar`.
    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case 48...57, 65...90, 97...122: return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default: return false
        }
    }
}
