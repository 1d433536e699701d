import Foundation
import Testing

@testable import Lex

/// Requests signed by botocore 1.43.11 (scripts/fixtures/make-lex-vectors.py):
/// our builder must produce the same URL and headers and our signer the
/// same Authorization.
struct LexVector: Decodable, Sendable, CustomTestStringConvertible {
    struct Input: Decodable, Sendable {
        var type: String
        var sampleRate: Int?
        var bytes: Int?
        var text: String?
    }

    struct Credentials: Decodable, Sendable {
        var accessKeyId: String
        var secretAccessKey: String
        var sessionToken: String?
    }

    struct Expected: Decodable, Sendable {
        var method: String
        var url: String
        var host: String
        var headers: [String: String]
        var authorization: String
    }

    var name: String
    var api: String
    var region: String
    var date: String
    var target: [String: String]
    var input: Input
    var bodyBase64: String
    var sessionAttributes: [String: String]
    var requestAttributes: [String: String]
    var sessionStateJSON: String?
    var credentials: Credentials
    var expected: Expected

    var testDescription: String { name }

    static func all() -> [LexVector] {
        struct File: Decodable {
            var botocore: String
            var cases: [LexVector]
        }
        guard let url = Bundle.module.url(forResource: "lex-requests", withExtension: "json", subdirectory: "Vectors"),
            let data = try? Data(contentsOf: url),
            let file = try? JSONDecoder().decode(File.self, from: data)
        else { return [] }
        return file.cases
    }

    func request() throws -> LexRequest {
        let body = [UInt8](Data(base64Encoded: bodyBase64) ?? Data())
        let lexInput: LexInput = input.type == "text" ? .text(input.text ?? "") : .audio(pcm: body, sampleRate: input.sampleRate ?? 0)
        let lexTarget: LexTarget
        if api == "v2" {
            lexTarget = .v2(botId: target["botId"] ?? "", aliasId: target["aliasId"] ?? "",
                            localeId: target["localeId"] ?? "", sessionId: target["sessionId"] ?? "")
        } else {
            lexTarget = .v1(bot: target["bot"] ?? "", alias: target["alias"] ?? "", user: target["user"] ?? "")
        }
        return LexRequest(target: lexTarget, region: region, input: lexInput, sessionAttributes: sessionAttributes,
                          requestAttributes: requestAttributes, sessionStateJSON: sessionStateJSON)
    }
}

@Suite("botocore Lex request vectors")
struct LexVectorTests {
    @Test("vectors load and cover both APIs, both rates, text, attributes and tokens")
    func coverage() {
        let vectors = LexVector.all()
        #expect(vectors.count == 8)
        #expect(vectors.contains { $0.api == "v1" && $0.input.sampleRate == 8000 })
        #expect(vectors.contains { $0.api == "v1" && $0.input.sampleRate == 16000 })
        #expect(vectors.contains { $0.api == "v2" && $0.input.sampleRate == 8000 })
        #expect(vectors.contains { $0.api == "v2" && $0.input.sampleRate == 16000 })
        #expect(vectors.contains { $0.api == "v2" && $0.input.type == "text" })
        #expect(vectors.contains { $0.credentials.sessionToken != nil && $0.api == "v1" })
        #expect(vectors.contains { $0.credentials.sessionToken != nil && $0.api == "v2" })
        for punctuation in [":", ".", "_", "-"] {
            #expect(vectors.contains { ($0.target["sessionId"] ?? $0.target["user"] ?? "").contains(punctuation) })
        }
    }

    @Test("request matches botocore's", arguments: LexVector.all())
    func matchesBotocore(_ vector: LexVector) throws {
        let credentials = AWSCredentials(
            accessKeyId: vector.credentials.accessKeyId, secretAccessKey: vector.credentials.secretAccessKey,
            sessionToken: vector.credentials.sessionToken)
        let date = try #require(SigV4Date(amzDate: vector.date))
        let message = try vector.request().signedHTTPRequest(
            credentials: credentials, date: date.date, keyCache: SigningKeyCache())
        #expect(message.method == vector.expected.method)
        #expect(message.url == vector.expected.url)
        #expect(message.header("Host") == vector.expected.host)
        #expect(message.body == [UInt8](Data(base64Encoded: vector.bodyBase64) ?? Data()))
        // Same header set, same values (names compared case-insensitively).
        var ours: [String: String] = [:]
        for h in message.headers where h.name.lowercased() != "host" { ours[h.name.lowercased()] = h.value }
        var theirs: [String: String] = [:]
        for (n, v) in vector.expected.headers { theirs[n.lowercased()] = v }
        #expect(ours == theirs)
        #expect(message.header("Authorization") == vector.expected.authorization)
    }
}
