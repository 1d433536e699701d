import Dispatch
import Foundation
import Lex
import Logging
import COpenSSL

/// Webhook events of one call: JSON POSTs sent one after another (so they arrive in order)
/// through the Lex client's transport (`LexClient.http`, the same curl thread), retried by the
/// Lex retry policy (429 and 503 `Retry-After`, throttling backoff, jitter) within the Lex request
/// timeout. A failing receiver never blocks or fails the call: the event is logged, counted
/// and dropped.
final class EventSink: @unchecked Sendable {
    private let url: String
    private let secret: Secret?
    private let client: LexClient
    private let queue = DispatchQueue(label: "lexconnector.events")
    private let logger: Logger
    private let metrics: ConnectorMetrics
    private let base: [String: Any]
    // Confined to the call's loop:
    private var sequence = 0
    // Confined to `queue`:
    private var pending: [[UInt8]] = []
    private var sending = false
    static let maxPending = 200

    init(url: String, secret: Secret?, client: LexClient, logger: Logger, metrics: ConnectorMetrics, base: [String: Any]) {
        self.url = url
        self.secret = secret
        self.client = client
        self.logger = logger
        self.metrics = metrics
        self.base = base
    }

    /// Queues an event: `base` fields (call id, session id, client id, service) plus `fields`.
    /// Called from the call's event loop only (the sequence number is kept there).
    func emit(_ event: String, _ fields: [String: Any]) {
        var object = base
        for (k, v) in fields { object[k] = v }
        object["event"] = event
        object["timestamp"] = ISO8601DateFormatter.string(from: Date(), timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withInternetDateTime, .withFractionalSeconds])
        sequence += 1
        object["sequence"] = sequence
        guard JSONSerialization.isValidJSONObject(object),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else {
            logger.error("event not serialisable", metadata: ["event": "\(event)"])
            return
        }
        let body = [UInt8](data)
        queue.async { [self] in
            if pending.count >= Self.maxPending {
                pending.removeFirst()
                metrics.event("dropped")
                logger.warning("webhook backlog full; oldest event dropped")
            }
            pending.append([UInt8](body))
            sendNext()
        }
    }

    private func sendNext() {
        guard !sending, !pending.isEmpty else { return }
        sending = true
        let body = pending.removeFirst()
        var headers = [HTTPHeader("Content-Type", "application/json")]
        if let secret {
            headers.append(HTTPHeader("X-Lexconnector-Signature", "sha256=" + Self.hmacHex(secret: secret, body: body)))
        }
        let lex = client.configuration
        client.http.post(url: url, headers: headers, body: body, timeout: lex.requestTimeout, retry: lex.retry,
                         maxResponseBytes: lex.maxPostResponseBytes, logger: logger, callbackQueue: queue) { [self] result in
            switch result {
            case .success(let r) where (200..<300).contains(r.status):
                metrics.event("delivered")
            case .success(let r):
                metrics.event("rejected")
                logger.warning("webhook answered \(r.status)", metadata: ["url": "\(url)"])
            case .failure(let e):
                metrics.event("failed")
                logger.warning("webhook failed: \(e)", metadata: ["url": "\(url)"])
            }
            sending = false
            sendNext()
        }
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
