import Foundation
import Lex
import Logging
import Synchronization
import WebSocketProtocol
import WebSocketServer

/// The parts of the configuration a SIGHUP can change, with what is derived from them.
public final class RuntimeSettings: Sendable {
    public let config: LexmoConfiguration
    let authenticator: Authenticator
    let credentials: CredentialStore

    public init(config: LexmoConfiguration, environment: [String: String]) throws(ConfigurationError) {
        self.config = config
        authenticator = Authenticator(security: config.security)
        credentials = try CredentialStore(config: config, environment: environment)
    }
}

/// The product: a WebSocket server whose upgrade paths name Lex bots, with a `CallSession`
/// per call, `/metrics`, and the server's own `/ping` and `/health`.
public final class Connector: WebSocketServerDelegate, @unchecked Sendable {
    /// The configuration the process started with (listener, loops, Lex client).
    public let configuration: LexmoConfiguration
    public let metrics: ConnectorMetrics
    public let lexClient: LexClient
    private let logger: Logger
    private let recorder: DebugRecorder?
    private let prompt: FallbackPrompt?
    private let callCounter = Atomic<UInt64>(0)
    private let instance = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    private let settings: Mutex<RuntimeSettings>
    private let callsByClient = Mutex<[String: Int]>([:])
    /// Streaming calls open on this process, by bot/alias/locale/session (README "Streaming calls").
    private let streamingSessions = Mutex<Set<String>>([])
    private let streaming: StreamingTransport
    // Set once in start(), read on the loops afterwards.
    private var environments: [CallEnvironment] = []
    public private(set) var server: WebSocketServer?

    public init(configuration: LexmoConfiguration, logger: Logger = Logger(label: "lexconnector"), metrics: ConnectorMetrics = ConnectorMetrics(),
                environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        settings = Mutex(try RuntimeSettings(config: configuration, environment: environment))
        var lexConfig = LexClientConfiguration(endpoints: LexEndpoints(v2: configuration.lex.endpointV2, v1: configuration.lex.endpointV1))
        lexConfig.requestTimeout = configuration.lex.timeout
        lexConfig.connectTimeout = configuration.lex.connectTimeout
        lexConfig.maxAttempts = configuration.lex.maxAttempts
        lexConfig.caBundlePath = configuration.lex.caFile
        lexConfig.logger = logger
        lexClient = LexClient(configuration: lexConfig)
        var h2 = HTTP2ClientConfiguration()
        h2.connectTimeout = configuration.lex.connectTimeout.seconds
        h2.caFilePath = configuration.lex.caFile
        h2.maxStreamsPerConnection = configuration.lex.streamsPerConnection
        h2.logger = logger
        streaming = StreamingTransport(endpoints: LexEndpoints(v2: configuration.lex.endpointV2, v1: configuration.lex.endpointV1),
                                       configuration: h2)
        recorder = try configuration.debug.recordDirectory.map { try DebugRecorder(directory: $0, logger: logger) }
        prompt = try configuration.call.fallbackPrompt.map { try FallbackPrompt(path: $0) }
    }

    /// Binds and starts serving.
    public func start() throws {
        var sc = WebSocketServerConfiguration()
        sc.host = configuration.server.host
        sc.port = configuration.server.port
        if configuration.server.eventLoops > 0 { sc.eventLoopCount = configuration.server.eventLoops }
        sc.reusePort = configuration.server.reusePort
        sc.maxWebSocketConnections = configuration.server.maxCalls
        sc.maxSockets = configuration.server.maxCalls * 2 + 256
        sc.maxMessageBytes = configuration.server.maxMessageBytes
        sc.handshakeTimeout = configuration.limits.handshakeTimeout
        sc.maxOutputQueueBytes = configuration.limits.outputQueueBytes
        let server = WebSocketServer(configuration: sc, delegate: self, logger: logger)
        environments = server.loops.map {
            CallEnvironment(lexClient: lexClient, metrics: metrics, pacer: Pacer(loop: $0), recorder: recorder, prompt: prompt,
                            streaming: streaming)
        }
        self.server = server
        try server.start()
        logger.info("listening", metadata: ["addresses": "\(server.addresses.joined(separator: ", "))", "loops": "\(server.loops.count)"])
        let mode = configuration.security.effectiveMode
        logger.info("authentication: \(mode.rawValue)", metadata: ["tenants": "\(configuration.security.tokens.count)", "profiles": "\(configuration.profiles.count)"])
    }

