import Foundation

/// What the signature says about the body.
public enum SigV4Payload: Sendable, Hashable {
    /// `X-Amz-Content-SHA256: UNSIGNED-PAYLOAD` is added and signed (Lex runtime
    /// operations are modelled `v4-unsigned-body`).
    case unsigned
    /// The body's SHA-256 is part of the canonical request; no header is added.
    case bytes([UInt8])
    /// A precomputed lower-case hex SHA-256 (or `UNSIGNED-PAYLOAD`) taken as is.
    case hash(String)
    /// The opening request of an event stream (Lex V2 StartConversation,
    /// Transcribe streaming): `X-Amz-Content-SHA256:
    /// STREAMING-AWS4-HMAC-SHA256-EVENTS` is added and signed, and that
    /// literal is the payload hash. The request's signature seeds the chained
    /// event signatures (`SigV4EventSigner`).
    case streamingEvents

    public static let unsignedPayloadLiteral = "UNSIGNED-PAYLOAD"
    public static let streamingEventsLiteral = "STREAMING-AWS4-HMAC-SHA256-EVENTS"

    var hexHash: String {
        switch self {
        case .unsigned: return Self.unsignedPayloadLiteral
        case .bytes(let body): return Digest.hex(Digest.sha256(body))
        case .hash(let h): return h
        case .streamingEvents: return Self.streamingEventsLiteral
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
    /// credentials carry one), `X-Amz-Content-SHA256` (unsigned and streaming
    /// payloads) and
    /// `Authorization` set. Existing copies of these headers are replaced.
    public func signed(_ request: SigV4Request, payload: SigV4Payload, date: Date = Date()) -> SigV4Request {
        signed(request, payload: payload, date: SigV4Date(date))
    }

    public func signed(_ request: SigV4Request, payload: SigV4Payload, date: SigV4Date) -> SigV4Request {
        var request = prepared(request, payload: payload, date: date)
        let (canonical, signedHeaders) = canonicalRequestAndSignedHeaders(request, payloadHash: payload.hexHash)
        let sts = stringToSign(canonicalRequest: canonical, date: date)
        let sig = signature(stringToSign: sts, date: date)
        request.headers.append(HTTPField("Authorization", authorization(signedHeaders: signedHeaders, signature: sig, date: date)))
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
        switch payload {
        case .unsigned, .streamingEvents: request.setHeader("X-Amz-Content-SHA256", payload.hexHash)
        case .bytes, .hash: break
        }
        return request
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
