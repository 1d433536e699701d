import Foundation

/// Which Lex API and bot a request goes to.
public enum LexTarget: Sendable, Hashable {
    /// Lex V2 RecognizeUtterance.
    case v2(botId: String, aliasId: String, localeId: String, sessionId: String)
    /// Lex V1 PostContent (end of support announced for 2025-09-15).
    case v1(bot: String, alias: String, user: String)
}

/// What the caller said: 16-bit signed little-endian mono PCM, or text.
public enum LexInput: Sendable, Hashable {
    case audio(pcm: [UInt8], sampleRate: Int)
    case text(String)

    public static func audio(pcm: Data, sampleRate: Int) -> LexInput {
        .audio(pcm: [UInt8](pcm), sampleRate: sampleRate)
    }

    /// The request `Content-Type` Lex accepts for this input.
    public var contentType: String? {
        switch self {
        case .audio(_, 16000): return "audio/l16; rate=16000; channels=1"
        case .audio(_, 8000):
            return "audio/lpcm; sample-rate=8000; sample-size-bits=16; channel-count=1; is-big-endian=false"
        case .audio: return nil
        case .text: return "text/plain; charset=utf-8"
        }
    }

    var body: [UInt8] {
        switch self {
        case .audio(let pcm, _): return pcm
        case .text(let text): return Array(text.utf8)
        }
    }
}

/// The base URLs of the two APIs. `{region}` is replaced by the request's
/// region. Override for private endpoints or tests (`http://127.0.0.1:PORT`).
public struct LexEndpoints: Sendable, Hashable {
    public var v2: String
    public var v1: String

    public static let aws = LexEndpoints(
        v2: "https://runtime-v2-lex.{region}.amazonaws.com",
        v1: "https://runtime.lex.{region}.amazonaws.com")

    public init(v2: String, v1: String) {
        self.v2 = v2
        self.v1 = v1
    }

    /// Both APIs on one base URL (the stand-in serves both).
    public init(both base: String) {
        self.init(v2: base, v1: base)
    }
}

/// An HTTP request ready for the wire: method, absolute URL, headers (with
/// `Host`), body.
public struct HTTPRequestMessage: Sendable, Hashable {
    public var method: String
    public var url: String
    public var headers: HTTPFields
    public var body: [UInt8]

    public func header(_ name: String) -> String? { headers[name] }
}

/// One turn sent to Lex: target bot and session, region, input, attributes.
public struct LexRequest: Sendable, Hashable {
    public var target: LexTarget
    public var region: String
    public var input: LexInput
    /// V1: `x-amz-lex-session-attributes` (base64 JSON). V2: sent as the
    /// `sessionAttributes` of the session state when `sessionStateJSON` is nil.
    public var sessionAttributes: [String: String]
    /// V1: `x-amz-lex-request-attributes` (base64 JSON); V2: gzip+base64 JSON.
    public var requestAttributes: [String: String]
    /// V2 only: a complete `SessionState` JSON object, sent gzip+base64 as is.
    /// Put session attributes inside it when you use it (setting both is an
    /// `invalidRequest`).
    public var sessionStateJSON: String?

    public init(target: LexTarget, region: String, input: LexInput,
                sessionAttributes: [String: String] = [:], requestAttributes: [String: String] = [:],
                sessionStateJSON: String? = nil) {
        self.target = target
        self.region = region
        self.input = input
        self.sessionAttributes = sessionAttributes
        self.requestAttributes = requestAttributes
        self.sessionStateJSON = sessionStateJSON
    }

    public var api: LexAPI {
        switch target {
        case .v1: return .v1
        case .v2: return .v2
        }
    }