    /// SIGHUP: takes the new file's per-call settings ([vad], [call], [events], [security],
    /// profiles, [credentials], allow-lists, calls_per_client) for calls that start from now
    /// on. Settings that need a restart are reported, not applied.
    public func reload(_ new: LexmoConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) {
        let fresh = try RuntimeSettings(config: new, environment: environment)
        var ignored: [String] = []
        let old = configuration
        if new.server.host != old.server.host || new.server.port != old.server.port { ignored.append("[lexmo] host/port") }
        if new.server.eventLoops != old.server.eventLoops || new.server.reusePort != old.server.reusePort { ignored.append("[lexmo] event_loops/reuse_port") }
        if new.server.maxCalls != old.server.maxCalls || new.server.maxMessageBytes != old.server.maxMessageBytes { ignored.append("[lexmo] max_calls/max_message_bytes") }
        if new.lex.endpointV1 != old.lex.endpointV1 || new.lex.endpointV2 != old.lex.endpointV2 || new.lex.timeout != old.lex.timeout
            || new.lex.connectTimeout != old.lex.connectTimeout || new.lex.maxAttempts != old.lex.maxAttempts || new.lex.caFile != old.lex.caFile
            || new.lex.streamsPerConnection != old.lex.streamsPerConnection {
            ignored.append("[lex] endpoints/timeouts/max_attempts/ca_file/streams_per_connection")
        }
        if new.limits.handshakeTimeout != old.limits.handshakeTimeout || new.limits.outputQueueBytes != old.limits.outputQueueBytes {
            ignored.append("[limits] handshake_timeout/output_queue_bytes")
        }
        settings.withLock { $0 = fresh }
        logger.info("configuration reloaded", metadata: ["needs_restart": "\(ignored.isEmpty ? "none" : ignored.joined(separator: "; "))"])
    }

    /// The settings new calls get.
    public var currentSettings: RuntimeSettings { settings.withLock { $0 } }

    /// Stops taking calls, lets calls finish for up to `drainTimeout`, closes the rest with 1001.
    public func stop(drainTimeout: Duration, completion: @escaping @Sendable () -> Void) {
        guard let server else { return completion() }
        server.stop(drainTimeout: drainTimeout) { [lexClient, streaming] in
            lexClient.shutdown()
            streaming.shutdown()
            completion()
        }
    }

    /// What is alive right now: open calls, calls served by pacers, Lex requests in flight.
    /// For tests and diagnostics; call from outside the event loops.
    public func liveState() -> (webSockets: Int, pacedCalls: Int, lexRequests: Int) {
        let paced = environments.reduce(0) { sum, env in sum + env.pacer.loop.queue.sync { env.pacer.count } }
        return (server?.openWebSockets ?? 0, paced, lexClient.pendingRequestCount)
    }

    // MARK: - WebSocketServerDelegate

