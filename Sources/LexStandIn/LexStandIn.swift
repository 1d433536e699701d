import COpenSSL
import Foundation
import Lex

/// An in-process Amazon Lex for tests: HTTP/1.1 on 127.0.0.1 (port chosen by
/// the system) speaking V2 RecognizeUtterance and V1 PostContent.
///
/// It checks each request's SigV4 signature against the configured
/// credentials (403 with a Lex-style error otherwise), the content types and
/// the ids; answers with 16 kHz 16-bit PCM streamed in chunks and the headers
/// Lex sends (V1 plain or `x-amz-lex-encoded-*`, V2 gzip+base64); records
/// every request; and replies as scripted (per input text, in sequence, or by
/// default), including failures. Requests under `/events` are accepted as
/// webhook posts (200, recorded, no signature). Thread-safe.
///
///     let lex = try LexStandIn(credentials: [creds])
///     lex.setReply(forText: "goodbye", .init(message: "Bye", dialogState: "Fulfilled",
///                                             sessionAttributes: ["nexmo-close": "true"]))
///     let client = LexClient(configuration: .init(endpoints: lex.endpoints))
public final class LexStandIn: @unchecked Sendable {
    public struct Configuration: Sendable {
        /// Requests must be signed by one of these (matched by access key id;
        /// a session token, when set, must be sent and signed).
        public var credentials: [AWSCredentials]
        /// When false every request is accepted unsigned.
        public var verifySignatures = true
        /// Largest accepted difference between X-Amz-Date and `now()`.
        public var allowedClockSkewSeconds: Double = 900
        public var now: @Sendable () -> Date = { Date() }
        /// V1: send `x-amz-lex-encoded-message`/`-input-transcript` (base64)
        /// rather than the plain headers.
        public var v1EncodedHeaders = true
        /// The reply when no rule or queued reply applies.
        public var defaultReply = Reply()
        /// TCP port on 127.0.0.1; 0 (tests) lets the system choose a free one.
        public var port: UInt16 = 0

        public init(credentials: [AWSCredentials]) {
            self.credentials = credentials
        }
    }

    /// One request as received.
    public struct RecordedRequest: Sendable {
        public enum SignatureCheck: Sendable, Equatable {
            case valid
            case missing
            case invalid(String)
        }

        /// 1, 2, 3... over the stand-in's life.
        public var sequence: Int
        /// Which TCP connection (1, 2, ... in accept order) carried it.
        public var connection: Int
        /// 1 for the first request on its connection.
        public var requestOnConnection: Int
        public var method: String
        /// As on the wire (percent-encoded).
        public var path: String
        public var query: String
        public var headers: [HTTPHeader]
        public var bodyLength: Int
        public var chunkedBody: Bool
        /// Text input (and webhook bodies), nil for audio.
        public var inputText: String?
        public var api: LexAPI?
        public var isWebhook: Bool
        /// Decoded ids.
        public var target: LexTarget?
        public var contentType: String?
        public var signature: SignatureCheck
        /// V1 header or V2 session state's `sessionAttributes`.
        public var sessionAttributes: [String: String]
        public var requestAttributes: [String: String]
        /// V2: the decoded session state header.
        public var sessionStateJSON: String?
        /// Status the stand-in answered (0 when it closed without reply).
        public var replyStatus: Int
        /// CLOCK_MONOTONIC nanoseconds when the whole request had arrived, and when the
        /// stand-in began its answer (before any `firstByteDelayMilliseconds`); 0 for rejects.
        public var receivedAt: UInt64 = 0
        public var respondedAt: UInt64 = 0

        public func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    public let configuration: Configuration
    /// `http://127.0.0.1:PORT`
    public let baseURL: String
    public var endpoints: LexEndpoints { LexEndpoints(both: baseURL) }
    public var port: UInt16 { server?.port ?? 0 }

    private var server: LoopbackHTTPServer?
    private let state = NSCondition()
    private var defaultReply: Reply
    private var queued: [Reply] = []
    private var rules: [String: Reply] = [:]
    private var records: [RecordedRequest] = []
    private var disconnects = 0
    private var handling = 0
    private var maxHandling = 0
    private var barrier: (count: Int, timeout: Double)?
    private var barrierOpen = false

