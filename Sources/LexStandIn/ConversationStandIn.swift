import Foundation
import Lex

/// The stand-in's Lex V2 StartConversation: `POST /bots/{botId}/botAliases/{aliasId}/botLocales/
/// {localeId}/sessions/{sessionId}/conversation` over HTTP/2, one bidirectional event stream per
/// conversation. Reached through `LexStandIn.conversations`: h2c on the stand-in's own port
/// (connections opening with the HTTP/2 preface are handed over), and TLS (ALPN `h2`) on
/// `tlsPort` when `LexStandIn.Configuration.streaming.tls` is set.
///
/// It checks the opening request's SigV4 signature (payload `STREAMING-AWS4-HMAC-SHA256-EVENTS`,
/// service `lex`; a bad one is refused with HTTP 403 and `x-amzn-ErrorType`, before any event)
/// and every chained event signature (a bad one ends the stream with AccessDeniedException),
/// runs `ConversationCore`'s rules, answers turns as scripted, sends heartbeats, and records
/// everything received. Thread-safe.
///
///     lex.conversations.enqueue(.init(transcript: "book a room", intentName: "BookRoom"))
///     lex.conversations.enqueueStreamFailures(.throttling)   // the next stream opens, then fails
///     lex.conversations.waitUntil { $0.streams.first?.disconnected == true }
public final class ConversationStandIn: @unchecked Sendable {
    public struct Configuration: Sendable {
        /// `HeartbeatEvent` every so many seconds on each stream (0: none).
        public var heartbeatIntervalSeconds: Double = 5
        /// A stream still open after this many seconds is ended by the stand-in (END_STREAM).
        public var maxStreamLifetimeSeconds: Double?
        /// Energy rule: a chunk is speech when its RMS is at least this (16-bit samples).
        public var rmsThreshold: Double = 500
        /// Energy rule: the caller's turn ends after this much audio below the threshold.
        public var endSilenceMilliseconds = 400
        /// A DTMF entry ends with `#` or this long after its last digit.
        public var dtmfEndMilliseconds = 1000
        public var welcomeAudioMilliseconds = 500
        /// The reply when no queued reply or rule applies.
        public var defaultReply = ConversationReply()
        /// TLS (ALPN h2) listener for StartConversation; nil: h2c on the shared port only.
        public var tls: HTTP2StandInServer.TLS?
        /// Keep every decoded input event in `ConversationRecord.events` (audio chunks without
        /// their bytes). false for load runs: counters only.
        public var recordsEvents = true
        /// The HTTP/2 servers' settings (flow control: `returnsWindow` false is a Lex that stops reading).
        public var server = HTTP2StandInServer.Settings()
        public init() {}
    }

    public let configuration: Configuration
    /// Serves h2c: its own listener, and the connections the HTTP/1.1 port hands over.
    public let plainServer: HTTP2StandInServer
    public let tlsServer: HTTP2StandInServer?
    /// Port of the TLS (h2) listener, when configured.
    public var tlsPort: UInt16? { tlsServer?.port }

    let credentials: [AWSCredentials]
    let verifySignatures: Bool
    let allowedClockSkewSeconds: Double
    let now: @Sendable () -> Date
    let state = NSCondition()
    private var script: ReplyScript<ConversationReply>
    private var openingFailures: [ConversationFault] = []
    private var records: [ConversationRecord] = []
    private var openSessions: Set<String> = []
    private var openStreams: [Int: ConversationStream] = [:]

    init(configuration: Configuration, standIn: LexStandIn.Configuration) throws {
        self.configuration = configuration
        self.credentials = standIn.credentials
        self.verifySignatures = standIn.verifySignatures
        self.allowedClockSkewSeconds = standIn.allowedClockSkewSeconds
        self.now = standIn.now
        self.script = ReplyScript(defaultReply: configuration.defaultReply)
        let box = ConversationBox()
        let handler: HTTP2StandInServer.Handler = { stream in box.value?.open(stream) }
        plainServer = try HTTP2StandInServer(settings: configuration.server, handler: handler)
        tlsServer = try configuration.tls.map { try HTTP2StandInServer(tls: $0, settings: configuration.server, handler: handler) }
        box.value = self
    }

    func stop() {
        plainServer.stop()
        tlsServer?.stop()
        let open: [ConversationStream] = locked {
            defer { openStreams = [:] }
            return Array(openStreams.values)
        }
        for stream in open { stream.stop() }
    }

