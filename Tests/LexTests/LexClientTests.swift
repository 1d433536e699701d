import Dispatch
import Foundation
import Lex
import LexStandIn
import Logging
import Testing

/// Byte equality without Swift Testing printing both arrays on failure.
func same(_ a: [UInt8], _ b: [UInt8]) -> Bool { a == b }

/// The client against the in-process stand-in over loopback.
@Suite("Lex client against the stand-in")
struct LexClientTests {
    static let credentials = AWSCredentials(accessKeyId: "AKIDSTANDIN", secretAccessKey: "standin/secret+KEY")
    static let temporary = AWSCredentials(accessKeyId: "ASIASTANDIN", secretAccessKey: "temp/secret", sessionToken: "SESSION+token/abc==")

    static func client(_ standIn: LexStandIn, attempts: Int = 3, timeout: Double = 10,
                       logs: CapturingLogHandler.Store? = nil) -> LexClient {
        var configuration = LexClientConfiguration(endpoints: standIn.endpoints)
        configuration.maxAttempts = attempts
        configuration.requestTimeout = .seconds(timeout)
        configuration.connectTimeout = .seconds(2)
        configuration.retry.baseDelay = 0.005
        configuration.retry.maxDelay = 0.02
        configuration.retry.throttlingBaseDelay = 0.01
        configuration.retry.throttlingMaxDelay = 0.05
        configuration.signingKeyCache = SigningKeyCache()
        let store = logs ?? CapturingLogHandler.Store()
        configuration.logger = Logger(label: "lex.test") { _ in CapturingLogHandler(store: store) }
        return LexClient(configuration: configuration)
    }

    static func v2(_ input: LexInput, session: String = "call:1234.ab_cd-ef", sessionAttributes: [String: String] = [:]) -> LexRequest {
        LexRequest(target: .v2(botId: "ABCDEFGHIJ", aliasId: "TSTALIASID", localeId: "en_GB", sessionId: session),
                   region: "eu-west-2", input: input, sessionAttributes: sessionAttributes)
    }

    static func v1(_ input: LexInput, user: String = "user:42.a_b-c") -> LexRequest {
        LexRequest(target: .v1(bot: "BookTrip", alias: "$LATEST", user: user), region: "us-east-1", input: input,
                   sessionAttributes: ["caller": "447700900123"])
    }

    static let speech = LexInput.audio(pcm: LexStandIn.tone(milliseconds: 200, hertz: 300), sampleRate: 16000)

    @Test("V2 audio: signed, metadata first, audio streamed in whole samples, then completion")
    func v2Success() async throws {
        let standIn = try LexStandIn(credentials: [Self.temporary])
        standIn.setDefaultReply(.init(transcript: "book a room", intentName: "BookHotel", slots: ["City": "London"],
                                      message: "For how many nights?", dialogState: "ElicitSlot", slotToElicit: "Nights",
                                      audio: .tone(milliseconds: 700), chunkBytes: 3201))
        let client = Self.client(standIn)
        let probe = Probe()
        probe.send(client, Self.v2(Self.speech, sessionAttributes: ["caller": "447700900123"]), Self.temporary)
        let turn = try #require(await probe.result()?.turn)

        #expect(turn.inputTranscript == "book a room")
        #expect(turn.intentName == "BookHotel")
        #expect(turn.slots == ["City": "London"])
        #expect(turn.messages == [LexMessage(content: "For how many nights?")])
        #expect(turn.dialogState == "ElicitSlot" && turn.slotToElicit == "Nights" && !turn.isFinal)
        #expect(turn.sessionAttributes == ["caller": "447700900123"])
        #expect(turn.inputMode == "Speech")
        #expect(turn.contentType == "audio/pcm")
        #expect(turn.audio.isEmpty, "streamed audio is not collected twice")
        #expect(turn.audioByteCount == 700 * 32)
        #expect(same(probe.audio, LexStandIn.tone(milliseconds: 700)))
        #expect(probe.audioChunks.allSatisfy { $0.count % 2 == 0 })
        #expect(probe.events.first == .start && probe.events.last == .complete && probe.starts.count == 1)
        #expect(probe.starts.first?.intentName == "BookHotel")

        let recorded = try #require(standIn.requests.first)
        #expect(standIn.requestCount == 1)
        #expect(recorded.signature == .valid)
        #expect(recorded.api == .v2)
        #expect(recorded.target == .v2(botId: "ABCDEFGHIJ", aliasId: "TSTALIASID", localeId: "en_GB", sessionId: "call:1234.ab_cd-ef"))
        #expect(recorded.path.hasSuffix("/sessions/call%3A1234.ab_cd-ef/utterance"))
        #expect(recorded.bodyLength == 200 * 32)
        #expect(recorded.contentType == "audio/l16; rate=16000; channels=1")
        #expect(recorded.sessionAttributes == ["caller": "447700900123"])
        #expect(recorded.header("x-amz-security-token") == "SESSION+token/abc==")
    }

