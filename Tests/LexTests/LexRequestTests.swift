import Foundation
import Testing

@testable import Lex

@Suite("Lex request building")
struct LexRequestTests {
    static let v2 = LexTarget.v2(botId: "ABCDEFGHIJ", aliasId: "TSTALIASID", localeId: "en_GB", sessionId: "call:1.a_b-c")
    static let v1 = LexTarget.v1(bot: "BookTrip", alias: "prod", user: "call:1.a_b-c")

    @Test("content types Lex accepts for 8 and 16 kHz and text")
    func contentTypes() {
        #expect(LexInput.audio(pcm: [0, 0], sampleRate: 16000).contentType == "audio/l16; rate=16000; channels=1")
        #expect(LexInput.audio(pcm: [0, 0], sampleRate: 8000).contentType
            == "audio/lpcm; sample-rate=8000; sample-size-bits=16; channel-count=1; is-big-endian=false")
        #expect(LexInput.text("hi").contentType == "text/plain; charset=utf-8")
        #expect(LexInput.audio(pcm: [0, 0], sampleRate: 24000).contentType == nil)
    }

    @Test("V2: path, response type, gzip+base64 session attributes")
    func v2Request() throws {
        let request = LexRequest(target: Self.v2, region: "eu-west-2", input: .audio(pcm: [1, 2, 3, 4], sampleRate: 16000),
                                 sessionAttributes: ["k": "v"])
        let message = try request.httpRequest()
        #expect(message.url == "https://runtime-v2-lex.eu-west-2.amazonaws.com/bots/ABCDEFGHIJ/botAliases/TSTALIASID/botLocales/en_GB/sessions/call%3A1.a_b-c/utterance")
        #expect(message.header("Response-Content-Type") == "audio/pcm")
        #expect(message.header("Accept") == nil)
        #expect(message.header("x-amz-lex-session-state") == "H4sIAAAAAAACA6tWKk4tLs7Mz3MsKSnKTCotSS1WsqpWylayUipTqq0FABY6bXwfAAAA")
        #expect(message.header("Host") == "runtime-v2-lex.eu-west-2.amazonaws.com")
        #expect(message.body == [1, 2, 3, 4])
    }

    @Test("V1: path, Accept, base64 JSON attributes")
    func v1Request() throws {
        let request = LexRequest(target: Self.v1, region: "us-east-1", input: .text("hello"),
                                 sessionAttributes: ["b": "2", "a": "1"], requestAttributes: ["x": "y"])
        let message = try request.httpRequest()
        #expect(message.url == "https://runtime.lex.us-east-1.amazonaws.com/bot/BookTrip/alias/prod/user/call%3A1.a_b-c/content")
        #expect(message.header("Accept") == "audio/pcm")
        #expect(LexHeaderEncoding.unbase64(message.header("x-amz-lex-session-attributes") ?? "") == #"{"a":"1","b":"2"}"#)
        #expect(LexHeaderEncoding.unbase64(message.header("x-amz-lex-request-attributes") ?? "") == #"{"x":"y"}"#)
        #expect(message.body == Array("hello".utf8))
    }

    @Test("endpoint override with {region}, port in Host, default ports dropped")
    func endpoints() throws {
        let request = LexRequest(target: Self.v2, region: "eu-west-2", input: .text("x"))
        let local = try request.httpRequest(endpoints: LexEndpoints(both: "http://127.0.0.1:8123/"))
        #expect(local.url.hasPrefix("http://127.0.0.1:8123/bots/"))
        #expect(local.header("Host") == "127.0.0.1:8123")
        let vpce = try request.httpRequest(endpoints: LexEndpoints(v2: "https://vpce-1.runtime-v2-lex.{region}.vpce.amazonaws.com:443", v1: ""))
        #expect(vpce.header("Host") == "vpce-1.runtime-v2-lex.eu-west-2.vpce.amazonaws.com")
        #expect(throws: LexError.self) { try request.httpRequest(endpoints: LexEndpoints(both: "ftp://x")) }
    }

    @Test("bad parameters are typed errors, not crashes", arguments: [
        LexRequest(target: .v2(botId: "SHORT", aliasId: "a", localeId: "en_US", sessionId: "ok"), region: "eu-west-2", input: .text("x")),
        LexRequest(target: .v2(botId: "ABCDEFGHI!", aliasId: "a", localeId: "en_US", sessionId: "ok"), region: "eu-west-2", input: .text("x")),
        LexRequest(target: .v2(botId: "ABCDEFGHIJ", aliasId: "", localeId: "en_US", sessionId: "ok"), region: "eu-west-2", input: .text("x")),
        LexRequest(target: .v2(botId: "ABCDEFGHIJ", aliasId: "a", localeId: "en_US", sessionId: "x"), region: "eu-west-2", input: .text("x")),
        LexRequest(target: .v2(botId: "ABCDEFGHIJ", aliasId: "a", localeId: "en_US", sessionId: "a/b"), region: "eu-west-2", input: .text("x")),
        LexRequest(target: .v2(botId: "ABCDEFGHIJ", aliasId: "a", localeId: "en_US", sessionId: ".."), region: "eu-west-2", input: .text("x")),
        LexRequest(target: .v1(bot: "B", alias: "a", user: String(repeating: "u", count: 101)), region: "eu-west-2", input: .text("x")),
        LexRequest(target: .v1(bot: "B", alias: "a", user: "user"), region: "eu-west-2.evil.com/", input: .text("x")),
        LexRequest(target: .v1(bot: "B", alias: "a", user: "user"), region: "eu-west-2", input: .audio(pcm: [0, 0], sampleRate: 11025)),
        LexRequest(target: .v1(bot: "B", alias: "a", user: "user"), region: "eu-west-2", input: .audio(pcm: [0, 0, 0], sampleRate: 8000)),
        LexRequest(target: .v2(botId: "ABCDEFGHIJ", aliasId: "a", localeId: "en_US", sessionId: "ok"), region: "eu-west-2", input: .text("x"),
                   sessionStateJSON: "[1]"),
    ])
    func invalid(_ request: LexRequest) {
        #expect {
            try request.httpRequest()
        } throws: { error in
            guard let error = error as? LexError, case .invalidRequest = error else { return false }
            return !error.isRetryable
        }
    }

    @Test("session state and session attributes together are refused")
    func stateAndAttributes() {
        let request = LexRequest(target: Self.v2, region: "eu-west-2", input: .text("x"),
                                 sessionAttributes: ["a": "b"], sessionStateJSON: "{}")
        #expect(throws: LexError.self) { try request.httpRequest() }
    }
}

