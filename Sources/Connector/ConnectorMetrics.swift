import Metrics
import Prometheus
import WebSocketServer
import Lex
import Synchronization

/// The connector's metrics (swift-metrics, exported in Prometheus text format on `/metrics`).
/// Counters on the audio path are batched per pacing tick, not incremented per frame.
///
/// The product calls `bootstrap()` once: swift-metrics' process-wide factory becomes the
/// Prometheus factory over the registry `/metrics` shows, and these metrics are made through
/// it. `init(registry:)` makes them through a factory of their own (swift-metrics' `factory:`
/// initialisers), so several connectors in one process (the tests) keep separate registries.
public final class ConnectorMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: any MetricsFactory
    private let active = Atomic<Int>(0)
    let callsActive: Metrics.Recorder
    let callsTotal: Metrics.Counter
    let framesPlayed: Metrics.Counter
    let framesLate: Metrics.Counter
    let framesReceived: Metrics.Counter
    let lexLatency: Metrics.Timer
    /// End of an utterance to libcurl starting to send its Lex request.
    let speechToRequest: Metrics.Timer
    /// A reply's first body bytes at the Lex client to its first frame written to the caller.
    let replyToFirstFrame: Metrics.Timer
    /// Streaming calls (StartConversation streams).
    public let streams: StreamMetrics
    /// Bucket bounds of the two reaction-time histograms, in milliseconds.
    static let reactionBucketsMilliseconds: [Double] = [0.25, 0.5, 1, 2, 3, 4, 5, 7.5, 10, 15, 20, 30, 50, 100, 250, 1000]

    /// Bootstraps swift-metrics for the process (`MetricsSystem.bootstrap`, which may run once)
    /// with the Prometheus factory over `registry`, and returns the connector's metrics made
    /// through `MetricsSystem.factory`. For `lexconnector`'s main.
    public static func bootstrap(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) -> ConnectorMetrics {
        MetricsSystem.bootstrap(prometheusFactory(registry: registry))
        return ConnectorMetrics(registry: registry, factory: MetricsSystem.factory)
    }

    /// Metrics in `registry` through a Prometheus factory of their own; the process-wide
    /// `MetricsSystem` is left alone.
    public convenience init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.init(registry: registry, factory: Self.prometheusFactory(registry: registry))
    }

    /// The Prometheus factory over `registry`, with the reaction-time histograms' buckets.
    static func prometheusFactory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var f = PrometheusMetricsFactory(registry: registry)
        let buckets = Self.reactionBucketsMilliseconds.map { Duration.microseconds(Int64($0 * 1000)) }
        f.durationHistogramBuckets["lexconnector_speech_to_request_seconds"] = buckets
        f.durationHistogramBuckets["lexconnector_reply_to_first_frame_seconds"] = buckets
        f.durationHistogramBuckets["lexconnector_prompt_to_first_frame_seconds"] = buckets
        return f
    }

    private init(registry: PrometheusCollectorRegistry, factory: any MetricsFactory) {
        self.registry = registry
        self.factory = factory
        callsActive = Metrics.Recorder(label: "lexconnector_calls_active", aggregate: false, factory: factory)
        callsTotal = Metrics.Counter(label: "lexconnector_calls_total", factory: factory)
        framesPlayed = Metrics.Counter(label: "lexconnector_frames_played_total", factory: factory)
        framesLate = Metrics.Counter(label: "lexconnector_frames_late_total", factory: factory)
        framesReceived = Metrics.Counter(label: "lexconnector_frames_received_total", factory: factory)
        lexLatency = Metrics.Timer(label: "lexconnector_lex_latency_seconds", preferredDisplayUnit: .seconds, factory: factory)
        speechToRequest = Metrics.Timer(label: "lexconnector_speech_to_request_seconds", preferredDisplayUnit: .seconds, factory: factory)
        replyToFirstFrame = Metrics.Timer(label: "lexconnector_reply_to_first_frame_seconds", preferredDisplayUnit: .seconds, factory: factory)
        streams = StreamMetrics(factory: factory)
    }

    func callStarted() {
        callsTotal.increment()
        callsActive.record(active.add(1, ordering: .relaxed).newValue)
    }

    func callEnded() {
        callsActive.record(active.subtract(1, ordering: .relaxed).newValue)
    }

    func utterance(_ outcome: UtteranceOutcome) {
        Metrics.Counter(label: "lexconnector_utterances_total", dimensions: [("reason", outcome.rawValue)], factory: factory).increment()
    }

    func lexRequest(api: LexAPI, status: LexRequestStatus) {
        Metrics.Counter(label: "lexconnector_lex_requests_total", dimensions: [("api", api.rawValue), ("status", status.label)], factory: factory).increment()
    }

    func error(_ kind: ErrorKind) {
        Metrics.Counter(label: "lexconnector_errors_total", dimensions: [("kind", kind.rawValue)], factory: factory).increment()
    }

    func badInput(_ kind: BadInput) {
        badInput(label: kind.rawValue)
    }

    /// Bad input the WebSocket server module saw (`http_<status>`, `ws_<close code>`, ...).
    func badInput(server violation: WebSocketServerViolation) {
        badInput(label: violation.name)
    }

    private func badInput(label: String) {
        Metrics.Counter(label: "lexconnector_bad_input_total", dimensions: [("kind", label)], factory: factory).increment()
    }

    func limitHit(_ limit: Limit) {
        Metrics.Counter(label: "lexconnector_limit_hits_total", dimensions: [("limit", limit.rawValue)], factory: factory).increment()
    }

    func authFailure(_ reason: AuthFailureReason) {
        Metrics.Counter(label: "lexconnector_auth_failures_total", dimensions: [("reason", reason.rawValue)], factory: factory).increment()
    }

    func event(_ outcome: WebhookOutcome) {
        Metrics.Counter(label: "lexconnector_webhook_events_total", dimensions: [("outcome", outcome.rawValue)], factory: factory).increment()
    }

    /// `lexconnector_lex_requests_total{status}`: the HTTP status of a completed Lex request,
    /// or `error` when none came (transport failure, timeout).
    enum LexRequestStatus: Hashable, Sendable {
        case http(Int), noResponse

        var label: String {
            switch self {
            case .http(let code): return "\(code)"
            case .noResponse: return "error"
            }
        }
    }

    /// `lexconnector_auth_failures_total{reason}`: why an upgrade got 401.
    public enum AuthFailureReason: String, Sendable {
        case missing, badToken = "bad_token", config, malformed, badAlgorithm = "bad_alg", badSignature = "bad_signature"
        case badClaims = "bad_claims", notYetValid = "not_yet_valid", expired, badApplication = "bad_application"
    }

    /// `lexconnector_webhook_events_total{outcome}`: what became of one webhook event.
    enum WebhookOutcome: String, Sendable {
        /// 2xx; a non-2xx answer; no answer after the retries; dropped from a full queue.
        case delivered, rejected, failed, dropped
    }

    /// `lexconnector_utterances_total{reason}`: how each utterance ended.
    enum UtteranceOutcome: String, Sendable {
        case silence, maximumLength = "maximum_length", discarded, dropped
    }

    /// `lexconnector_errors_total{kind}`.
    enum ErrorKind: String, Sendable {
        case lex, idleTimeout = "idle_timeout"
        /// A Lex reply ran more than `ActiveCall.maxQueuedReply` ahead of playback; the rest was dropped.
        case replyOverflow = "reply_overflow"
    }

    /// `lexconnector_bad_input_total{kind}`: input refused by the connector.
    enum BadInput: String, Sendable {
        case route, startParameters = "start_parameters", credentials, audioFrameSize = "audio_frame_size"
        case textMessage = "text_message", dtmf, startTimeout = "start_timeout"
    }

    /// `lexconnector_limit_hits_total{limit}`: a limit refused a connection or closed a call.
    enum Limit: String, Sendable, CaseIterable {
        case botNotAllowed = "bot_not_allowed", callsPerClient = "calls_per_client"
        /// A second streaming call on a session a streaming call holds here (409).
        case sessionInUse = "session_in_use"
        /// Reported by the WebSocket server module (`WebSocketServerViolation`).
        case serverFull = "server_full", tooManySockets = "too_many_sockets", handshakeTimeout = "handshake_timeout"
        case outputQueueOverflow = "output_queue_overflow", upgradeWhileDraining = "upgrade_while_draining"
    }

    /// Prometheus text exposition.
    public func exposition() -> [UInt8] { registry.emitToBuffer() }
}
