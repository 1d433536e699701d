import Foundation
import Testing

@testable import Lex

@Suite("SigV4 event stream signing")
struct SigV4EventSignerTests {
    static let example = AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")

    /// aws-sdk-go `aws/signer/v4/stream_test.go` (TestStreamingChunkSigner):
    /// the chain over arbitrary "headers" and payload bytes from a given seed.
    @Test("aws-sdk-go vector: two chained signatures from a seed")
    func goVector() {
        let signer = SigV4Signer(credentials: Self.example, region: "us-east-1", service: "transcribe",
                                 keyCache: SigningKeyCache())
        let date = SigV4Date(amzDate: "20190127T223754Z")!
        var previous = unhex("9d9ab996c81f32c9d4e6fc166c92584f3741d1cb5ce325cd11a77d1f962c8de2")
        let chunks: [(String, String, String)] = [
            ("headers", "payload", "681a7eaa82891536f24af7ec7e9219ee251ccd9bac2f1b981eab7c5ec8579115"),
            ("more headers", "more payload", "07633d9d4ab4d81634a2164934d1f648c7cbc6839a8cf0773d818127a267e4d6"),
        ]
        for (headers, payload, expected) in chunks {
            let signature = SigV4EventSigner.signature(
                signer: signer, dateHeader: Array(headers.utf8), payload: Array(payload.utf8),
                previousSignature: previous, date: date)
            #expect(Digest.hex(signature) == expected)
            previous = signature
        }
    }

    /// aws-sdk-js-v3 `packages/signature-v4/src/SignatureV4.spec.ts` "support event
    /// signing" (adopted from aws-sdk-ruby's signer_spec): an empty prior signature.
    @Test("aws-sdk-js-v3 / aws-sdk-ruby vector: an event signed with an empty prior signature")
    func jsVector() {
        let signer = SigV4Signer(credentials: AWSCredentials(accessKeyId: "akid", secretAccessKey: "secret"),
                                 region: "REGION", service: "SERVICE", keyCache: SigningKeyCache())
        let date = SigV4Date(unixSeconds: 1_369_353_600)  // new Date(1369353600000)
        let headers: [UInt8] = [5, 58, 100, 97, 116, 101, 8, 0, 0, 1, 103, 247, 125, 87, 112]
        let signature = SigV4EventSigner.signature(signer: signer, dateHeader: headers, payload: Array("foo".utf8),
                                                   previousSignature: [], date: date)
        #expect(Digest.hex(signature) == "204bb5e2713e95354680e9522986d3ac0304aeafd33397f39e6540ca51ffe226")
    }