    @Test("V1 text, encoded and plain headers: collected audio, final turn, close attribute", arguments: [true, false])
    func v1Success(encodedHeaders: Bool) async throws {
        var configuration = LexStandIn.Configuration(credentials: [Self.credentials])
        configuration.v1EncodedHeaders = encodedHeaders
        let standIn = try LexStandIn(configuration: configuration)
        standIn.setReply(forText: "goodbye", .init(intentName: "Goodbye", message: "Bye now", dialogState: "Fulfilled",
                                                   sessionAttributes: ["nexmo-close": "true"], audio: .tone(milliseconds: 100)))
        let client = Self.client(standIn)
        let probe = Probe()
        probe.send(client, Self.v1(.text("Goodbye")), Self.credentials, streaming: false)
        let turn = try #require(await probe.result()?.turn)
        #expect(turn.api == .v1)
        #expect(turn.inputTranscript == "Goodbye")
        #expect(turn.messages == [LexMessage(content: "Bye now")])
        #expect(turn.dialogState == "Fulfilled" && turn.isFinal)
        #expect(turn.sessionAttributes == ["nexmo-close": "true"])
        #expect(same(turn.audio, LexStandIn.tone(milliseconds: 100)))
        #expect(probe.audioChunks.isEmpty)
        let recorded = try #require(standIn.requests.first)
        #expect(recorded.signature == .valid)
        #expect(recorded.inputText == "Goodbye")
        #expect(recorded.path == "/bot/BookTrip/alias/%24LATEST/user/user%3A42.a_b-c/content")
        #expect(recorded.target == .v1(bot: "BookTrip", alias: "$LATEST", user: "user:42.a_b-c"))
        #expect(recorded.header("accept") == "audio/pcm")
    }

    @Test("8 kHz audio is accepted by both APIs")
    func eightKilohertz() async throws {
        let standIn = try LexStandIn(credentials: [Self.credentials])
        let client = Self.client(standIn)
        let pcm = LexInput.audio(pcm: [UInt8](repeating: 1, count: 3200), sampleRate: 8000)
        for request in [Self.v1(pcm), Self.v2(pcm)] {
            let probe = Probe()
            probe.send(client, request, Self.credentials)
            #expect(await probe.result()?.turn != nil)
        }
        #expect(standIn.requests.map(\.contentType) == Array(repeating: LexInput.audio(pcm: [], sampleRate: 8000).contentType, count: 2))
        #expect(standIn.requests.allSatisfy { $0.replyStatus == 200 && $0.signature == .valid })
    }

    @Test("audio reaches the caller before the response has ended")
    func streamsBeforeEnd() async throws {
        let standIn = try LexStandIn(credentials: [Self.credentials])
        // Two chunks, 300 s apart: the first must arrive long before the end. The gap is long
        // because this async test's awaits resume on the cooperative pool, which the blocking
        // waits of tests running beside it can hold for tens of seconds on a 2-core machine (a
        // 30 s gap was seen to pass before the probe looked); the cancel below ends it early.
        standIn.setDefaultReply(.init(audio: .tone(milliseconds: 200), chunkBytes: 3200, chunkIntervalMilliseconds: 300_000))
        // A request deadline past the gap: the request must still be in flight when the test looks.
        let client = Self.client(standIn, timeout: 600)
        let probe = Probe()
        let handle = probe.send(client, Self.v2(.text("hi")), Self.credentials)
        #expect(await probe.firstAudio(timeout: 120))
        #expect(probe.currentResult == nil)
        #expect(probe.audio.count == 3200)
        // Cancel on the callback queue: nothing but the completion follows.
        probe.queue.sync { handle.cancel() }
        #expect(await probe.result()?.error == .cancelled)
        #expect(probe.audio.count == 3200)
        #expect(probe.completions == 1)
        #expect(standIn.waitUntil(timeout: 15) { $0.clientDisconnects == 1 })
    }