    public convenience init(credentials: [AWSCredentials]) throws {
        try self.init(configuration: Configuration(credentials: credentials))
    }

    public init(configuration: Configuration) throws {
        self.configuration = configuration
        self.defaultReply = configuration.defaultReply
        let box = WeakBox()
        let server = try LoopbackHTTPServer(port: configuration.port) { request, connection in
            guard let standIn = box.value else { return false }
            return standIn.handle(request, connection)
        }
        self.server = server
        self.baseURL = "http://127.0.0.1:\(server.port)"
        box.value = self
    }

    deinit {
        server?.stop()
    }

    /// Closes the listener and all connections.
    public func stop() {
        server?.stop()
    }

    // MARK: Script

    public func setDefaultReply(_ reply: Reply) {
        locked { defaultReply = reply }
    }

    /// The reply to text input equal to `text` (case and surrounding
    /// whitespace ignored), when no queued reply is pending.
    public func setReply(forText text: String, _ reply: Reply) {
        locked { rules[Self.key(text)] = reply }
    }

    /// Replies used in order, one per Lex request, before rules and default.
    public func enqueue(_ replies: Reply...) {
        locked { queued.append(contentsOf: replies) }
    }

    /// Holds every Lex reply until `count` requests are being handled at
    /// once (then all go), failing them with 500 after `timeout` seconds.
    /// Proves that a client really has that many requests in flight.
    public func holdReplies(untilConcurrent count: Int, timeout: Double = 30) {
        locked {
            barrier = (count, timeout)
            barrierOpen = false
        }
    }

    // MARK: Observation

    public var requests: [RecordedRequest] { locked { records } }
    public var requestCount: Int { locked { records.count } }
    /// Connections the client closed while the stand-in was still replying.
    public var clientDisconnects: Int { locked { disconnects } }
    /// Most Lex requests handled at the same time.
    public var maxConcurrentRequests: Int { locked { maxHandling } }
    public var openConnections: Int { server?.openConnections ?? 0 }

    /// Waits until `predicate` holds (checked on every recorded event) or
    /// `timeout` seconds pass. Returns whether it held.
    @discardableResult
    public func waitUntil(timeout: Double = 5, _ predicate: (LexStandIn) -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        state.lock()
        defer { state.unlock() }
        while true {
            state.unlock()
            let done = predicate(self)
            state.lock()
            if done { return true }
            if !state.wait(until: min(deadline, Date(timeIntervalSinceNow: 0.05))) && Date() >= deadline {
                state.unlock()
                let last = predicate(self)
                state.lock()
                return last
            }
        }
    }

    /// Waits until at least `count` requests were recorded.
    @discardableResult
    public func waitForRequests(_ count: Int, timeout: Double = 5) -> Bool {
        waitUntil(timeout: timeout) { $0.requestCount >= count }
    }

    private func locked<R>(_ body: () throws -> R) rethrows -> R {
        state.lock()
        defer { state.unlock() }
        return try body()
    }

    private func changed(_ body: () -> Void) {
        state.lock()
        body()
        state.broadcast()
        state.unlock()
    }

