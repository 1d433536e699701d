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

/// What the signature says about the body.
public enum SigV4Payload: Sendable, Hashable {
    /// `X-Amz-Content-SHA256: UNSIGNED-PAYLOAD` is added and signed (Lex runtime
    /// operations are modelled `v4-unsigned-body`).
    case unsigned
    /// The body's SHA-256 is part of the canonical request; no header is added.
    case bytes([UInt8])
    /// A precomputed lower-case hex SHA-256 (or `UNSIGNED-PAYLOAD`) taken as is.
    case hash(String)

    public static let unsignedPayloadLiteral = "UNSIGNED-PAYLOAD"

    var hexHash: String {
        switch self {
        case .unsigned: return Self.unsignedPayloadLiteral
        case .bytes(let body): return Digest.hex(Digest.sha256(body))
        case .hash(let h): return h
        }
    }
}

/// AWS Signature Version 4 (header form), after the AWS documentation's three
/// stages: `canonicalRequest`, `stringToSign`, `signature`. A pure value: the
/// signing time is a parameter; the derived signing key is cached (see
/// `SigningKeyCache`). Not for S3, whose paths are neither normalised nor
/// encoded twice.
public struct SigV4Signer: Sendable {
    public let credentials: AWSCredentials
    public let region: String
    public let service: String
    private let keyCache: SigningKeyCache

    public static let algorithm = "AWS4-HMAC-SHA256"

    /// Lower-case hex SHA-256 of `bytes` (a payload hash).
    public static func hexSHA256(_ bytes: [UInt8]) -> String {
        Digest.hex(Digest.sha256(bytes))
    }

    /// Headers never signed (botocore's list): hop-by-hop headers, ones that
    /// proxies rewrite, and `Authorization` itself.
    static let unsignedHeaderNames: Set<String> = [
        "authorization", "connection", "expect", "keep-alive", "proxy-authenticate",
        "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "user-agent",
        "x-amzn-trace-id",
    ]

