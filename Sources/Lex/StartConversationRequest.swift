import Foundation

/// The opening request of a Lex V2 StartConversation stream, signed: `POST
/// /bots/{botId}/botAliases/{botAliasId}/botLocales/{localeId}/sessions/{sessionId}/conversation`
/// on the V2 endpoint (`https://runtime-v2-lex.{region}.amazonaws.com`, or `LexEndpoints.v2`),
/// headers `content-type: application/vnd.amazon.eventstream`,
/// `x-amz-lex-conversation-mode: AUDIO`, `x-amz-content-sha256:
/// STREAMING-AWS4-HMAC-SHA256-EVENTS`, `x-amz-date`, `x-amz-security-token` (temporary
/// credentials) and `authorization` (SigV4, service `lex`; the payload hash is the literal).
/// Source: the Lex V2 API reference, StartConversation; the `lexv2-runtime` service model.
/// Pure: the date is a parameter.
public struct StartConversationRequest: Sendable {
    public static let contentType = "application/vnd.amazon.eventstream"
    public static let conversationModeHeader = "x-amz-lex-conversation-mode"

    /// The URL to POST to.
    public let url: String
    /// Lower-case names, as HTTP/2 sends them (`host` becomes `:authority`, so it is left out).
    public let headers: HTTPFields
    /// The event signer seeded with the request's signature: sign every event with it, in order.
    public let eventSigner: SigV4EventSigner

    /// Builds and signs the request. Throws `LexError.invalidRequest` when the target (V1), the
    /// region or an id is not valid, or the endpoint is not a URL.
    public init(target: LexTarget, region: String, credentials: AWSCredentials, endpoints: LexEndpoints = .aws,
                date: SigV4Date, keyCache: SigningKeyCache = .shared) throws(LexError) {
        guard case .v2(let botId, let aliasId, let localeId, let sessionId) = target else {
            throw .invalidRequest("StartConversation is a Lex V2 API: use a /bots/... route")
        }
        try LexRequest(target: target, region: region, input: .text("-")).validate()
        let base = try BaseURL(endpoints.v2.replacingEvery("{region}", with: region))
        let path = base.pathPrefix + "/bots/\(URIEncoding.encode(botId))/botAliases/\(URIEncoding.encode(aliasId))"
            + "/botLocales/\(URIEncoding.encode(localeId))/sessions/\(URIEncoding.encode(sessionId))/conversation"
        let signer = SigV4Signer(credentials: credentials, region: region, service: "lex", keyCache: keyCache)
        let request = SigV4Request(method: "POST", path: path, headers: [
            HTTPField("Host", base.hostHeader),
            HTTPField("Content-Type", Self.contentType),
            HTTPField(Self.conversationModeHeader, "AUDIO"),
        ])
        let signed = signer.signed(request, payload: .streamingEvents, date: date)
        guard let authorization = signed.header("Authorization"),
              let seed = SigV4EventSigner.signature(fromAuthorization: authorization),
              let eventSigner = SigV4EventSigner(signer: signer, seedSignature: seed)
        else { throw .invalidRequest("the opening request's signature could not be read back") }
        url = base.origin + path
        headers = HTTPFields(signed.headers.lazy.filter { !$0.name.caseInsensitiveEquals("host") }.map { HTTPField($0.name.lowercased(), $0.value) })
        self.eventSigner = eventSigner
    }
}
