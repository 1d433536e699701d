import Audio
import Dispatch
import Lex
import Logging
import WebSocketServer

/// One phone call, confined to its connection's event loop: the I/O shell of
/// `CallStateMachine`. It turns the WebSocket's callbacks, the pacing tick and the Lex
/// conversation's callbacks into the machine's inputs, with the time read here (the only
/// clock read of a call), and runs the actions the machine returns. It decides nothing.
final class CallSession: WebSocketHandler, PacedSession, LexConversationDelegate, StreamingConversationDelegate, @unchecked Sendable {
    // What every input and tick touches first, so that it shares the object's first cache lines.
    private var machine: CallStateMachine
    /// Set while `run()` works through the actions (an action may lead back to an input).
    private var running = false
    private weak var connection: WebSocketConnection?
    private let env: CallEnvironment
    private var streaming: StreamingConversation?
    private var conversation: (any LexConversation)?
    private var events: EventSink?
    private var pacerRegistered = false
    let id: String
    let route: CallRoute
    private let eventSecret: Secret?
    private let eventTimeout: Duration
    private let onEnd: @Sendable () -> Void
    private var logger: Logger
    private let principal: Principal?

    init(id: String, route: CallRoute, env: CallEnvironment, settings: RuntimeSettings, principal: Principal?,
         logger: Logger, onEnd: @escaping @Sendable () -> Void) {
        self.id = id
        self.route = route
        self.env = env
        self.principal = principal
        eventSecret = settings.config.events.secret
        eventTimeout = settings.config.events.timeout
        self.onEnd = onEnd
        var l = logger
        l[metadataKey: "call"] = "\(id)"
        self.logger = l
        // The start timeout counts from here, the upgrade (microseconds before the open).
        machine = CallStateMachine(
            context: CallContext(route: route, principal: principal, credentialStore: settings.credentials,
                                 configuration: settings.config, fallbackPrompt: env.prompt, recording: env.recorder != nil),
            openedAt: Self.now())
    }

    static func now() -> Instant { Instant(nanoseconds: DispatchTime.now().uptimeNanoseconds) }

    // MARK: - Inputs

    func webSocketDidOpen(_ connection: WebSocketConnection) {
        self.connection = connection
        connection.setLogMetadata("call", id)
        env.pacer.add(self)
        pacerRegistered = true
        logger.info("call connected", metadata: ["api": "\(route.api)", "session": "\(route.sessionId)", "peer": "\(connection.remoteAddress)"])
        run()
    }

    func webSocket(_ connection: WebSocketConnection, didReceiveText text: String) {
        machine.receiveText(text, at: Self.now())
        run()
    }

    func webSocket(_ connection: WebSocketConnection, didReceiveBinary data: [UInt8]) {
        machine.receiveAudio(data, at: Self.now())
        run()
    }

    func webSocketDidClose(_ connection: WebSocketConnection, code: WebSocketCloseCode, reason: String, byPeer: Bool) {
        machine.connectionClosed(code: code, reason: reason, byPeer: byPeer, at: Self.now())
        run()
    }

    func tick(at now: Instant) {
        machine.tick(at: now)
        run()
    }

    func lexReplyStarted(_ turn: LexTurn) {
        machine.lexReplyStarted(turn, at: Self.now())
        run()
    }

    func lexReplyAudio(_ chunk: [UInt8]) {
        machine.lexAudio(chunk, at: Self.now())
        run()
    }

    func lexTurnCompleted(_ result: Result<LexTurn, LexError>) {
        machine.lexCompleted(result, at: Self.now())
        run()
    }

    func lexStream(_ input: LexStreamInput) {
        machine.lexStream(input, at: Self.now())
        run()
    }

    // MARK: - Actions

    /// Runs the machine's actions in order, including those of inputs that running them causes.
    private func run() {
        guard !running else { return }
        running = true
        // One load of the weak reference for the whole batch, not one per action.
        let connection = self.connection
        var i = 0
        while i < machine.actions.count {
            let action = machine.actions[i]
            i += 1
            perform(action, connection)
        }
        machine.clearActions()
        running = false
    }