    public init(credentials: AWSCredentials, region: String, service: String = "lex",
                keyCache: SigningKeyCache = .shared) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.keyCache = keyCache
    }

    /// Returns `request` with `X-Amz-Date`, `X-Amz-Security-Token` (when the
    /// credentials carry one), `X-Amz-Content-SHA256` (unsigned payloads) and
    /// `Authorization` set. Existing copies of these headers are replaced.
    public func signed(_ request: SigV4Request, payload: SigV4Payload, date: Date = Date()) -> SigV4Request {
        signed(request, payload: payload, date: SigV4Date(date))
    }

    public func signed(_ request: SigV4Request, payload: SigV4Payload, date: SigV4Date) -> SigV4Request {
        var request = prepared(request, payload: payload, date: date)
        let (canonical, signedHeaders) = canonicalRequestAndSignedHeaders(request, payloadHash: payload.hexHash)
        let sts = stringToSign(canonicalRequest: canonical, date: date)
        let sig = signature(stringToSign: sts, date: date)
        request.headers.append(HTTPHeader("Authorization", authorization(signedHeaders: signedHeaders, signature: sig, date: date)))
        return request
    }

    /// The request with the headers the signer adds (date, token, payload
    /// header) and without any old `Authorization`: what stage 1 reads.
    public func prepared(_ request: SigV4Request, payload: SigV4Payload, date: SigV4Date) -> SigV4Request {
        var request = request
        request.headers.removeAll { $0.name.caseInsensitiveEquals("authorization") }
        request.setHeader("X-Amz-Date", date.amzDate)
        if let token = credentials.sessionToken {
            token.withRevealedValue { request.setHeader("X-Amz-Security-Token", $0) }
        }
        if case .unsigned = payload {
            request.setHeader("X-Amz-Content-SHA256", SigV4Payload.unsignedPayloadLiteral)
        }
        return request
    }

    // MARK: Stage 1: canonical request

    /// `METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n PayloadHash`
    /// for a request as `prepared` returns it.
    public func canonicalRequest(_ request: SigV4Request, payloadHash: String) -> String {
        canonicalRequestAndSignedHeaders(request, payloadHash: payloadHash).0
    }

    /// `host;x-amz-date;...`: the lower-cased, sorted names that are signed.
    public func signedHeaders(_ request: SigV4Request) -> String {
        canonicalHeaders(request.headers).signed
    }

    func canonicalRequestAndSignedHeaders(_ request: SigV4Request, payloadHash: String) -> (String, String) {
        var out = [UInt8]()
        out.reserveCapacity(512)
        out.append(contentsOf: request.method.uppercased().utf8)
        out.append(0x0a)
        // The canonical URI: the wire path, normalised (dot segments and empty
        // segments removed) and URI-encoded once more. Because Lex (like every
        // service but S3) is signed over the already-encoded path, a session id
        // `abc:def` is `abc%3Adef` on the wire and `abc%253Adef` here: the
        // path ends up encoded twice.
        URIEncoding.encode(Self.normalizedPath(request.path).utf8, keepSlash: true, into: &out)
        out.append(0x0a)
        out.append(contentsOf: Self.canonicalQuery(request.query).utf8)
        out.append(0x0a)
        var signed = [UInt8]()
        Self.appendCanonicalHeaders(request.headers, text: &out, signed: &signed)
        out.append(0x0a)
        out.append(contentsOf: signed)
        out.append(0x0a)
        out.append(contentsOf: payloadHash.utf8)
        return (String(decoding: out, as: UTF8.self), String(decoding: signed, as: UTF8.self))
    }

    /// Lower-cased names, sorted; values trimmed with inner whitespace runs
    /// collapsed to one space; repeated headers joined with `,` in order.
    func canonicalHeaders(_ headers: [HTTPHeader]) -> (text: String, signed: String) {
        var text = [UInt8](), signed = [UInt8]()
        Self.appendCanonicalHeaders(headers, text: &text, signed: &signed)
        return (String(decoding: text, as: UTF8.self), String(decoding: signed, as: UTF8.self))
    }

    /// Appends `name:value\n` lines to `text` and `name;name` to `signed`.
    static func appendCanonicalHeaders(_ headers: [HTTPHeader], text: inout [UInt8], signed: inout [UInt8]) {
        var entries: [(name: [UInt8], value: [UInt8], order: Int)] = []
        entries.reserveCapacity(headers.count)
        for (i, h) in headers.enumerated() {
            var name = trimmedBytes(h.name)
            for j in name.indices where name[j] >= 65 && name[j] <= 90 { name[j] += 32 }
            if unsignedHeaderNames.contains(String(decoding: name, as: UTF8.self)) { continue }
            entries.append((name, trimAllBytes(h.value), i))
        }
        // Stable: repeated names keep their order.
        entries.sort { a, b in a.name == b.name ? a.order < b.order : a.name.lexicographicallyPrecedes(b.name) }
        var previous: [UInt8]?
        for entry in entries {
            if let p = previous, p == entry.name {
                text.append(UInt8(ascii: ","))
            } else {
                if previous != nil {
                    text.append(0x0a)
                    signed.append(UInt8(ascii: ";"))
                }
                text.append(contentsOf: entry.name)
                text.append(UInt8(ascii: ":"))
                signed.append(contentsOf: entry.name)
                previous = entry.name
            }
            text.append(contentsOf: entry.value)
        }
        if previous != nil { text.append(0x0a) }
    }

    static func trimmedBytes(_ string: String) -> [UInt8] {
        var string = string
        return string.withUTF8 { buffer in
            var start = 0, end = buffer.count
            while start < end, isSpace(buffer[start]) { start += 1 }
            while end > start, isSpace(buffer[end - 1]) { end -= 1 }
            return Array(buffer[start..<end])
        }
    }

    /// Trim, and collapse whitespace runs to one space.
    static func trimAllBytes(_ string: String) -> [UInt8] {
        var string = string
        return string.withUTF8 { buffer in
            var out = [UInt8]()
            out.reserveCapacity(buffer.count)
            var pendingSpace = false
            for c in buffer {
                if isSpace(c) {
                    pendingSpace = !out.isEmpty
                } else {
                    if pendingSpace { out.append(0x20) }
                    pendingSpace = false
                    out.append(c)
                }
            }
            return out
        }
    }

    static func trimAll(_ value: String) -> String {
        String(decoding: trimAllBytes(value), as: UTF8.self)
    }

    static func isSpace(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d || c == 0x0b || c == 0x0c
    }

    /// RFC 3986 dot-segment removal plus removal of empty segments, as the
    /// AWS suite's normalize-path cases and botocore do. Keeps a leading and
    /// a trailing slash.
    static func normalizedPath(_ path: String) -> String {
        if path.isEmpty { return "/" }
        if isNormalized(path) { return path }
        var segments: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            if segment == "." { continue }
            if segment == ".." {
                if !segments.isEmpty { segments.removeLast() }
                continue
            }
            segments.append(segment)
        }
        let leading = path.hasPrefix("/") ? "/" : ""
        let trailing = path.hasSuffix("/") && !segments.isEmpty ? "/" : ""
        return leading + segments.joined(separator: "/") + trailing
    }

    /// True when `path` starts with `/` and has no empty, `.` or `..` segment
    /// (the common case, checked without allocating).
    static func isNormalized(_ path: String) -> Bool {
        var segmentLength = 0
        var dots = 0
        var first = true
        for c in path.utf8 {
            if c == UInt8(ascii: "/") {
                if first {
                    first = false
                } else if segmentLength == 0 || segmentLength == dots && dots <= 2 {
                    return false
                }
                segmentLength = 0
                dots = 0
            } else {
                if first { return false }
                segmentLength += 1
                if c == UInt8(ascii: ".") { dots += 1 }
            }
        }
        // A trailing segment of "." or ".." needs normalising; a trailing "/" is kept.
        return !(segmentLength > 0 && segmentLength == dots && dots <= 2)
    }

    /// Each `name=value` pair percent-decoded then encoded with the SigV4
    /// rule, sorted by name then value (byte order), joined with `&`.
    static func canonicalQuery(_ query: String) -> String {
        if query.isEmpty { return "" }
        var pairs: [([UInt8], [UInt8])] = []
        for part in query.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let bytes = Array(part)
            var name = [UInt8](), value = [UInt8]()
            if let eq = bytes.firstIndex(of: UInt8(ascii: "=")) {
                URIEncoding.encode(URIEncoding.decode(Array(bytes[..<eq])), into: &name)
                URIEncoding.encode(URIEncoding.decode(Array(bytes[(eq + 1)...])), into: &value)
            } else {
                URIEncoding.encode(URIEncoding.decode(bytes), into: &name)
            }
            pairs.append((name, value))
        }
        pairs.sort { a, b in
            a.0 == b.0 ? a.1.lexicographicallyPrecedes(b.1) : a.0.lexicographicallyPrecedes(b.0)
        }
        var out = [UInt8]()
        for (i, p) in pairs.enumerated() {
            if i > 0 { out.append(UInt8(ascii: "&")) }
            out.append(contentsOf: p.0)
            out.append(UInt8(ascii: "="))
            out.append(contentsOf: p.1)
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: Stage 2: string to sign

    public func credentialScope(date: SigV4Date) -> String {
        "\(date.dateStamp)/\(region)/\(service)/aws4_request"
    }

    /// `AWS4-HMAC-SHA256 \n X-Amz-Date \n scope \n hex(SHA-256(canonical request))`
    public func stringToSign(canonicalRequest: String, date: SigV4Date) -> String {
        Self.algorithm + "\n" + date.amzDate + "\n" + credentialScope(date: date) + "\n"
            + Digest.hex(Digest.sha256(canonicalRequest))
    }

    // MARK: Stage 3: signature

    /// hex(HMAC(signing key, string to sign)); the signing key is
    /// HMAC chain `AWS4`+secret → date → region → service → `aws4_request`.
    public func signature(stringToSign: String, date: SigV4Date) -> String {
        Digest.hex(Digest.hmacSHA256(key: signingKey(date: date), string: stringToSign))
    }

    public func authorization(signedHeaders: String, signature: String, date: SigV4Date) -> String {
        "\(Self.algorithm) Credential=\(credentials.accessKeyId)/\(credentialScope(date: date)), "
            + "SignedHeaders=\(signedHeaders), Signature=\(signature)"
    }

    func signingKey(date: SigV4Date) -> [UInt8] {
        let key = SigningKeyCache.Key(
            accessKeyId: credentials.accessKeyId, secret: credentials.secretAccessKey,
            dateStamp: String(date.dateStamp), region: region, service: service)
        return keyCache.key(for: key) {
            let kDate = Digest.hmacSHA256(key: Array("AWS4".utf8) + credentials.secretAccessKey.revealedUTF8,
                                          string: key.dateStamp)
            let kRegion = Digest.hmacSHA256(key: kDate, string: region)
            let kService = Digest.hmacSHA256(key: kRegion, string: service)
            return Digest.hmacSHA256(key: kService, string: "aws4_request")
        }
    }
}