    struct FailureCase: Sendable, CustomTestStringConvertible {
        var name: String
        var reply: LexStandIn.Reply
        var expectedRequests: Int
        var check: @Sendable (LexError) -> Bool
        var audioAllowed = false
        var testDescription: String { name }
    }

    static let failureCases: [FailureCase] = [
        FailureCase(name: "403 AccessDenied, not retried", reply: .accessDenied, expectedRequests: 1) {
            if case .service(403, "AccessDeniedException", let m) = $0 { return m.contains("not authorized") }
            return false
        },
        FailureCase(name: "404 ResourceNotFound, not retried", reply: .notFound, expectedRequests: 1) {
            $0 == .service(status: 404, type: "ResourceNotFoundException", message: "Could not find the bot or alias")
        },
        FailureCase(name: "429 Throttling, retried to the limit", reply: .throttled, expectedRequests: 3) {
            $0 == .service(status: 429, type: "ThrottlingException", message: "Rate exceeded")
        },
        FailureCase(name: "500 InternalFailure, retried to the limit", reply: .internalFailure, expectedRequests: 3) {
            $0 == .service(status: 500, type: "InternalFailureException", message: "An internal error occurred")
        },
        FailureCase(name: "200 with an HTML body, not audio, not retried",
                    reply: .failing(.nonAudio(contentType: "text/html", body: "<html>proxy error</html>")), expectedRequests: 1) {
            if case .unexpectedResponse(200, "text/html", let reason) = $0 { return reason.contains("not audio/pcm") }
            return false
        },
        FailureCase(name: "connection closed without a reply, retried", reply: .failing(.closeWithoutReply), expectedRequests: 3) {
            if case .connection(52, _) = $0 { return true }  // CURLE_GOT_NOTHING
            return false
        },
        FailureCase(name: "connection lost mid-audio, not retried once audio was delivered",
                    reply: .init(audio: .tone(milliseconds: 500), failure: .truncated(afterBytes: 4000), chunkBytes: 1000),
                    expectedRequests: 1, check: {
                        if case .connection(18, _) = $0 { return true }  // CURLE_PARTIAL_FILE
                        return false
                    }, audioAllowed: true),
    ]

    @Test("failure modes map to the right LexError and retry only where they should", arguments: failureCases)
    func failures(_ failure: FailureCase) async throws {
        let standIn = try LexStandIn(credentials: [Self.credentials])
        standIn.setDefaultReply(failure.reply)
        let client = Self.client(standIn, attempts: 3)
        let probe = Probe()
        probe.send(client, Self.v2(Self.speech), Self.credentials)
        let error = try #require(await probe.result()?.error)
        #expect(failure.check(error), "got \(error)")
        #expect(standIn.requestCount == failure.expectedRequests)
        #expect(probe.completions == 1)
        if failure.audioAllowed {
            #expect(probe.starts.count == 1 && !probe.audio.isEmpty)
        } else {
            #expect(probe.starts.isEmpty, "no metadata for a failed reply")
            #expect(probe.audio.isEmpty, "an error or non-audio body is never played")
        }
    }

    @Test("retryable errors then success: the turn arrives on the third attempt")
    func retryThenSuccess() async throws {
        let standIn = try LexStandIn(credentials: [Self.credentials])
        standIn.enqueue(.throttled, .internalFailure)
        standIn.setDefaultReply(.init(message: "third time lucky", audio: .tone(milliseconds: 40)))
        let client = Self.client(standIn, attempts: 3)
        let probe = Probe()
        probe.send(client, Self.v1(Self.speech), Self.credentials)
        let turn = try #require(await probe.result()?.turn)
        #expect(turn.messageText == "third time lucky")
        #expect(turn.transfer.attempts == 3)
        #expect(standIn.requests.map(\.replyStatus) == [429, 500, 200])
        #expect(probe.starts.count == 1)
        #expect(same(probe.audio, LexStandIn.tone(milliseconds: 40)))
    }