    /// The unsigned request: method, URL, headers (Host, Content-Type, the
    /// response type, the attribute headers) and body. Pure.
    public func httpRequest(endpoints: LexEndpoints = .aws) throws(LexError) -> HTTPRequestMessage {
        try validate()
        guard let contentType = input.contentType else {
            throw .invalidRequest("audio sample rate must be 8000 or 16000 Hz")
        }
        let template: String
        let path: String
        var headers: HTTPFields = []
        switch target {
        case .v2(let botId, let aliasId, let localeId, let sessionId):
            template = endpoints.v2
            path = "/bots/\(URIEncoding.encode(botId))/botAliases/\(URIEncoding.encode(aliasId))"
                + "/botLocales/\(URIEncoding.encode(localeId))/sessions/\(URIEncoding.encode(sessionId))/utterance"
            headers.append(HTTPField("Content-Type", contentType))
            headers.append(HTTPField("Response-Content-Type", "audio/pcm"))
            if let state = sessionStateJSON {
                guard sessionAttributes.isEmpty else {
                    throw .invalidRequest("set session attributes inside sessionStateJSON, not both")
                }
                guard (try? HeaderCoding.parseJSON(state)) is [String: Any] else {
                    throw .invalidRequest("sessionStateJSON is not a JSON object")
                }
                headers.append(HTTPField("x-amz-lex-session-state", HeaderCoding.gzipBase64(state)))
            } else if !sessionAttributes.isEmpty {
                let state = "{\"sessionAttributes\":" + HeaderCoding.compactJSON(sessionAttributes) + "}"
                headers.append(HTTPField("x-amz-lex-session-state", HeaderCoding.gzipBase64(state)))
            }
            if !requestAttributes.isEmpty {
                headers.append(HTTPField("x-amz-lex-request-attributes",
                                          HeaderCoding.gzipBase64(HeaderCoding.compactJSON(requestAttributes))))
            }
        case .v1(let bot, let alias, let user):
            template = endpoints.v1
            path = "/bot/\(URIEncoding.encode(bot))/alias/\(URIEncoding.encode(alias))/user/\(URIEncoding.encode(user))/content"
            headers.append(HTTPField("Content-Type", contentType))
            headers.append(HTTPField("Accept", "audio/pcm"))
            if !sessionAttributes.isEmpty {
                headers.append(HTTPField("x-amz-lex-session-attributes",
                                          HeaderCoding.base64(Array(HeaderCoding.compactJSON(sessionAttributes).utf8))))
            }
            if !requestAttributes.isEmpty {
                headers.append(HTTPField("x-amz-lex-request-attributes",
                                          HeaderCoding.base64(Array(HeaderCoding.compactJSON(requestAttributes).utf8))))
            }
        }
        let base = try BaseURL(template.replacingEvery("{region}", with: region))
        headers.insert(HTTPField("Host", base.hostHeader), at: 0)
        return HTTPRequestMessage(method: "POST", url: base.origin + base.pathPrefix + path,
                                  headers: headers, body: input.body)
    }

    /// `httpRequest` signed with SigV4 (service `lex`, unsigned payload).
    public func signedHTTPRequest(credentials: AWSCredentials, endpoints: LexEndpoints = .aws,
                                  date: Date = Date(), keyCache: SigningKeyCache = .shared) throws(LexError) -> HTTPRequestMessage {
        var message = try httpRequest(endpoints: endpoints)
        let base = try BaseURL(message.url)
        let signer = SigV4Signer(credentials: credentials, region: region, service: "lex", keyCache: keyCache)
        let signed = signer.signed(
            SigV4Request(method: message.method, path: base.pathPrefix, query: base.query, headers: message.headers),
            payload: .unsigned, date: date)
        message.headers = signed.headers
        return message
    }

    func validate() throws(LexError) {
        guard !region.isEmpty, region.utf8.count <= 64,
            region.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 })
        else { throw .invalidRequest("region \"\(region)\" is not an AWS region name like eu-west-2") }
        switch target {
        case .v2(let botId, let aliasId, let localeId, let sessionId):
            guard botId.utf8.count == 10, botId.utf8.allSatisfy(Self.isAlphanumeric) else {
                throw .invalidRequest("V2 botId \"\(botId)\" must be 10 letters or digits")
            }
            try Self.checkName(aliasId, "botAliasId")
            try Self.checkName(localeId, "localeId")
            try Self.checkSessionId(sessionId, "sessionId")
        case .v1(let bot, let alias, let user):
            try Self.checkName(bot, "bot name")
            try Self.checkName(alias, "bot alias")
            try Self.checkSessionId(user, "user id")
        }
        if case .audio(let pcm, _) = input, pcm.count % 2 != 0 {
            throw .invalidRequest("audio has an odd number of bytes; expected 16-bit samples")
        }
    }

    static func isAlphanumeric(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
    }

    static func checkName(_ value: String, _ what: String) throws(LexError) {
        guard !value.isEmpty, value.utf8.count <= 100, value != ".", value != ".." else {
            throw .invalidRequest("\(what) \"\(value)\" must be 1 to 100 characters")
        }
    }

    /// User and session ids: `[0-9a-zA-Z._:-]{2,100}` (the Lex models'
    /// pattern), and not only dots (a `..` path segment would be rewritten by
    /// path normalisation on the way).
    static func checkSessionId(_ value: String, _ what: String) throws(LexError) {
        let bytes = value.utf8
        guard (2...100).contains(bytes.count),
            bytes.allSatisfy({ isAlphanumeric($0) || $0 == 46 || $0 == 95 || $0 == 58 || $0 == 45 }),
            !bytes.allSatisfy({ $0 == 46 })
        else {
            throw .invalidRequest("\(what) \"\(value)\" must match [0-9a-zA-Z._:-]{2,100}")
        }
    }
}

