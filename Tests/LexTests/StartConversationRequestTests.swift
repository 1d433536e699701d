import Foundation
import Testing
@testable import Lex

/// The opening request of a StartConversation stream: URL, headers, and a signature the
/// verifier accepts, whose value seeds the event chain.
@Suite struct StartConversationRequestTests {
    static let credentials = AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                            sessionToken: "TOKEN")
    static let target = LexTarget.v2(botId: "ABCDEFGHIJ", aliasId: "TSTALIASID", localeId: "en_US", sessionId: "caller:1")

    @Test func headersAndURL() throws {
        let r = try StartConversationRequest(target: Self.target, region: "eu-west-2", credentials: Self.credentials,
                                             date: SigV4Date(unixSeconds: 1_700_000_000))
        #expect(r.url == "https://runtime-v2-lex.eu-west-2.amazonaws.com/bots/ABCDEFGHIJ/botAliases/TSTALIASID/botLocales/en_US/sessions/caller%3A1/conversation")
        let h = Dictionary(uniqueKeysWithValues: r.headers.map { ($0.name, $0.value) })
        #expect(h["content-type"] == "application/vnd.amazon.eventstream")
        #expect(h["x-amz-lex-conversation-mode"] == "AUDIO")
        #expect(h["x-amz-content-sha256"] == "STREAMING-AWS4-HMAC-SHA256-EVENTS")
        #expect(h["x-amz-date"] == "20231114T221320Z" && h["x-amz-security-token"] == "TOKEN")
        #expect(h["host"] == nil, "HTTP/2 sends it as :authority")
        let authorization = try #require(h["authorization"])
        #expect(authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/eu-west-2/lex/aws4_request"))
        let seed = try #require(SigV4EventSigner.signature(fromAuthorization: authorization))
        #expect(r.eventSigner.previousSignature == Digest.unhex(seed), "the request's signature seeds the event chain")
    }

    @Test func h2cEndpointAndV1Refused() throws {
        let r = try StartConversationRequest(target: Self.target, region: "us-east-1", credentials: Self.credentials,
                                             endpoints: LexEndpoints(both: "http://127.0.0.1:8080"), date: SigV4Date(unixSeconds: 0))
        #expect(r.url.hasPrefix("http://127.0.0.1:8080/bots/"))
        #expect(throws: LexError.self) {
            try StartConversationRequest(target: .v1(bot: "Bot", alias: "prod", user: "u1"), region: "us-east-1",
                                         credentials: Self.credentials, date: SigV4Date(unixSeconds: 0))
        }
        #expect(throws: LexError.self) {
            try StartConversationRequest(target: Self.target, region: "EU WEST", credentials: Self.credentials, date: SigV4Date(unixSeconds: 0))
        }
    }
}