    @Test("a wrong secret is a 403 without retry; neither the error nor any log line holds a secret")
    func wrongSecret() async throws {
        let standIn = try LexStandIn(credentials: [Self.temporary])
        let logs = CapturingLogHandler.Store()
        let client = Self.client(standIn, logs: logs)
        let wrong = AWSCredentials(accessKeyId: Self.temporary.accessKeyId, secretAccessKey: "the-wrong-secret-value",
                                   sessionToken: "SESSION+token/abc==")
        let probe = Probe()
        probe.send(client, Self.v2(Self.speech), wrong)
        let error = try #require(await probe.result()?.error)
        guard case .service(403, "InvalidSignatureException", let message) = error else {
            Issue.record("got \(error)")
            return
        }
        // The stand-in, like AWS, echoes the canonical request, token included.
        #expect(message.contains("x-amz-security-token:<redacted>"))
        #expect(!message.contains("SESSION+token/abc=="))
        #expect(standIn.requestCount == 1)
        if case .invalid = standIn.requests.first?.signature {} else { Issue.record("stand-in accepted a bad signature") }
        #expect(!logs.all.isEmpty, "the failure is logged")
        for line in logs.all + ["\(error)"] {
            #expect(!line.contains("the-wrong-secret-value") && !line.contains("SESSION+token/abc==") && !line.contains("temp/secret"), "\(line)")
        }
    }

    @Test("an unknown access key is UnrecognizedClientException")
    func unknownKey() async throws {
        let standIn = try LexStandIn(credentials: [Self.credentials])
        let client = Self.client(standIn)
        let probe = Probe()
        probe.send(client, Self.v2(.text("hi")), AWSCredentials(accessKeyId: "AKIDOTHER", secretAccessKey: "x"))
        let error = try #require(await probe.result()?.error)
        #expect(error == .service(status: 403, type: "UnrecognizedClientException", message: "The security token included in the request is invalid."))
    }

    @Test("a Lex that does not answer in time is a timeout, not retried")
    func slowLex() async throws {
        let standIn = try LexStandIn(credentials: [Self.credentials])
        standIn.setDefaultReply(LexStandIn.Reply().delayed(by: 60_000))
        let client = Self.client(standIn, attempts: 3, timeout: 0.5)
        let probe = Probe()
        probe.send(client, Self.v2(.text("hi")), Self.credentials)
        let error = try #require(await probe.result(timeout: 20)?.error)
        guard case .timeout(let what) = error else {
            Issue.record("got \(error)")
            return
        }
        #expect(what.contains("deadline"))
        #expect(!error.isRetryable)
        #expect(standIn.requestCount == 1)
        #expect(probe.starts.isEmpty && probe.audio.isEmpty)
    }

    @Test("nothing listening: connection errors, retried, then reported")
    func refused() async throws {
        // Bind a port, then close it: nothing listens there any more.
        let standIn = try LexStandIn(credentials: [Self.credentials])
        let endpoints = standIn.endpoints
        standIn.stop()
        var configuration = LexClientConfiguration(endpoints: endpoints)
        configuration.retry.baseDelay = 0.001
        let logs = CapturingLogHandler.Store()
        configuration.logger = Logger(label: "lex.test") { _ in CapturingLogHandler(store: logs) }
        let client = LexClient(configuration: configuration)
        let probe = Probe()
        probe.send(client, Self.v2(.text("hi")), Self.credentials, logMetadata: ["call": "call-42"])
        let error = try #require(await probe.result()?.error)
        guard case .connection(7, _) = error else {  // CURLE_COULDNT_CONNECT
            Issue.record("got \(error)")
            return
        }
        #expect(logs.all.filter { $0.contains("lex request retry") }.count == 2)
        #expect(logs.all.filter { $0.contains("lex request") }.count == 3, "two retries and the failure: \(logs.all)")
        #expect(logs.all.filter { $0.contains("lex request") }.allSatisfy { $0.contains("call=call-42") }, "the caller's metadata on every line")
    }

    @Test("the CA bundle option reaches curl: an unreadable bundle fails the TLS connection")
    func caBundle() async throws {
        let standIn = try LexStandIn(credentials: [Self.credentials])
        var configuration = LexClientConfiguration(endpoints: LexEndpoints(both: "https://127.0.0.1:\(standIn.port)"))
        configuration.caBundlePath = "/nonexistent/lex-ca-bundle.pem"
        configuration.maxAttempts = 1
        configuration.logger = Logger(label: "lex.test") { _ in CapturingLogHandler(store: CapturingLogHandler.Store()) }
        let client = LexClient(configuration: configuration)
        let probe = Probe()
        probe.send(client, Self.v2(.text("hi")), Self.credentials)
        let error = try #require(await probe.result()?.error)
        guard case .connection(77, _) = error else {  // CURLE_SSL_CACERT_BADFILE
            Issue.record("got \(error)")
            return
        }
        #expect(standIn.requestCount == 0)
    }