    public func route(upgrade request: HTTPRequest, connection: WebSocketConnection) -> WebSocketRoute {
        let route: CallRoute
        switch CallRoute.parse(path: request.path) {
        case .failure(let error):
            metrics.badInput(.route)
            logger.info("upgrade refused: \(error.reason)", metadata: ["peer": "\(connection.remoteAddress)", "status": "404"])
            return .respond(.text(.notFound, error.reason + "\n"))
        case .success(let r):
            route = r
        }
        let current = currentSettings
        let principal: Principal?
        switch current.authenticator.authenticate(authorization: request.headers["Authorization"], now: Date()) {
        case .failure(let failure):
            metrics.authFailure(failure.metric)
            logger.warning("authentication failed: \(failure.reason)", metadata: ["peer": "\(connection.remoteAddress)", "path": "\(request.path)"])
            return .respond(.text(.unauthorized, "unauthorized\n", headers: [HTTPField("WWW-Authenticate", "Bearer")]))
        case .success(let p):
            principal = p
        }
        let bots = current.config.security.allowedBots
        if !bots.isEmpty && !bots.contains(route.botName) {
            metrics.limitHit(.botNotAllowed)
            logger.warning("bot \(route.botName) is not in [security] allowed_bots", metadata: ["peer": "\(connection.remoteAddress)"])
            return .respond(.text(.forbidden, "this bot is not served here\n"))
        }
        let client = clientAddress(request, connection: connection, trusted: current.config.limits.trustedProxies)
        let perClient = current.config.limits.callsPerClient
        let admitted = callsByClient.withLock { counts -> Bool in
            if perClient > 0 && counts[client, default: 0] >= perClient { return false }
            counts[client, default: 0] += 1
            return true
        }
        guard admitted else {
            metrics.limitHit(.callsPerClient)
            logger.warning("client at its call limit", metadata: ["client": "\(client)", "limit": "\(perClient)"])
            return .respond(.text(.tooManyRequests, "too many calls from this address\n", headers: [HTTPField("Retry-After", "5")]))
        }
        let conversationKey = route.isStreaming ? "\(route.target)" : nil
        if let key = conversationKey, !streamingSessions.withLock({ $0.insert(key).inserted }) {
            callsByClient.withLock { counts in
                let left = counts[client, default: 1] - 1
                counts[client] = left > 0 ? left : nil
            }
            metrics.limitHit(.sessionInUse)
            logger.warning("a streaming call is already open on this session", metadata: ["session": "\(route.sessionId)", "peer": "\(connection.remoteAddress)"])
            return .respond(.text(HTTPStatus(code: 409, phrase: "Conflict"),
                                  "a streaming call is already open on this bot, alias, locale and session id; use another session id\n"))
        }
        let n = callCounter.add(1, ordering: .relaxed).newValue
        let id = "\(instance)-\(n)"
        let env = environments[connection.eventLoop.index]
        return .upgrade(CallSession(id: id, route: route, env: env, settings: current, principal: principal, logger: logger) { [weak self] in
            self?.callsByClient.withLock { counts in
                let left = counts[client, default: 1] - 1
                counts[client] = left > 0 ? left : nil
            }
            if let key = conversationKey { _ = self?.streamingSessions.withLock { $0.remove(key) } }
        })
    }

    public func respond(to request: HTTPRequest, connection: WebSocketConnection) -> HTTPResponse? {
        if request.path == "/metrics" {
            return .init(status: .ok, headers: [HTTPField("Content-Type", "text/plain; version=0.0.4")], body: metrics.exposition())
        }
        if CallRoute.parse(path: request.path).isSuccess {
            return .text(.upgradeRequired, "this path takes a WebSocket upgrade\n", headers: [HTTPField("Upgrade", "websocket")])
        }
        return nil
    }

    /// Limits hit and bad input seen by the server itself: counted, and the operator's one line.
    public func serverCounted(_ violation: WebSocketServerViolation, peer: String?) {
        logger.info("refused or cut off: \(violation.name)", metadata: ["peer": "\(peer ?? "-")"])
        switch violation {
        case .serverFull: metrics.limitHit(.serverFull)
        case .tooManySockets: metrics.limitHit(.tooManySockets)
        case .handshakeTimeout: metrics.limitHit(.handshakeTimeout)
        case .outputQueueOverflow: metrics.limitHit(.outputQueueOverflow)
        case .upgradeWhileDraining: metrics.limitHit(.upgradeWhileDraining)
        case .httpStatus, .protocolViolation: metrics.badInput(server: violation)
        }
    }

    /// The peer's address, or the `X-Real-IP` a trusted proxy (nginx) put in.
    private func clientAddress(_ request: HTTPRequest, connection: WebSocketConnection, trusted: [String]) -> String {
        if trusted.contains(connection.remoteHost), let real = request.headers["X-Real-IP"]?.trimmingCharacters(in: .whitespaces), !real.isEmpty {
            return real
        }
        return connection.remoteHost
    }
}

extension CallRoute {
    /// The V2 bot id or the V1 bot name (what `[security] allowed_bots` lists).
    var botName: String {
        switch self {
        case .v1(let b, _, _): return b
        case .v2(let b, _, _, _), .v2Conversation(let b, _, _, _): return b
        }
    }
}

extension Result {
    var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}