/// The Lex API a request or turn belongs to.
public enum LexAPI: String, Sendable, Hashable {
    case v1
    case v2
}

/// `scheme://host[:port][/prefix]` split into what the request needs.
struct BaseURL {
    var scheme: String
    var authority: String
    var pathPrefix: String
    var query: String
    var hostHeader: String

    var origin: String { scheme + "://" + authority }

    /// `url` for an error message (it reaches log lines): without a query or fragment, without
    /// user info (up to an `@`), at most 100 characters, so no token in the URL is shown.
    static func shown(_ url: String) -> String {
        var text = Substring(url)
        if let cut = text.firstIndex(where: { $0 == "?" || $0 == "#" }) { text = text[..<cut] }
        if let at = text.lastIndex(of: "@") {
            let start = text.range(of: "://").map(\.upperBound) ?? text.startIndex
            text = text[..<start] + text[text.index(after: at)...]
        }
        return text.count <= 100 ? String(text) : String(text.prefix(100)) + "…"
    }

    init(_ url: String) throws(LexError) {
        // Byte-level split: scheme "://" authority [path] ["?" query].
        let bytes = Array(url.utf8)
        var schemeEnd: Int?
        var i = 0
        while i + 2 < bytes.count {
            if bytes[i] == UInt8(ascii: ":") && bytes[i + 1] == UInt8(ascii: "/") && bytes[i + 2] == UInt8(ascii: "/") {
                schemeEnd = i
                break
            }
            if bytes[i] == UInt8(ascii: "/") || bytes[i] == UInt8(ascii: "?") { break }
            i += 1
        }
        guard let schemeEnd else { throw .invalidRequest("endpoint \"\(Self.shown(url))\" is not an absolute http(s) URL") }
        scheme = String(decoding: bytes[..<schemeEnd], as: UTF8.self).lowercased()
        guard scheme == "http" || scheme == "https" else {
            throw .invalidRequest("endpoint \"\(Self.shown(url))\" must use http or https")
        }
        var rest = bytes[(schemeEnd + 3)...]
        if let q = rest.firstIndex(of: UInt8(ascii: "?")) {
            query = String(decoding: rest[(q + 1)...], as: UTF8.self)
            rest = rest[..<q]
        } else {
            query = ""
        }
        if let slash = rest.firstIndex(of: UInt8(ascii: "/")) {
            authority = String(decoding: rest[..<slash], as: UTF8.self)
            var prefix = rest[slash...]
            while prefix.last == UInt8(ascii: "/") { prefix = prefix.dropLast() }
            pathPrefix = String(decoding: prefix, as: UTF8.self)
        } else {
            authority = String(decoding: rest, as: UTF8.self)
            pathPrefix = ""
        }
        guard !authority.isEmpty, !authority.contains("@"),
            authority.unicodeScalars.allSatisfy({ $0.value > 32 && $0.value < 127 })
        else {
            throw .invalidRequest(authority.contains("@") ? "endpoint \"\(Self.shown(url))\" has user info (user:password@), which is not supported"
                                                          : "endpoint \"\(Self.shown(url))\" has no usable host")
        }
        // The Host header drops a port that is the scheme's default, as
        // HTTP clients (and botocore) do.
        let defaultPort = scheme == "https" ? ":443" : ":80"
        let host = authority.hasSuffix(defaultPort) ? String(authority.dropLast(defaultPort.count)) : authority
        hostHeader = host.lowercased()
    }
}

extension String {
    /// Every occurrence of `target` replaced (byte-wise; no Foundation).
    func replacingEvery(_ target: String, with replacement: String) -> String {
        let bytes = Array(utf8), needle = Array(target.utf8)
        guard !needle.isEmpty, bytes.count >= needle.count else { return self }
        var out = [UInt8]()
        out.reserveCapacity(bytes.count + replacement.utf8.count)
        var i = 0
        var replaced = false
        while i < bytes.count {
            if i + needle.count <= bytes.count && bytes[i..<(i + needle.count)].elementsEqual(needle) {
                out.append(contentsOf: replacement.utf8)
                i += needle.count
                replaced = true
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return replaced ? String(decoding: out, as: UTF8.self) : self
    }
}