    @Test("cancel stops a request in flight: one .cancelled completion, the server sees the hang-up")
    func cancel() async throws {
        let standIn = try LexStandIn(credentials: [Self.credentials])
        standIn.setDefaultReply(LexStandIn.Reply().delayed(by: 60_000))
        let client = Self.client(standIn)
        let probe = Probe()
        let handle = probe.send(client, Self.v2(Self.speech), Self.credentials)
        #expect(standIn.waitForRequests(1, timeout: 15))
        handle.cancel()
        #expect(await probe.result()?.error == .cancelled)
        #expect(standIn.waitUntil(timeout: 15) { $0.clientDisconnects == 1 })
        handle.cancel()  // after completion: a no-op
        #expect(probe.completions == 1)
        #expect(probe.starts.isEmpty && probe.audio.isEmpty)
        #expect(client.pendingRequestCount == 0)
    }

    @Test("sequential requests reuse one connection")
    func connectionReuse() async throws {
        let standIn = try LexStandIn(credentials: [Self.credentials])
        standIn.setDefaultReply(.init(audio: .tone(milliseconds: 60)))
        let client = Self.client(standIn)
        var newConnections: [Int] = []
        for i in 0..<5 {
            let probe = Probe()
            probe.send(client, i % 2 == 0 ? Self.v2(Self.speech) : Self.v1(.text("again")), Self.credentials)
            let turn = try #require(await probe.result()?.turn)
            newConnections.append(turn.transfer.newConnections)
            #expect(turn.transfer.httpVersion == 11)
        }
        #expect(newConnections == [1, 0, 0, 0, 0])
        #expect(standIn.requests.map(\.connection) == [1, 1, 1, 1, 1])
        #expect(standIn.requests.map(\.requestOnConnection) == [1, 2, 3, 4, 5])
    }

    @Test("200 requests in flight at once on the one client thread")
    func twoHundredInFlight() async throws {
        let standIn = try LexStandIn(credentials: [Self.credentials])
        standIn.setDefaultReply(.init(message: "ok", audio: .tone(milliseconds: 20)))
        // The stand-in answers none until all 200 are being handled at once.
        standIn.holdReplies(untilConcurrent: 200, timeout: 60)
        let client = Self.client(standIn, attempts: 1, timeout: 90)
        let probes = (0..<200).map { _ in Probe() }
        for (i, probe) in probes.enumerated() {
            probe.send(client, Self.v2(.text("hello \(i)"), session: "session-\(i)"), Self.credentials)
        }
        var succeeded = 0
        var threads = Set<UInt64>()
        var failures: [String] = []
        for probe in probes {
            let result = await probe.result(timeout: 120)
            if let turn = result?.turn, turn.audioByteCount == 640 {
                succeeded += 1
                threads.insert(turn.transfer.clientThread)
            } else if failures.count < 3 {
                failures.append(result?.error.map { "\($0)" } ?? "no result")
            }
        }
        #expect(succeeded == 200, "first failures: \(failures)")
        #expect(threads.count == 1, "all transfers were driven by the client's one thread")
        #expect(standIn.maxConcurrentRequests == 200)
        #expect(standIn.requestCount == 200)
        #expect(standIn.requests.allSatisfy { $0.signature == .valid })
        #expect(Set(standIn.requests.compactMap(\.inputText)).count == 200)
    }

