import Metrics
import Prometheus
import Synchronization

/// The streaming calls' metrics (README "Metrics"): `lexconnector_streams_open` (gauge),
/// `lexconnector_stream_events_total{direction,type}` (`in`: Lex's events by `:event-type`,
/// `out`: the connector's), `lexconnector_stream_errors_total{type}` (the exception's type,
/// `reset` or `lifetime_ended`), `lexconnector_stream_reopens_total`, and
/// `lexconnector_prompt_to_first_frame_seconds` (histogram, the reaction-time buckets): from a
/// prompt's first audio chunk on the call's loop to its first frame out. The counters of the
/// known event types are made once (the audio events come 50 times a second per call).
public final class StreamMetrics: Sendable {
    private let factory: any MetricsFactory
    private let open = Atomic<Int>(0)
    let streamsOpen: Metrics.Recorder
    let reopens: Metrics.Counter
    let promptToFirstFrame: Metrics.Timer
    private let eventsOut: [String: Metrics.Counter]
    private let eventsIn: [String: Metrics.Counter]
    /// `eventsOut["AudioInputEvent"]`, without the lookup (50 a second per call).
    let audioInputOut: Metrics.Counter
    /// `lexconnector_stream_events_dropped_total{type="AudioInputEvent"}`, made once.
    let audioInputDropped: Metrics.Counter

    static let outTypes = ["ConfigurationEvent", "AudioInputEvent", "DTMFInputEvent", "TextInputEvent",
                           "PlaybackCompletionEvent", "DisconnectionEvent"]
    static let inTypes = ["HeartbeatEvent", "TranscriptEvent", "IntentResultEvent", "TextResponseEvent",
                          "AudioResponseEvent", "PlaybackInterruptionEvent"]

    init(factory: any MetricsFactory) {
        self.factory = factory
        streamsOpen = Metrics.Recorder(label: "lexconnector_streams_open", aggregate: false, factory: factory)
        reopens = Metrics.Counter(label: "lexconnector_stream_reopens_total", factory: factory)
        promptToFirstFrame = Metrics.Timer(label: "lexconnector_prompt_to_first_frame_seconds", preferredDisplayUnit: .seconds, factory: factory)
        func counters(_ direction: String, _ types: [String]) -> [String: Metrics.Counter] {
            Dictionary(uniqueKeysWithValues: types.map {
                ($0, Metrics.Counter(label: "lexconnector_stream_events_total", dimensions: [("direction", direction), ("type", $0)], factory: factory))
            })
        }
        eventsOut = counters("out", Self.outTypes)
        eventsIn = counters("in", Self.inTypes)
        audioInputOut = eventsOut["AudioInputEvent"]!
        audioInputDropped = Metrics.Counter(label: "lexconnector_stream_events_dropped_total",
                                            dimensions: [("type", "AudioInputEvent")], factory: factory)
    }

    func streamOpened() { streamsOpen.record(open.add(1, ordering: .relaxed).newValue) }
    func streamClosed() { streamsOpen.record(open.subtract(1, ordering: .relaxed).newValue) }

    func eventOut(_ type: String) { counter(eventsOut, "out", type).increment() }
    func eventIn(_ type: String) { counter(eventsIn, "in", type).increment() }

    /// An event of `type` not sent (see `StreamingConversation`'s `dropped`).
    func eventDropped(_ type: String) {
        if type == "AudioInputEvent" { return audioInputDropped.increment() }
        let known = Self.outTypes.contains(type) ? type : "other"
        Metrics.Counter(label: "lexconnector_stream_events_dropped_total", dimensions: [("type", known)], factory: factory).increment()
    }

    func error(_ type: String) {
        Metrics.Counter(label: "lexconnector_stream_errors_total", dimensions: [("type", type)], factory: factory).increment()
    }

    private func counter(_ known: [String: Metrics.Counter], _ direction: String, _ type: String) -> Metrics.Counter {
        known[type] ?? Metrics.Counter(label: "lexconnector_stream_events_total", dimensions: [("direction", direction), ("type", "other")], factory: factory)
    }
}