/// Derived SigV4 signing keys, one per access key, secret, date, region and
/// service (the secret is part of the key so a rotated secret under the same
/// key id never reuses a stale key). Thread-safe; bounded (cleared when full).
public final class SigningKeyCache: @unchecked Sendable {
    struct Key: Hashable {
        var accessKeyId: String
        var secret: Secret
        var dateStamp: String
        var region: String
        var service: String
    }

    public static let shared = SigningKeyCache()

    private let lock = NSLock()
    private var keys: [Key: [UInt8]] = [:]
    private let capacity: Int
    private var hitCount = 0
    private var missCount = 0

    public init(capacity: Int = 4096) {
        self.capacity = max(1, capacity)
    }

    func key(for key: Key, derive: () -> [UInt8]) -> [UInt8] {
        lock.lock()
        if let cached = keys[key] {
            hitCount += 1
            lock.unlock()
            return cached
        }
        missCount += 1
        lock.unlock()
        let derived = derive()
        lock.lock()
        if keys.count >= capacity { keys.removeAll(keepingCapacity: true) }
        keys[key] = derived
        lock.unlock()
        return derived
    }

    /// (hits, misses) since creation.
    public var statistics: (hits: Int, misses: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (hitCount, missCount)
    }

    public var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return keys.count
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
