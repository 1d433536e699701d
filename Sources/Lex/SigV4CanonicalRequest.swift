import Foundation

/// SigV4 stage 1, the canonical request (AWS documentation, "Create a
/// canonical request"): method, canonical URI, canonical query, canonical
/// headers, signed headers, payload hash.
extension SigV4Signer {
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
    func canonicalHeaders(_ headers: HTTPFields) -> (text: String, signed: String) {
        var text = [UInt8](), signed = [UInt8]()
        Self.appendCanonicalHeaders(headers, text: &text, signed: &signed)
        return (String(decoding: text, as: UTF8.self), String(decoding: signed, as: UTF8.self))
    }

    /// Appends `name:value\n` lines to `text` and `name;name` to `signed`.
    static func appendCanonicalHeaders(_ headers: HTTPFields, text: inout [UInt8], signed: inout [UInt8]) {
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
}