    @Test("webhook events go through post on the same client")
    func webhookPost() async throws {
        let standIn = try LexStandIn(credentials: [Self.credentials])
        let client = Self.client(standIn)
        let body = Array(#"{"event":"lex:turn","callId":"c1"}"#.utf8)
        let result: Result<HTTPClientResponse, HTTPClientError> = await withCheckedContinuation { continuation in
            client.http.post(url: standIn.baseURL + "/events/calls", headers: [HTTPField("Content-Type", "application/json")],
                             body: body, timeout: .seconds(10), retry: RetryPolicy(), logger: client.configuration.logger,
                             callbackQueue: DispatchQueue(label: "post")) { continuation.resume(returning: $0) }
        }
        let response = try result.get()
        #expect(response.response.status.code == 200)
        #expect(response.response.body == Array("{}".utf8))
        let recorded = try #require(standIn.requests.first)
        #expect(recorded.isWebhook && recorded.inputText == #"{"event":"lex:turn","callId":"c1"}"#)
        #expect(recorded.header("content-type") == "application/json")
    }

    @Test("the stand-in reads chunked request bodies")
    func chunkedBody() async throws {
        let standIn = try LexStandIn(credentials: [Self.credentials])
        let client = Self.client(standIn)
        let text = String(repeating: "0123456789", count: 3000)
        let result: Result<HTTPClientResponse, HTTPClientError> = await withCheckedContinuation { continuation in
            client.http.post(url: standIn.baseURL + "/events/chunked",
                             headers: [HTTPField("Content-Type", "text/plain"), HTTPField("Transfer-Encoding", "chunked")],
                             body: Array(text.utf8), timeout: .seconds(10), retry: RetryPolicy(), logger: client.configuration.logger,
                             callbackQueue: DispatchQueue(label: "post")) { continuation.resume(returning: $0) }
        }
        #expect(try result.get().response.status.code == 200)
        let recorded = try #require(standIn.requests.first)
        #expect(recorded.chunkedBody)
        #expect(recorded.bodyLength == 30_000 && recorded.inputText == text)
    }

    @Test("shutdown fails requests in flight with .shutdown, and later ones too")
    func shutdown() async throws {
        let standIn = try LexStandIn(credentials: [Self.credentials])
        standIn.setDefaultReply(LexStandIn.Reply().delayed(by: 60_000))
        let client = Self.client(standIn)
        let probe = Probe()
        probe.send(client, Self.v2(.text("hi")), Self.credentials)
        #expect(standIn.waitForRequests(1, timeout: 15))
        client.shutdown()
        #expect(await probe.result()?.error == .shutdown)
        let late = Probe()
        late.send(client, Self.v2(.text("hi")), Self.credentials)
        #expect(await late.result()?.error == .shutdown)
    }

    @Test("invalid requests complete with .invalidRequest without reaching the network")
    func invalidRequest() async throws {
        let standIn = try LexStandIn(credentials: [Self.credentials])
        let client = Self.client(standIn)
        let probe = Probe()
        probe.send(client, Self.v2(.text("hi"), session: "bad/session"), Self.credentials)
        guard case .invalidRequest? = await probe.result()?.error else {
            Issue.record("expected invalidRequest")
            return
        }
        #expect(standIn.requestCount == 0)
    }
}

@Suite("Lex stand-in details")
struct LexStandInTests {
    @Test("HTTP dates are IMF-fixdate", arguments: [
        (784_111_777.0, "Sun, 06 Nov 1994 08:49:37 GMT"),
        (0.0, "Thu, 01 Jan 1970 00:00:00 GMT"),
        (1_709_164_800.0, "Thu, 29 Feb 2024 00:00:00 GMT"),
    ])
    func httpDate(_ seconds: Double, _ text: String) {
        #expect(LexStandIn.httpDate(Date(timeIntervalSince1970: seconds)) == text)
    }

    @Test("the tone is 16 kHz 16-bit little-endian PCM of the asked length")
    func tone() {
        let pcm = LexStandIn.tone(milliseconds: 250)
        #expect(pcm.count == 250 * 32)
        let samples = stride(from: 0, to: pcm.count, by: 2).map { Int16(bitPattern: UInt16(pcm[$0]) | UInt16(pcm[$0 + 1]) << 8) }
        #expect(samples.max() ?? 0 > 7000 && samples.min() ?? 0 < -7000)
        #expect(samples[0] == 0)
    }

    @Test("requests signed for another service or with a stale date are refused")
    func signatureChecks() async throws {
        let creds = LexClientTests.credentials
        var configuration = LexStandIn.Configuration(credentials: [creds])
        // The stand-in's clock runs a day ahead: every signature is stale.
        configuration.now = { Date(timeIntervalSinceNow: 86_400) }
        let standIn = try LexStandIn(configuration: configuration)
        let client = LexClientTests.client(standIn, attempts: 1)
        let probe = Probe()
        probe.send(client, LexClientTests.v2(.text("hi")), creds)
        guard case .service(403, "InvalidSignatureException", let message)? = await probe.result()?.error else {
            Issue.record("expected a 403")
            return
        }
        #expect(message.contains("Signature expired"))
    }
}
