import Dispatch
import Foundation
import Lex
import Logging
import COpenSSL

/// Webhook events of one call: JSON POSTs sent one after another (so they arrive in order)
/// through the Lex client's transport (`LexClient.http`, the same curl thread), retried by the
/// Lex retry policy (429 and 503 `Retry-After`, throttling backoff, jitter) within `timeout`
/// (`[events] timeout_ms`, all attempts of one event included). A failing receiver never blocks or fails the call: the event is logged, counted
/// and dropped.
final class EventSink: @unchecked Sendable {
    private let url: String
    /// `url` for log lines: without user info, query or fragment, where a token may be.
    private let loggedURL: String
    private let secret: Secret?
    private let client: LexClient
    private let queue = DispatchQueue(label: "lexconnector.events")
    private let logger: Logger
    private let metrics: ConnectorMetrics
    private let base: EventEnvelope
    private let timeout: Duration
    // Confined to the call's loop:
    private var sequence = 0
    // Confined to `queue`:
    private var pending: [[UInt8]] = []
    private var sending = false
    /// Events dropped since the backlog was last full: logged once when dropping starts and
    /// once, with the count, when the backlog is below half full again (not a line per event).
    private var droppedInEpisode = 0
    static let maxPending = 200

    init(url: String, secret: Secret?, timeout: Duration, client: LexClient, logger: Logger, metrics: ConnectorMetrics, base: EventEnvelope) {
        self.url = url
        self.timeout = timeout
        loggedURL = Self.redacted(url)
        self.secret = secret
        self.client = client
        self.logger = logger
        self.metrics = metrics
        self.base = base
    }

    /// Queues an event: the envelope (call id, session id, client id, service, sequence,
    /// timestamp) plus the event's own fields. Called from the call's event loop only (the
    /// sequence number is kept there).
    func emit(_ event: CallEvent) {
        sequence += 1
        let timestamp = ISO8601DateFormatter.string(from: Date(), timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withInternetDateTime, .withFractionalSeconds])
        let data: Data
        do {
            data = try base.encode(event.body, sequence: sequence, timestamp: timestamp)
        } catch {
            logger.error("event not serialisable: \(error)", metadata: ["event": "\(event.name)"])
            return
        }
        let body = [UInt8](data)
        queue.async { [self] in
            if pending.count >= Self.maxPending {
                pending.removeFirst()
                metrics.event(.dropped)
                if droppedInEpisode == 0 { logger.warning("webhook backlog full (\(Self.maxPending) events); the oldest are dropped") }
                droppedInEpisode += 1
            } else if droppedInEpisode > 0 && pending.count < Self.maxPending / 2 {
                logger.warning("webhook backlog has room again", metadata: ["dropped": "\(droppedInEpisode)"])
                droppedInEpisode = 0
            }
            pending.append([UInt8](body))
            sendNext()
        }
    }

    private func sendNext() {
        guard !sending, !pending.isEmpty else { return }
        sending = true
        let body = pending.removeFirst()
        var headers: HTTPFields = [HTTPField("Content-Type", "application/json")]
        if let secret {
            headers.append(HTTPField("X-Lexconnector-Signature", "sha256=" + Self.hmacHex(secret: secret, body: body)))
        }
        let lex = client.configuration
        client.http.post(url: url, headers: headers, body: body, timeout: timeout, retry: lex.retry,
                         maxResponseBytes: lex.maxPostResponseBytes, logger: logger, callbackQueue: queue) { [self] result in
            switch result {
            case .success(let r) where r.response.status.isSuccess:
                metrics.event(.delivered)
            case .success(let r):
                metrics.event(.rejected)
                logger.warning("webhook answered \(r.response.status.code)", metadata: ["url": "\(loggedURL)"])
            case .failure(let e):
                metrics.event(.failed)
                logger.warning("webhook failed: \(e)", metadata: ["url": "\(loggedURL)"])
            }
            sending = false
            sendNext()
        }
    }

    /// Scheme, host, port and path of `url` (`https://host/hook` for
    /// `https://user:pass@host/hook?token=...`); `(unparsable URL)` when it does not parse.
    static func redacted(_ url: String) -> String {
        guard var c = URLComponents(string: url), c.host != nil else { return "(unparsable URL)" }
        c.user = nil
        c.password = nil
        c.query = nil
        c.fragment = nil
        return c.string ?? "(unparsable URL)"
    }

    static func hmacHex(secret: Secret, body: [UInt8]) -> String {
        var mac = [UInt8](repeating: 0, count: 32)
        secret.withRevealedValue { key in
            let k = Array(key.utf8)
            k.withUnsafeBytes { kb in body.withUnsafeBytes { bb in _ = lc_hmac_sha256(kb.baseAddress, kb.count, bb.baseAddress, bb.count, &mac) } }
        }
        return mac.map { String(format: "%02x", $0) }.joined()
    }
}

/// The fields every event carries (README "Events"), around the event's own.
struct EventEnvelope: Sendable {
    var callId: String
    var sessionId: String
    /// `lex-v1` or `lex-v2`.
    var service: String
    var clientId: String?

    enum Keys: String, CodingKey, CaseIterable {
        case event, sequence, timestamp, callId = "call_id", sessionId = "session_id", service, clientId = "client_id"
    }

    /// The event as one JSON object, keys sorted.
    func encode(_ body: some CallEventBody, sequence: Int, timestamp: String) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return try encoder.encode(Enveloped(envelope: self, body: body, sequence: sequence, timestamp: timestamp))
    }

    private struct Enveloped<Body: CallEventBody>: Encodable {
        var envelope: EventEnvelope
        var body: Body
        var sequence: Int
        var timestamp: String

        func encode(to encoder: Encoder) throws {
            try body.encode(to: encoder)
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(Body.name, forKey: .event)
            try c.encode(sequence, forKey: .sequence)
            try c.encode(timestamp, forKey: .timestamp)
            try c.encode(envelope.callId, forKey: .callId)
            try c.encode(envelope.sessionId, forKey: .sessionId)
            try c.encode(envelope.service, forKey: .service)
            try c.encodeIfPresent(envelope.clientId, forKey: .clientId)
        }
    }
}