    // MARK: Script

    public func setDefaultReply(_ reply: ConversationReply) {
        locked { script.defaultReply = reply }
    }

    /// The reply to a DTMF entry or text input equal to `transcript` (case and surrounding
    /// whitespace ignored), when no queued reply is pending.
    public func setReply(forTranscript transcript: String, _ reply: ConversationReply) {
        locked { script.setRule(forText: transcript, reply) }
    }

    /// Replies used in order, one per turn (over all streams), before rules and the default.
    public func enqueue(_ replies: ConversationReply...) {
        locked { script.enqueue(replies) }
    }

    /// Faults used in order, one per stream opened: the stream is accepted (200) and then fails so,
    /// before any event is read.
    public func enqueueStreamFailures(_ faults: ConversationFault...) {
        locked { openingFailures.append(contentsOf: faults) }
    }

    // MARK: Observation

    /// Every stream opened (or refused), in order.
    public var streams: [ConversationRecord] { locked { records } }
    public var streamCount: Int { locked { records.count } }
    /// Streams open now.
    public var openStreamCount: Int { locked { openStreams.count } }
    /// Chained event signatures verified, all streams.
    public var verifiedSignatures: Int { locked { records.reduce(0) { $0 + $1.verifiedSignatures } } }
    /// Streams ended for a bad chained signature.
    public var signatureFailures: Int { locked { records.reduce(0) { $0 + ($1.signatureFailure == nil ? 0 : 1) } } }

    /// Waits until `predicate` holds (checked whenever a record changes) or `timeout` seconds pass.
    @discardableResult
    public func waitUntil(timeout: Double = 5, _ predicate: (ConversationStandIn) -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while true {
            if predicate(self) { return true }
            state.lock()
            let signalled = state.wait(until: min(deadline, Date(timeIntervalSinceNow: 0.05)))
            state.unlock()
            if !signalled && Date() >= deadline { return predicate(self) }
        }
    }

    // MARK: Streams (connection threads, stream queues)

    func locked<R>(_ body: () throws -> R) rethrows -> R {
        state.lock()
        defer { state.unlock() }
        return try body()
    }

    func update(_ index: Int, _ body: (inout ConversationRecord) -> Void) {
        state.lock()
        body(&records[index])
        state.broadcast()
        state.unlock()
    }

    func nextReply(for turn: ConversationTurn) -> ConversationReply {
        locked { script.next(forText: turn.inputMode == "Speech" ? nil : turn.heard) }
    }

    /// The stand-in ended its side of a stream (an answer's end, a fault): the session id is free
    /// for a new stream at once, as Lex's conversation is over (the client's side may still close later).
    func sessionEnded(_ sessionKey: String) {
        _ = locked { openSessions.remove(sessionKey) }
    }

    /// `sessionKey`: the session the stream still holds, nil when it holds none.
    func closed(_ index: Int, sessionKey: String?, code: HTTP2ErrorCode) {
        state.lock()
        openStreams.removeValue(forKey: index)
        if let sessionKey { openSessions.remove(sessionKey) }
        if records[index].closed == nil { records[index].closed = code }
        state.broadcast()
        state.unlock()
    }

