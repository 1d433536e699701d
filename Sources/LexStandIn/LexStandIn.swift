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
        /// StartConversation (HTTP/2) on the same port, and on a TLS port when `streaming.tls` is set.
        public var streaming = ConversationStandIn.Configuration()

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
        public var headers: HTTPFields
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
    /// The StartConversation side: its script and records (see `ConversationStandIn`).
    public let conversations: ConversationStandIn
    /// `https://127.0.0.1:TLSPORT` for StartConversation over TLS, when configured.
    public var streamingTLSBaseURL: String? { conversations.tlsPort.map { "https://127.0.0.1:\($0)" } }

    var server: LoopbackHTTPServer?
    let state = NSCondition()
    var script: ReplyScript<Reply>
    var webhookFailures: [Reply] = []
    var records: [RecordedRequest] = []
    var disconnects = 0
    var handling = 0
    var maxHandling = 0
    var barrier: (count: Int, timeout: Double)?
    var barrierOpen = false

    public convenience init(credentials: [AWSCredentials]) throws {
        try self.init(configuration: Configuration(credentials: credentials))
    }

    public init(configuration: Configuration) throws {
        self.configuration = configuration
        self.script = ReplyScript(defaultReply: configuration.defaultReply)
        let box = WeakBox()
        let conversations = try ConversationStandIn(configuration: configuration.streaming, standIn: configuration)
        self.conversations = conversations
        let plain = conversations.plainServer
        let server = try LoopbackHTTPServer(port: configuration.port, http2Handoff: { plain.serve(acceptedConnection: $0) }) { request, connection in
            guard let standIn = box.value else { return false }
            return standIn.handle(request, connection)
        }
        self.server = server
        self.baseURL = "http://127.0.0.1:\(server.port)"
        box.value = self
    }

    deinit {
        server?.stop()
        conversations.stop()
    }

    /// Closes the listeners and all connections.
    public func stop() {
        server?.stop()
        conversations.stop()
    }

    // MARK: Script

    public func setDefaultReply(_ reply: Reply) {
        locked { script.defaultReply = reply }
    }

    /// The reply to text input equal to `text` (case and surrounding
    /// whitespace ignored), when no queued reply is pending.
    public func setReply(forText text: String, _ reply: Reply) {
        locked { script.setRule(forText: text, reply) }
    }

    /// Replies used in order, one per Lex request, before rules and default.
    public func enqueue(_ replies: Reply...) {
        locked { script.enqueue(replies) }
    }

    /// Answers used in order, one per webhook post, before the usual `200 {}`: their
    /// `.error` failure (status, `Retry-After`) or, for any other reply, `200 {}`; either after
    /// the reply's `firstByteDelayMilliseconds`.
    public func enqueueWebhookReplies(_ replies: Reply...) {
        locked { webhookFailures.append(contentsOf: replies) }
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

    func locked<R>(_ body: () throws -> R) rethrows -> R {
        state.lock()
        defer { state.unlock() }
        return try body()
    }

    func changed(_ body: () -> Void) {
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
}
