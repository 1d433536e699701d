import Metrics
import Prometheus
import Synchronization

/// The connector's metrics (swift-metrics, exported in Prometheus text format on `/metrics`).
/// Counters on the audio path are batched per pacing tick, not incremented per frame.
public final class ConnectorMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
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
    /// Bucket bounds of the two reaction-time histograms, in milliseconds.
    static let reactionBucketsMilliseconds: [Double] = [0.25, 0.5, 1, 2, 3, 4, 5, 7.5, 10, 15, 20, 30, 50, 100, 250, 1000]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var f = PrometheusMetricsFactory(registry: registry)
        let buckets = Self.reactionBucketsMilliseconds.map { Duration.microseconds(Int64($0 * 1000)) }
        f.durationHistogramBuckets["lexconnector_speech_to_request_seconds"] = buckets
        f.durationHistogramBuckets["lexconnector_reply_to_first_frame_seconds"] = buckets
        factory = f
        callsActive = Metrics.Recorder(label: "lexconnector_calls_active", factory: factory)
        callsTotal = Metrics.Counter(label: "lexconnector_calls_total", factory: factory)
        framesPlayed = Metrics.Counter(label: "lexconnector_frames_played_total", factory: factory)
        framesLate = Metrics.Counter(label: "lexconnector_frames_late_total", factory: factory)
        framesReceived = Metrics.Counter(label: "lexconnector_frames_received_total", factory: factory)
        lexLatency = Metrics.Timer(label: "lexconnector_lex_latency_seconds", preferredDisplayUnit: .seconds, factory: factory)
        speechToRequest = Metrics.Timer(label: "lexconnector_speech_to_request_seconds", preferredDisplayUnit: .seconds, factory: factory)
        replyToFirstFrame = Metrics.Timer(label: "lexconnector_reply_to_first_frame_seconds", preferredDisplayUnit: .seconds, factory: factory)
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

    func lexRequest(api: String, status: String) {
        Metrics.Counter(label: "lexconnector_lex_requests_total", dimensions: [("api", api), ("status", status)], factory: factory).increment()
    }

    func error(_ kind: ErrorKind) {
        Metrics.Counter(label: "lexconnector_errors_total", dimensions: [("kind", kind.rawValue)], factory: factory).increment()
    }

    func badInput(_ kind: BadInput) {
        badInput(server: kind.rawValue)
    }

    /// Bad input the WebSocket server module reports by name (`http_<status>`, `ws_<close code>`).
    func badInput(server kind: String) {
        Metrics.Counter(label: "lexconnector_bad_input_total", dimensions: [("kind", kind)], factory: factory).increment()
    }

    func limitHit(_ limit: Limit) {
        Metrics.Counter(label: "lexconnector_limit_hits_total", dimensions: [("limit", limit.rawValue)], factory: factory).increment()
    }

    func authFailure(_ reason: String) {
        Metrics.Counter(label: "lexconnector_auth_failures_total", dimensions: [("reason", reason)], factory: factory).increment()
    }

    func event(_ outcome: String) {
        Metrics.Counter(label: "lexconnector_webhook_events_total", dimensions: [("outcome", outcome)], factory: factory).increment()
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
        /// Reported by the WebSocket server module under these names.
        case serverFull = "server_full", tooManySockets = "too_many_sockets", handshakeTimeout = "handshake_timeout"
        case outputQueueOverflow = "output_queue_overflow", upgradeWhileDraining = "upgrade_while_draining"
    }

    /// Prometheus text exposition.
    public func exposition() -> [UInt8] { registry.emitToBuffer() }
}

extension Metrics.Timer {
    convenience init(label: String, preferredDisplayUnit: TimeUnit, factory: PrometheusMetricsFactory) {
        let handler = factory.makeTimer(label: label, dimensions: [])
        self.init(label: label, dimensions: [], handler: handler)
        _ = preferredDisplayUnit
    }
}

extension Metrics.Counter {
    convenience init(label: String, dimensions: [(String, String)] = [], factory: PrometheusMetricsFactory) {
        self.init(label: label, dimensions: dimensions, handler: factory.makeCounter(label: label, dimensions: dimensions))
    }
}

extension Metrics.Recorder {
    convenience init(label: String, factory: PrometheusMetricsFactory) {
        self.init(label: label, dimensions: [], aggregate: false, handler: factory.makeRecorder(label: label, dimensions: [], aggregate: false))
    }
}