    private func perform(_ action: CallAction, _ connection: WebSocketConnection?) {
        switch action {
        case .started(let settings):
            if let c = settings.clientId { logger[metadataKey: "client"] = "\(c)" }
            if let p = principal { logger[metadataKey: "tenant"] = "\(p.tenant)" }
            if route.isStreaming {
                startStreaming(settings)
            } else {
                let conversation = TurnBasedConversation(client: env.lexClient, target: route.target, settings: settings,
                                                         queue: env.pacer.loop.queue, logger: logger)
                conversation.delegate = self
                self.conversation = conversation
            }
            if let url = settings.webhookURL {
                events = EventSink(url: url, secret: eventSecret, timeout: eventTimeout, client: env.lexClient, logger: logger, metrics: env.metrics,
                                   base: EventEnvelope(callId: id, sessionId: route.sessionId, service: "lex-\(route.api)", clientId: settings.clientId))
            }
        case .sendText(let text):
            connection?.sendText(text)
        case .sendFrame(let frame):
            connection?.sendBinary(frame)
        case .sendToLex(let input, let attributes):
            conversation?.startTurn(input, sessionAttributes: attributes)
        case .cancelLex:
            conversation?.cancelTurn()
        case .streamAudio(let pcm):
            streaming?.sendAudio(pcm)
        case .streamDTMF(let digit):
            streaming?.sendDTMF(digit)
        case .streamPlaybackCompleted:
            streaming?.sendPlaybackCompletion()
        case .reopenStream(let attributes):
            streaming?.open(sessionAttributes: attributes)
        case .endStream:
            streaming?.end()
        case .emit(let event):
            events?.emit(event)
        case .count(let metric):
            count(metric)
        case .record(let samples, let rate, let kind):
            env.recorder?.record(samples: samples, rate: rate, call: id, kind: kind.rawValue)
        case .log(let level, let message, let metadata):
            logger.log(level: level, message, metadata: metadata)
        case .close(let code, let reason):
            connection?.close(code: code, reason: reason)
        case .release:
            if pacerRegistered { env.pacer.remove(self); pacerRegistered = false }
            env.metrics.callEnded()
            onEnd()
        }
    }

    private func count(_ metric: CallMetric) {
        let m = env.metrics
        switch metric {
        case .callStarted: m.callStarted()
        case .framesPlayed(let n): m.framesPlayed.increment(by: n)
        case .framesLate(let n): m.framesLate.increment(by: n)
        case .framesReceived(let n): m.framesReceived.increment(by: n)
        case .utterance(let outcome): m.utterance(outcome)
        case .lexRequest(let api, let status): m.lexRequest(api: api, status: status)
        case .error(let kind): m.error(kind)
        case .badInput(let kind): m.badInput(kind)
        case .lexLatency(let d): m.lexLatency.recordNanoseconds(d.wholeNanoseconds)
        case .speechToRequest(let d): m.speechToRequest.recordNanoseconds(d.wholeNanoseconds)
        case .replyToFirstFrame(let d): m.replyToFirstFrame.recordNanoseconds(d.wholeNanoseconds)
        case .streamError(let type): m.streams.error(type)
        case .streamReopened: m.streams.reopens.increment()
        case .promptToFirstFrame(let d): m.streams.promptToFirstFrame.recordNanoseconds(d.wholeNanoseconds)
        }
    }

    /// A streaming call's conversation: one StartConversation stream, opened at once.
    private func startStreaming(_ settings: CallSettings) {
        guard let transport = env.streaming else {
            logger.error("streaming call on a server without a streaming transport")
            return lexStream(.failed(.reset("this server has no HTTP/2 client for streaming calls")))
        }
        let conversation = StreamingConversation(client: transport.client, target: route.target, endpoints: transport.endpoints,
                                                 settings: settings, queue: env.pacer.loop.queue, logger: logger,
                                                 metrics: env.metrics.streams)
        conversation.delegate = self
        streaming = conversation
        conversation.open(sessionAttributes: settings.sessionAttributes)
    }
}