@Suite("Header encodings")
struct HeaderCodingTests {
    @Test("compact JSON is byte for byte Python's json.dumps(separators=(',', ':'))")
    func pythonCompatibleJSON() {
        let json = HeaderCoding.compactJSON(["a": "café \"q\"\n\t", "b": "\u{1F600}", "c": "\u{7f}\u{01}/\\", "é": "x"])
        #expect(json == #"{"a":"caf\u00e9 \"q\"\n\t","b":"\ud83d\ude00","c":"\u007f\u0001/\\","\u00e9":"x"}"#)
        #expect(HeaderCoding.compactJSON([:]) == "{}")
    }

    @Test("gzip+base64 round trip, and garbage is an error")
    func gzipRoundTrip() throws {
        let text = String(repeating: "Grüß Gott ", count: 500)
        let encoded = HeaderCoding.gzipBase64(text)
        #expect(try HeaderCoding.gunzipBase64(encoded) == text)
        #expect(throws: HeaderCoding.Failure.notBase64) { try HeaderCoding.gunzipBase64("***") }
        #expect(throws: HeaderCoding.Failure.notGzip) { try HeaderCoding.gunzipBase64(HeaderCoding.base64(Array("plain".utf8))) }
        let truncated = Array(HeaderCoding.gzip(Array(text.utf8)).dropLast(9))
        #expect(throws: HeaderCoding.Failure.notGzip) { try HeaderCoding.gunzip(truncated) }
    }

    @Test("a gzip bomb in a header is refused")
    func gzipBomb() {
        let bomb = HeaderCoding.gzip([UInt8](repeating: 0x41, count: 4 << 20))
        #expect(bomb.count < 16 * 1024)
        #expect(throws: HeaderCoding.Failure.tooLarge) { try HeaderCoding.gunzip(bomb) }
    }
}
