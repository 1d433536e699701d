import CNghttp2
import Foundation
@testable import Lex
@testable import LexStandIn
import Testing

/// `HTTPField` on HTTP/2: names handed to nghttp2 in lower case (RFC 9113 §8.2.1) whatever the
/// caller's case, sensitive fields never-indexed (RFC 7541 §7.1.3) and redacted in descriptions.
@Suite struct HTTP2FieldTests {
    /// The name-value pairs as nghttp2 would read them: (name, value, never-indexed).
    private func nameValues(_ fields: HTTPFields) -> [(String, String, Bool)] {
        HTTP2NameValues.with(fields) { nva in
            nva.map { nv in
                (String(decoding: UnsafeBufferPointer(start: nv.name, count: nv.namelen), as: UTF8.self),
                 String(decoding: UnsafeBufferPointer(start: nv.value, count: nv.valuelen), as: UTF8.self),
                 nv.flags & UInt8(NGHTTP2_NV_FLAG_NO_INDEX.rawValue) != 0)
            }
        }
    }

    @Test func namesGoToNghttp2InLowerCaseAndValuesAsGiven() {
        let out = nameValues([HTTPField(":path", "/Bots/B1"), HTTPField("Content-Type", "Application/JSON"),
                              HTTPField("X-Amz-Lex-Conversation-Mode", "AUDIO"), HTTPField("x-amz-date", "20261130T000000Z")])
        #expect(out.map(\.0) == [":path", "content-type", "x-amz-lex-conversation-mode", "x-amz-date"])
        #expect(out.map(\.1) == ["/Bots/B1", "Application/JSON", "AUDIO", "20261130T000000Z"])
        #expect(out.allSatisfy { !$0.2 })
    }

    @Test func sensitiveFieldsAreNeverIndexedInAnyCase() {
        let out = nameValues([HTTPField("Authorization", "AWS4-HMAC-SHA256 Signature=abc"), HTTPField("X-Amz-Security-Token", "T"),
                              HTTPField("cookie", "c=1"), HTTPField("content-type", "text/plain")])
        #expect(out.map(\.0) == ["authorization", "x-amz-security-token", "cookie", "content-type"])
        #expect(out.map(\.2) == [true, true, true, false])
    }

    @Test func descriptionsRedactSensitiveValues() {
        let fields: HTTPFields = [HTTPField("Authorization", "AWS4-HMAC-SHA256 Signature=abc"), HTTPField("X-AMZ-SECURITY-TOKEN", "T"),
                                  HTTPField("Content-Type", "text/plain")]
        #expect(fields.map(\.isSensitive) == [true, true, false])
        #expect(fields.map(\.description) == ["Authorization: <redacted>", "X-AMZ-SECURITY-TOKEN: <redacted>", "Content-Type: text/plain"])
        #expect("\(fields)" == "[Authorization: <redacted>, X-AMZ-SECURITY-TOKEN: <redacted>, Content-Type: text/plain]")
        #expect(!"\(Array(fields))".contains("Signature=abc"))
    }

    /// Mixed-case names both ways over a real h2c connection: the request's fields reach the
    /// stand-in, and the stand-in's response fields and trailers reach the client, in lower case.
    @Test func mixedCaseNamesCrossTheWireInLowerCase() throws {
        let seen = Seen()
        let server = try HTTP2StandInServer { stream in
            seen.set(stream.headers)
            stream.respond(status: 200, headers: [HTTPField("Content-Type", stream.header("CONTENT-TYPE") ?? "none"),
                                                  HTTPField("X-Amzn-RequestId", "R-1")])
            stream.onEnd = { stream.finish(trailers: [HTTPField("X-Echo-Bytes", "0")]) }
        }
        defer { server.stop() }
        let client = HTTP2Client()
        defer { client.shutdown() }
        let recorder = StreamRecorder()
        let stream = try client.open(url: "http://127.0.0.1:\(server.port)/", headers: [HTTPField("Content-Type", "Application/Vnd.Amazon.EventStream"),
                                                                                          HTTPField("X-Amz-Lex-Conversation-Mode", "AUDIO")],
                                     queue: recorder.queue, handlers: recorder.handlers)
        stream.finish()
        #expect(recorder.waitEnd() == .some(nil))
        #expect(seen.value == [HTTPField("content-type", "Application/Vnd.Amazon.EventStream"), HTTPField("x-amz-lex-conversation-mode", "AUDIO")])
        let r = recorder.received
        #expect(r.status == 200)
        #expect(r.headers == [HTTPField("content-type", "Application/Vnd.Amazon.EventStream"), HTTPField("x-amzn-requestid", "R-1")])
        #expect(r.trailers == [HTTPField("x-echo-bytes", "0")])
    }

    final class Seen: @unchecked Sendable {
        private let lock = NSLock()
        private var fields: HTTPFields = []
        func set(_ f: HTTPFields) { lock.withLock { fields = f } }
        var value: HTTPFields { lock.withLock { fields } }
    }
}