    /// A request's HEADERS arrived (on the connection thread, under its lock): refuse it, or
    /// answer 200 and start its conversation.
    private func open(_ stream: HTTP2ServerStream) {
        let (path, query) = Self.split(stream.path)
        guard stream.method == "POST", let target = Self.target(path) else {
            return refuse(stream, status: 404, type: "ResourceNotFoundException",
                          message: "No Lex operation at \(stream.method) \(stream.path)", record: nil)
        }
        var headers = HTTPFields(stream.headers.map { HTTPField($0.name, $0.value) })
        if headers["host"] == nil { headers.append(name: "host", value: stream.authority) }
        let request = ReceivedHTTPRequest(method: stream.method, path: path, query: query, headers: headers, body: [],
                                          chunked: false)
        var record = ConversationRecord(sequence: 0, botId: target[0], aliasId: target[1], localeId: target[2],
                                        sessionId: target[3], headers: stream.headers, scheme: stream.scheme,
                                        signature: .missing, status: 200)
        if verifySignatures || request.header("authorization") != nil {
            record.signature = LexStandIn.verifySignature(request, credentials: credentials,
                                                          allowedClockSkewSeconds: allowedClockSkewSeconds, now: now())
        }
        let seed = request.header("authorization").flatMap(SigV4EventSigner.signature(fromAuthorization:))
        if verifySignatures {
            switch record.signature {
            case .missing:
                return refuse(stream, status: 403, type: "MissingAuthenticationTokenException", message: "Missing Authentication Token", record: record)
            case .invalid(let why):
                return refuse(stream, status: 403, type: why.hasPrefix("UnrecognizedClient") ? "UnrecognizedClientException" : "InvalidSignatureException",
                              message: why, record: record)
            case .valid:
                guard request.header("x-amz-content-sha256") == SigV4Payload.streamingEventsLiteral else {
                    return refuse(stream, status: 403, type: "InvalidSignatureException",
                                  message: "x-amz-content-sha256 must be \(SigV4Payload.streamingEventsLiteral) on an event stream", record: record)
                }
            }
        }
        guard request.header("content-type")?.lowercased() == "application/vnd.amazon.eventstream" else {
            return refuse(stream, status: 400, type: "ValidationException",
                          message: "content-type must be application/vnd.amazon.eventstream", record: record)
        }
        let mode = request.header("x-amz-lex-conversation-mode") ?? ""
        guard mode == "AUDIO" || mode == "TEXT" else {
            return refuse(stream, status: 400, type: "ValidationException",
                          message: "x-amz-lex-conversation-mode must be AUDIO or TEXT, not '\(mode)'", record: record)
        }
        let sessionKey = target.joined(separator: "/")
        let (index, conflict, failure): (Int, Bool, ConversationFault?) = locked {
            record.sequence = records.count + 1
            records.append(record)
            let conflict = openSessions.contains(sessionKey)
            let failure = conflict || openingFailures.isEmpty ? nil : openingFailures.removeFirst()
            return (records.count - 1, conflict, failure)
        }
        if case .status(let code, let type)? = failure {
            update(index) { $0.status = code; $0.fault = failure; $0.closed = .noError }
            return respondError(stream, status: code, type: type, message: "scripted HTTP \(code)")
        }
        let conversation = ConversationStream(owner: self, stream: stream, index: index, sessionKey: conflict ? nil : sessionKey,
                                              sessionId: target[3], seed: seed)
        locked {
            openStreams[index] = conversation
            if !conflict { openSessions.insert(sessionKey) }
        }
        stream.respond(status: 200, headers: [HTTPField("content-type", "application/vnd.amazon.eventstream"),
                                              HTTPField("x-amzn-requestid", UUID().uuidString.lowercased())])
        conversation.start(failure: conflict ? .conflict : failure)
    }

    private func refuse(_ stream: HTTP2ServerStream, status: Int, type: String, message: String, record: ConversationRecord?) {
        if var record {
            record.status = status
            record.closed = .noError  // answered and ended: no stream to follow
            locked {
                record.sequence = records.count + 1
                records.append(record)
            }
        }
        respondError(stream, status: status, type: type, message: message)
    }

    private func respondError(_ stream: HTTP2ServerStream, status: Int, type: String?, message: String) {
        let body = (try? JSONEncoder().encode(["message": message])).map { Array($0) } ?? []
        var headers: HTTPFields = [HTTPField("content-type", "application/json")]
        if let type { headers.append(HTTPField("x-amzn-errortype", type)) }
        stream.respond(status: status, headers: headers)
        stream.send(body)
        stream.finish()
    }

    static func split(_ target: String) -> (path: String, query: String) {
        guard let q = target.firstIndex(of: "?") else { return (target, "") }
        return (String(target[..<q]), String(target[target.index(after: q)...]))
    }

    /// botId, aliasId, localeId, sessionId (decoded) of a `/conversation` path.
    static func target(_ path: String) -> [String]? {
        let p = Array(path.split(separator: "/", omittingEmptySubsequences: false).dropFirst())
        guard p.count == 9, p[0] == "bots", p[2] == "botAliases", p[4] == "botLocales", p[6] == "sessions",
            p[8] == "conversation"
        else { return nil }
        return [p[1], p[3], p[5], p[7]].map { LexStandIn.decode($0) }
    }
}

final class ConversationBox: @unchecked Sendable {
    weak var value: ConversationStandIn?
}