    /// CLOCK_MONOTONIC in nanoseconds (the clock of `RecordedRequest.receivedAt`).
    public static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    static func key(_ text: String) -> String {
        text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    // MARK: Request handling (connection threads)

    private func handle(_ request: ReceivedHTTPRequest, _ connection: LoopbackHTTPServer.Connection) -> Bool {
        let receivedAt = Self.monotonicNanoseconds()
        var record = RecordedRequest(
            sequence: 0, connection: connection.number, requestOnConnection: connection.requestsServed,
            method: request.method, path: request.path, query: request.query,
            headers: request.headers.map { HTTPHeader($0.name, $0.value) }, bodyLength: request.body.count,
            chunkedBody: request.chunked, inputText: nil, api: nil, isWebhook: false, target: nil,
            contentType: request.header("content-type"), signature: .missing, sessionAttributes: [:],
            requestAttributes: [:], sessionStateJSON: nil, replyStatus: 0)
        record.receivedAt = receivedAt
        let route = Route(method: request.method, path: request.path)

        if case .webhook = route {
            record.isWebhook = true
            record.inputText = String(decoding: request.body.prefix(1 << 20), as: UTF8.self)
            record.replyStatus = 200
            append(record)
            return connection.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
        }
        guard case .lex(let api, let target) = route else {
            return reject(record, connection, status: 404, type: "UnknownOperationException",
                          message: "No Lex operation at \(request.method) \(request.path)")
        }
        record.api = api
        record.target = target

        if configuration.verifySignatures || request.header("authorization") != nil {
            record.signature = verifySignature(request)
        }
        if configuration.verifySignatures, record.signature != .valid {
            let (type, message): (String, String)
            switch record.signature {
            case .missing: (type, message) = ("MissingAuthenticationTokenException", "Missing Authentication Token")
            case .invalid(let why) where why.hasPrefix("UnrecognizedClient"):
                (type, message) = ("UnrecognizedClientException", "The security token included in the request is invalid.")
            case .invalid(let why): (type, message) = ("InvalidSignatureException", why)
            case .valid: (type, message) = ("", "")
            }
            return reject(record, connection, status: 403, type: type, message: message)
        }

        let contentType = Self.normalizedMediaType(request.header("content-type") ?? "")
        let isText = contentType == "text/plain;charset=utf-8"
        guard isText || Self.audioTypes.contains(contentType) else {
            return reject(record, connection, status: 415, type: "UnsupportedMediaTypeException",
                          message: "Invalid Content-Type header: \(request.header("content-type") ?? "none")")
        }
        let responseType = Self.normalizedMediaType(
            (api == .v2 ? request.header("response-content-type") : request.header("accept")) ?? "")
        guard responseType == "audio/pcm" else {
            return reject(record, connection, status: 406, type: "NotAcceptableException",
                          message: "Only audio/pcm replies are served by the stand-in, not \(responseType)")
        }
        if isText {
            guard let text = String(validating: request.body, as: UTF8.self), !text.isEmpty, text.count <= 1024 else {
                return reject(record, connection, status: 400, type: "BadRequestException",
                              message: "Text input must be 1 to 1024 UTF-8 characters")
            }
            record.inputText = text
        } else {
            let perSecond = contentType.contains("8000") ? 16_000 : 32_000
            guard !request.body.isEmpty, request.body.count % 2 == 0, request.body.count <= 15 * perSecond else {
                return reject(record, connection, status: 400, type: "BadRequestException",
                              message: "Audio must be 16-bit PCM of at most 15 seconds")
            }
        }
        if let failure = decodeAttributes(request, api: api, into: &record) {
            return reject(record, connection, status: 400, type: "BadRequestException", message: failure)
        }
        return reply(request, record, api: api, connection)
    }

    static let audioTypes: Set<String> = [
        "audio/l16;rate=16000;channels=1",
        "audio/x-l16;sample-rate=16000;channel-count=1",
        "audio/lpcm;sample-rate=8000;sample-size-bits=16;channel-count=1;is-big-endian=false",
        "audio/lpcm;sample-rate=16000;sample-size-bits=16;channel-count=1;is-big-endian=false",
    ]

    static func normalizedMediaType(_ value: String) -> String {
        value.lowercased().filter { !$0.isWhitespace }
    }

    private func decodeAttributes(_ request: ReceivedHTTPRequest, api: LexAPI, into record: inout RecordedRequest) -> String? {
        switch api {
        case .v2:
            if let value = request.header("x-amz-lex-session-state") {
                guard let json = LexHeaderEncoding.gunzipBase64(value),
                    LexHeaderEncoding.stringMap(fromJSON: json) != nil
                else { return "x-amz-lex-session-state must be gzip+base64 JSON" }
                record.sessionStateJSON = json
                record.sessionAttributes = LexHeaderEncoding.stringMap(fromJSON: json, key: "sessionAttributes") ?? [:]
            }
            if let value = request.header("x-amz-lex-request-attributes") {
                guard let json = LexHeaderEncoding.gunzipBase64(value),
                    let attributes = LexHeaderEncoding.stringMap(fromJSON: json)
                else { return "x-amz-lex-request-attributes must be gzip+base64 JSON" }
                record.requestAttributes = attributes
            }
        case .v1:
            for (name, v1) in [("x-amz-lex-session-attributes", true), ("x-amz-lex-request-attributes", false)] {
                guard let value = request.header(name) else { continue }
                guard let json = LexHeaderEncoding.unbase64(value),
                    let map = LexHeaderEncoding.stringMap(fromJSON: json)
                else { return "\(name) must be base64 JSON" }
                if v1 { record.sessionAttributes = map } else { record.requestAttributes = map }
            }
        }
        return nil
    }

    private func nextReply(forText text: String?) -> Reply {
        locked {
            if !queued.isEmpty { return queued.removeFirst() }
            if let text, let rule = rules[Self.key(text)] { return rule }
            return defaultReply
        }
    }

    private func append(_ record: RecordedRequest) {
        changed {
            var record = record
            record.sequence = records.count + 1
            records.append(record)
        }
    }

    private func reject(_ record: RecordedRequest, _ connection: LoopbackHTTPServer.Connection,
                        status: Int, type: String, message: String) -> Bool {
        var record = record
        record.replyStatus = status
        append(record)
        return writeError(connection, status: status, type: type, message: message)
    }

    private func writeError(_ connection: LoopbackHTTPServer.Connection, status: Int, type: String, message: String) -> Bool {
        let body = "{\"message\":" + LexHeaderEncoding.jsonString(message) + "}"
        let head = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
            + "x-amzn-RequestId: \(UUID().uuidString.lowercased())\r\n"
            + "x-amzn-ErrorType: \(type):http://internal.amazon.com/coral/com.amazonaws.deepsense.runtime/\r\n"
            + "Date: \(Self.httpDate(configuration.now()))\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
        return connection.write(head + body)
    }

    private func reply(_ request: ReceivedHTTPRequest, _ recordIn: RecordedRequest, api: LexAPI,
                       _ connection: LoopbackHTTPServer.Connection) -> Bool {
        var record = recordIn
        let reply = nextReply(forText: record.inputText)
        switch reply.failure {
        case .error(let status, _, _)?: record.replyStatus = status
        case .closeWithoutReply?: record.replyStatus = 0
        default: record.replyStatus = 200
        }
        record.respondedAt = Self.monotonicNanoseconds()
        append(record)

        // Concurrency accounting and the optional barrier.
        let released: Bool = {
            state.lock()
            defer { state.unlock() }
            handling += 1
            maxHandling = max(maxHandling, handling)
            state.broadcast()
            guard let barrier, !barrierOpen else { return true }
            let deadline = Date(timeIntervalSinceNow: barrier.timeout)
            while handling < barrier.count && !barrierOpen {
                if !state.wait(until: deadline) { break }
            }
            if handling >= barrier.count { barrierOpen = true }
            state.broadcast()
            return barrierOpen
        }()
        defer { changed { handling -= 1 } }
        if !released {
            return writeError(connection, status: 500, type: "InternalFailureException",
                              message: "stand-in barrier: fewer than the expected concurrent requests arrived")
        }

        if reply.firstByteDelayMilliseconds > 0, !connection.wait(milliseconds: reply.firstByteDelayMilliseconds) {
            changed { disconnects += 1 }
            return false
        }
        switch reply.failure {
        case .error(let status, let type, let message)?:
            return writeError(connection, status: status, type: type, message: message)
        case .closeWithoutReply?:
            return false
        case .nonAudio(let contentType, let body)?:
            return connection.write("HTTP/1.1 200 OK\r\nx-amzn-RequestId: \(UUID().uuidString.lowercased())\r\n"
                + "Content-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        case .truncated, nil:
            break
        }
        let audio = reply.audioBytes()
        var head = "HTTP/1.1 200 OK\r\n"
        for (name, value) in metadataHeaders(reply, record: record, api: api) {
            head += "\(name): \(value)\r\n"
        }
        if case .truncated(let after)? = reply.failure {
            head += "Content-Length: \(audio.count)\r\n\r\n"
            guard connection.write(head) else { return false }
            connection.write(Array(audio.prefix(after)))
            return false
        }
        head += "Transfer-Encoding: chunked\r\n\r\n"
        guard connection.write(head) else {
            changed { disconnects += 1 }
            return false
        }
        var offset = 0
        while offset < audio.count {
            let end = min(audio.count, offset + reply.chunkBytes)
            var chunk = Array(String(end - offset, radix: 16).utf8) + [13, 10]
            chunk += audio[offset..<end]
            chunk += [13, 10]
            guard connection.write(chunk) else {
                changed { disconnects += 1 }
                return false
            }
            offset = end
            if reply.chunkIntervalMilliseconds > 0, offset < audio.count,
                !connection.wait(milliseconds: reply.chunkIntervalMilliseconds)
            {
                changed { disconnects += 1 }
                return false
            }
        }
        return connection.write("0\r\n\r\n")
    }

    private func metadataHeaders(_ reply: Reply, record: RecordedRequest, api: LexAPI) -> [(String, String)] {
        let requestId = UUID().uuidString.lowercased()
        let transcript = reply.transcript ?? record.inputText ?? ""
        let sessionAttributes = reply.sessionAttributes ?? record.sessionAttributes
        var headers: [(String, String)] = [
            ("x-amzn-RequestId", requestId),
            ("Date", Self.httpDate(configuration.now())),
            ("Content-Type", "audio/pcm"),
        ]
        switch record.target {
        case .v2(_, _, _, let sessionId)?:
            headers.append(("x-amz-lex-session-id", sessionId))
            headers.append(("x-amz-lex-input-mode", record.inputText == nil ? "Speech" : "Text"))
            let action = reply.v2DialogAction
            var slotsJSON = "{"
            for (i, key) in reply.slots.keys.sorted().enumerated() {
                let value = LexHeaderEncoding.jsonString(reply.slots[key] ?? "")
                slotsJSON += (i > 0 ? "," : "") + LexHeaderEncoding.jsonString(key)
                    + ":{\"shape\":\"Scalar\",\"value\":{\"originalValue\":\(value),\"interpretedValue\":\(value),\"resolvedValues\":[\(value)]}}"
            }
            slotsJSON += "}"
            let intent = reply.intentName.map {
                "{\"name\":\(LexHeaderEncoding.jsonString($0)),\"slots\":\(slotsJSON),\"state\":\"\(action.intentState)\",\"confirmationState\":\"None\"}"
            }
            var dialogAction = "{\"type\":\"\(action.type)\""
            if let slot = reply.slotToElicit { dialogAction += ",\"slotToElicit\":" + LexHeaderEncoding.jsonString(slot) }
            dialogAction += "}"
            var sessionState = "{\"dialogAction\":\(dialogAction)"
            if let intent { sessionState += ",\"intent\":\(intent)" }
            sessionState += ",\"sessionAttributes\":\(LexHeaderEncoding.compactJSON(sessionAttributes))"
            sessionState += ",\"originatingRequestId\":\"\(requestId)\"}"
            let interpretations = "[" + (intent.map { "{\"intent\":\($0),\"nluConfidence\":{\"score\":0.97}}," } ?? "")
                + "{\"intent\":{\"name\":\"FallbackIntent\",\"slots\":{},\"state\":\"InProgress\"}}]"
            headers.append(("x-amz-lex-session-state", LexHeaderEncoding.gzipBase64(sessionState)))
            headers.append(("x-amz-lex-interpretations", LexHeaderEncoding.gzipBase64(interpretations)))
            if let message = reply.message {
                headers.append(("x-amz-lex-messages", LexHeaderEncoding.gzipBase64(
                    "[{\"content\":\(LexHeaderEncoding.jsonString(message)),\"contentType\":\"PlainText\"}]")))
            }
            headers.append(("x-amz-lex-input-transcript", LexHeaderEncoding.gzipBase64(transcript)))
            if !record.requestAttributes.isEmpty {
                headers.append(("x-amz-lex-request-attributes",
                                LexHeaderEncoding.gzipBase64(LexHeaderEncoding.compactJSON(record.requestAttributes))))
            }
        case .v1(_, _, let user)?:
            headers.append(("x-amz-lex-session-id", "2024-05-06T07:08:09.000Z-\(user.prefix(8))"))
            headers.append(("x-amz-lex-bot-version", "$LATEST"))
            headers.append(("x-amz-lex-dialog-state", reply.dialogState))
            if let intent = reply.intentName { headers.append(("x-amz-lex-intent-name", intent)) }
            if let slot = reply.slotToElicit { headers.append(("x-amz-lex-slot-to-elicit", slot)) }
            if reply.intentName != nil {
                headers.append(("x-amz-lex-slots", LexHeaderEncoding.base64(LexHeaderEncoding.compactJSON(reply.slots))))
            }
            headers.append(("x-amz-lex-session-attributes",
                            LexHeaderEncoding.base64(LexHeaderEncoding.compactJSON(sessionAttributes))))
            if let message = reply.message {
                headers.append(("x-amz-lex-message-format", "PlainText"))
                if configuration.v1EncodedHeaders {
                    headers.append(("x-amz-lex-encoded-message", LexHeaderEncoding.base64(message)))
                } else {
                    headers.append(("x-amz-lex-message", message))
                }
            }
            if configuration.v1EncodedHeaders {
                headers.append(("x-amz-lex-encoded-input-transcript", LexHeaderEncoding.base64(transcript)))
            } else {
                headers.append(("x-amz-lex-input-transcript", transcript))
            }
        case nil:
            break
        }
        return headers
    }

    // MARK: SigV4 verification

    private func verifySignature(_ request: ReceivedHTTPRequest) -> RecordedRequest.SignatureCheck {
        guard let authorization = request.header("authorization") else { return .missing }
        guard let parsed = ParsedAuthorization(authorization) else {
            return .invalid("Authorization header requires Credential, SignedHeaders and Signature: \(authorization)")
        }
        guard let credentials = configuration.credentials.first(where: { $0.accessKeyId == parsed.accessKeyId }) else {
            return .invalid("UnrecognizedClient: unknown access key \(parsed.accessKeyId)")
        }
        guard parsed.service == "lex" else {
            return .invalid("Credential should be scoped to correct service: 'lex'.")
        }
        guard let amzDate = request.header("x-amz-date"), let date = SigV4Date(amzDate: amzDate) else {
            return .invalid("X-Amz-Date is missing or malformed")
        }
        guard date.dateStamp == parsed.dateStamp else {
            return .invalid("Credential date \(parsed.dateStamp) does not match X-Amz-Date \(amzDate)")
        }
        let skew = abs(date.date.timeIntervalSince(configuration.now()))
        guard skew <= configuration.allowedClockSkewSeconds else {
            return .invalid("Signature expired: \(amzDate) is now earlier or later than allowed")
        }
        let signed = Set(parsed.signedHeaders)
        for required in ["host", "x-amz-date"] where !signed.contains(required) {
            return .invalid("\(required) must be a signed header")
        }
        if let token = credentials.sessionToken {
            let sent = request.header("x-amz-security-token")
            let matches = token.withRevealedValue { $0 == sent }
            guard matches, signed.contains("x-amz-security-token") else {
                return .invalid("UnrecognizedClient: session token missing, wrong or unsigned")
            }
        }
        let payloadHash = request.header("x-amz-content-sha256")
        if let payloadHash, payloadHash != SigV4Payload.unsignedPayloadLiteral {
            let actual = SigV4Signer.hexSHA256(request.body)
            guard actual == payloadHash.lowercased() else {
                return .invalid("The provided 'x-amz-content-sha256' header does not match what was computed.")
            }
        }
        let headers = request.headers.filter { signed.contains($0.name.lowercased()) }.map { HTTPHeader($0.name, $0.value) }
        for name in signed where !headers.contains(where: { $0.name.lowercased() == name }) {
            return .invalid("signed header \(name) is not in the request")
        }
        let signer = SigV4Signer(credentials: credentials, region: parsed.region, service: parsed.service)
        let sigRequest = SigV4Request(method: request.method, path: request.path, query: request.query, headers: headers)
        let canonical = signer.canonicalRequest(sigRequest, payloadHash: payloadHash ?? SigV4Signer.hexSHA256(request.body))
        let stringToSign = signer.stringToSign(canonicalRequest: canonical, date: date)
        let expected = signer.signature(stringToSign: stringToSign, date: date)
        let equal = expected.utf8.count == parsed.signature.utf8.count
            && Array(expected.utf8).withUnsafeBytes { a in
                Array(parsed.signature.utf8).withUnsafeBytes { b in lc_const_time_equal(a.baseAddress, b.baseAddress, a.count) == 1 }
            }
        if equal { return .valid }
        // Worded like AWS, which also echoes what it computed.
        return .invalid("The request signature we calculated does not match the signature you provided. "
            + "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\n"
            + "The Canonical String for this request should have been\n'\(canonical)'\n\n"
            + "The String-to-Sign should have been\n'\(stringToSign)'\n")
    }

    struct ParsedAuthorization {
        var accessKeyId: String
        var dateStamp: String
        var region: String
        var service: String
        var signedHeaders: [String]
        var signature: String

        init?(_ header: String) {
            guard header.hasPrefix(SigV4Signer.algorithm + " ") else { return nil }
            var fields: [String: String] = [:]
            for part in header.dropFirst(SigV4Signer.algorithm.count + 1).split(separator: ",") {
                let kv = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if kv.count == 2 { fields[String(kv[0])] = String(kv[1]) }
            }
            guard let credential = fields["Credential"], let signed = fields["SignedHeaders"],
                let signature = fields["Signature"]
            else { return nil }
            let scope = credential.split(separator: "/", omittingEmptySubsequences: false)
            guard scope.count == 5, scope[4] == "aws4_request" else { return nil }
            accessKeyId = String(scope[0])
            dateStamp = String(scope[1])
            region = String(scope[2])
            service = String(scope[3])
            signedHeaders = signed.split(separator: ";").map(String.init)
            self.signature = signature
        }
    }

    // MARK: Routing

    enum Route {
        case lex(LexAPI, LexTarget)
        case webhook
        case unknown
    }

    static func decode(_ s: Substring) -> String {
        s.removingPercentEncoding ?? String(s)
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 400: return "Bad Request"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 406: return "Not Acceptable"
        case 415: return "Unsupported Media Type"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        default: return "Status"
        }
    }

    /// RFC 7231 IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), without a formatter.
    public static func httpDate(_ date: Date) -> String {
        let stamp = SigV4Date(date)
        let c = Array(stamp.amzDate.utf8)
        func text(_ r: Range<Int>) -> String { String(decoding: c[r], as: UTF8.self) }
        let days = Int((stamp.unixSeconds >= 0 ? stamp.unixSeconds : stamp.unixSeconds - 86_399) / 86_400)
        let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let month = (Int(text(4..<6)) ?? 1) - 1
        return "\(weekdays[((days % 7) + 7) % 7]), \(text(6..<8)) \(months[max(0, min(11, month))]) \(text(0..<4)) "
            + "\(text(9..<11)):\(text(11..<13)):\(text(13..<15)) GMT"
    }
}

extension LexStandIn.Route {
    init(method: String, path: String) {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if parts.first == "events" {
            self = .webhook
            return
        }
        let p = Array(parts)
        guard method == "POST" else {
            self = .unknown
            return
        }
        if p.count == 9, p[0] == "bots", p[2] == "botAliases", p[4] == "botLocales", p[6] == "sessions",
            p[8] == "utterance"
        {
            self = .lex(.v2, .v2(botId: LexStandIn.decode(p[1]), aliasId: LexStandIn.decode(p[3]),
                                 localeId: LexStandIn.decode(p[5]), sessionId: LexStandIn.decode(p[7])))
        } else if p.count == 7, p[0] == "bot", p[2] == "alias", p[4] == "user", p[6] == "content" {
            self = .lex(.v1, .v1(bot: LexStandIn.decode(p[1]), alias: LexStandIn.decode(p[3]),
                                 user: LexStandIn.decode(p[5])))
        } else {
            self = .unknown
        }
    }
}

private final class WeakBox: @unchecked Sendable {
    weak var value: LexStandIn?
}