    /// smithy-rs `aws/rust-runtime/aws-sigv4/src/event_stream.rs` (string_to_sign):
    /// the whole string to sign of an encoded message, which also checks our
    /// `:date` header bytes and our encoding of the inner message.
    @Test("smithy-rs vector: the string to sign of an encoded event")
    func rustVector() throws {
        let date = SigV4Date(unixSeconds: 123_456_789)
        let event = EventStreamMessage(headers: [EventStreamHeader("some-header", .string("value"))],
                                       payload: Array("test payload".utf8))
        let sts = SigV4EventSigner.stringToSign(
            scope: "19731129/us-east-1/testservice/aws4_request", dateHeader: SigV4EventSigner.dateHeader(date),
            payload: try event.encoded(), previousSignature: Digest.sha256("last message sts"), date: date)
        #expect(sts == """
            AWS4-HMAC-SHA256-PAYLOAD
            19731129T213309Z
            19731129/us-east-1/testservice/aws4_request
            be1f8c7d79ef8e1abc5254a2c70e4da3bfaf4f07328f527444e1fc6ea67273e2
            0c0e3b3bf66b59b976181bd7d401927bbd624107303c713fd1e5f3d3c8dd1b1e
            f2eba0f2e95967ee9fbc6db5e678d2fd599229c0d04b11e4fc8e0f2a02a806c6
            """)
    }

    @Test("the chained signer equals the stage functions, across second and day boundaries")
    func chainMatchesStages() {
        let signer = SigV4Signer(credentials: Self.example, region: "us-east-1", service: "transcribe",
                                 keyCache: SigningKeyCache())
        let seed = unhex("9d9ab996c81f32c9d4e6fc166c92584f3741d1cb5ce325cd11a77d1f962c8de2")
        var events = SigV4EventSigner(signer: signer, seed: seed)
        var previous = seed
        for (i, seconds) in [Int64(86_399), 86_399, 86_400, 86_400, 86_401].enumerated() {
            let date = SigV4Date(unixSeconds: seconds)
            let payload = [UInt8](repeating: UInt8(i), count: i * 10)
            let signed = events.sign(payload: payload, date: date)
            let expected = SigV4EventSigner.signature(signer: signer, dateHeader: SigV4EventSigner.dateHeader(date),
                                                      payload: payload, previousSignature: previous, date: date)
            #expect(signed.header(":chunk-signature") == .byteArray(expected), "event \(i)")
            #expect(events.previousSignature == expected)
            previous = expected
        }
    }

    @Test("the opening request signs STREAMING-AWS4-HMAC-SHA256-EVENTS and sends it as X-Amz-Content-SHA256")
    func openingRequest() throws {
        let signer = SigV4Signer(credentials: Self.example, region: "eu-west-2", keyCache: SigningKeyCache())
        let request = SigV4Request(
            method: "POST", path: "/bots/ABCDEFGHIJ/botAliases/TSTALIASID/botLocales/en_GB/sessions/s1/conversation",
            headers: [HTTPField("Host", "runtime-v2-lex.eu-west-2.amazonaws.com"),
                      HTTPField("Content-Type", "application/vnd.amazon.eventstream"),
                      HTTPField("X-Amz-Lex-Conversation-Mode", "AUDIO")])
        let date = SigV4Date(unixSeconds: 1_700_000_000)
        let signed = signer.signed(request, payload: .streamingEvents, date: date)
        #expect(signed.header("X-Amz-Content-SHA256") == "STREAMING-AWS4-HMAC-SHA256-EVENTS")
        let canonical = signer.canonicalRequest(signer.prepared(request, payload: .streamingEvents, date: date),
                                                payloadHash: SigV4Payload.streamingEvents.hexHash)
        #expect(canonical.hasSuffix("\nSTREAMING-AWS4-HMAC-SHA256-EVENTS"))
        #expect(canonical.contains("\nx-amz-content-sha256:STREAMING-AWS4-HMAC-SHA256-EVENTS\n"))
        // The same stages as any request: identical to a precomputed hash with the header set by hand.
        var byHand = request
        byHand.headers.append(HTTPField("X-Amz-Content-SHA256", "STREAMING-AWS4-HMAC-SHA256-EVENTS"))
        let manual = signer.signed(byHand, payload: .hash("STREAMING-AWS4-HMAC-SHA256-EVENTS"), date: date)
        #expect(manual.header("Authorization") == signed.header("Authorization"))
        let authorization = try #require(signed.header("Authorization"))
        let seed = try #require(SigV4EventSigner.signature(fromAuthorization: authorization))
        #expect(seed.count == 64)
        #expect(SigV4EventSigner(signer: signer, seedSignature: seed) != nil)
        #expect(SigV4EventSigner(signer: signer, seedSignature: "abc") == nil)
        #expect(SigV4EventSigner.signature(fromAuthorization: "AWS4-HMAC-SHA256 Credential=x") == nil)
    }

    /// A signer and a verifier over the same chain: three events and the end.
    func chain(secret: String = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY") throws -> (seed: String, frames: [EventStreamMessage]) {
        let signer = SigV4Signer(credentials: AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: secret),
                                 region: "us-east-1", keyCache: SigningKeyCache())
        let seed = String(repeating: "ab", count: 32)
        var events = try #require(SigV4EventSigner(signer: signer, seedSignature: seed))
        var frames: [EventStreamMessage] = []
        for (i, text) in ["one", "two", "three"].enumerated() {
            let event = EventStreamMessage(headers: [EventStreamHeader(":event-type", .string("TextInputEvent"))],
                                           payload: Array(text.utf8))
            let wire = try events.signedFrame(event, date: SigV4Date(unixSeconds: 1_700_000_000 + Int64(i)))
            frames += try EventStreamDecoder.decodeAll(wire)
        }
        frames += try EventStreamDecoder.decodeAll(events.endOfStreamFrame(date: SigV4Date(unixSeconds: 1_700_000_009)))
        return (seed, frames)
    }

    func verifier(_ seed: String) -> SigV4EventVerifier {
        SigV4EventVerifier(signer: SigV4Signer(credentials: Self.example, region: "us-east-1", keyCache: SigningKeyCache()),
                           seedSignature: seed)!
    }

    @Test("a signed chain verifies: the inner events come out, then the end of the stream")
    func chainVerifies() throws {
        let (seed, frames) = try chain()
        #expect(frames.count == 4)
        #expect(frames[0].headers.map(\.name) == [":date", ":chunk-signature"])
        #expect(frames[0].header(":date") == .timestamp(1_700_000_000_000))
        var v = verifier(seed)
        var texts: [String] = []
        for frame in frames.dropLast() {
            guard case .event(let inner) = try v.verify(frame, now: SigV4Date(unixSeconds: 1_700_000_100)) else {
                Issue.record("not an event")
                return
            }
            texts += try EventStreamDecoder.decodeAll(inner).map { String(decoding: $0.payload, as: UTF8.self) }
        }
        #expect(texts == ["one", "two", "three"])
        #expect(try v.verify(frames[3]) == .endOfStream)
        #expect(v.ended && v.verifiedCount == 4)
        #expect(throws: EventSignatureError.afterEndOfStream(index: 4)) { _ = try v.verify(frames[0]) }
    }

    @Test("a broken chain is refused: wrong secret, wrong seed, reordered, altered, missing or extra headers, stale date")
    func chainRefused() throws {
        let (seed, frames) = try chain()
        let (_, otherSecret) = try chain(secret: "another secret")
        var v1 = verifier(seed)
        #expect(throws: EventSignatureError.signatureMismatch(index: 0)) { _ = try v1.verify(otherSecret[0]) }
        // Once broken, it stays broken.
        #expect(throws: EventSignatureError.signatureMismatch(index: 0)) { _ = try v1.verify(frames[0]) }

        var v2 = verifier(String(repeating: "cd", count: 32))
        #expect(throws: EventSignatureError.signatureMismatch(index: 0)) { _ = try v2.verify(frames[0]) }

        var v3 = verifier(seed)
        _ = try v3.verify(frames[0])
        #expect(throws: EventSignatureError.signatureMismatch(index: 1)) { _ = try v3.verify(frames[2]) }

        var altered = frames[0]
        altered.payload[altered.payload.count - 1] ^= 1
        var v4 = verifier(seed)
        #expect(throws: EventSignatureError.signatureMismatch(index: 0)) { _ = try v4.verify(altered) }

        var redated = frames[0]
        redated.headers[0].value = .timestamp(1_700_000_000_001)
        var v5 = verifier(seed)
        #expect(throws: EventSignatureError.signatureMismatch(index: 0)) { _ = try v5.verify(redated) }

        var noDate = frames[0]
        noDate.headers.removeFirst()
        var v6 = verifier(seed)
        #expect(throws: EventSignatureError.missingDate(index: 0)) { _ = try v6.verify(noDate) }

        var shortSignature = frames[0]
        shortSignature.headers[1].value = .byteArray([1, 2, 3])
        var v7 = verifier(seed)
        #expect(throws: EventSignatureError.missingSignature(index: 0)) { _ = try v7.verify(shortSignature) }

        var extra = frames[0]
        extra.headers.append(EventStreamHeader(":event-type", .string("AudioInputEvent")))
        var v8 = verifier(seed)
        #expect(throws: EventSignatureError.unexpectedHeaders(index: 0, names: [":date", ":chunk-signature", ":event-type"])) {
            _ = try v8.verify(extra)
        }

        var v9 = verifier(seed)
        #expect(throws: EventSignatureError.dateOutOfRange(index: 0, skewSeconds: -301)) {
            _ = try v9.verify(frames[0], now: SigV4Date(unixSeconds: 1_700_000_301))
        }
        #expect(!EventSignatureError.signatureMismatch(index: 3).description.isEmpty)
    }
}
