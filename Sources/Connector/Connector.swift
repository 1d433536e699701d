import Foundation
import Lex
import Logging
import Synchronization
import WebSocketServer

/// The product: a WebSocket server whose upgrade paths name Lex bots, with a `CallSession`
/// per call, `/metrics`, and the server's own `/ping` and `/health`.
public final class Connector: WebSocketServerDelegate, @unchecked Sendable {
    public let configuration: LexmoConfiguration
    public let metrics: ConnectorMetrics
    public let lexClient: LexClient
    private let logger: Logger
    private let recorder: DebugRecorder?
    private let prompt: FallbackPrompt?
    private let callCounter = Atomic<UInt64>(0)
    private let instance = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    // Set once in start(), read on the loops afterwards.
    private var environments: [CallEnvironment] = []
    public private(set) var server: WebSocketServer?

    public init(configuration: LexmoConfiguration, logger: Logger = Logger(label: "lexconnector"), metrics: ConnectorMetrics = ConnectorMetrics()) throws {
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        var lexConfig = LexClientConfiguration(endpoints: LexEndpoints(v2: configuration.lex.endpointV2, v1: configuration.lex.endpointV1))
        lexConfig.requestTimeout = Double(configuration.lex.timeoutMs) / 1000
        lexConfig.connectTimeout = Double(configuration.lex.connectTimeoutMs) / 1000
        lexConfig.maxAttempts = configuration.lex.maxAttempts
        lexConfig.caBundlePath = configuration.lex.caFile
        lexConfig.logger = logger
        lexClient = LexClient(configuration: lexConfig)
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
        let server = WebSocketServer(configuration: sc, delegate: self, logger: logger)
        environments = server.loops.map {
            CallEnvironment(config: configuration, lexClient: lexClient, metrics: metrics, pacer: Pacer(loop: $0), recorder: recorder, prompt: prompt)
        }
        self.server = server
        try server.start()
    }

    /// Stops accepting, lets calls finish for up to `drainTimeout` seconds, closes the rest with 1001.
    public func stop(drainTimeout: Double, completion: @escaping @Sendable () -> Void) {
        guard let server else { return completion() }
        server.stop(drainTimeout: drainTimeout) { [lexClient] in
            lexClient.shutdown()
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
        switch CallRoute.parse(path: request.path) {
        case .failure(let error):
            metrics.badInput("route")
            return .respond(ServerResponse.text(.notFound, error.reason + "\n"))
        case .success(let route):
            let n = callCounter.add(1, ordering: .relaxed).newValue
            let id = "\(instance)-\(n)"
            let env = environments[connection.eventLoop.index]
            return .upgrade(CallSession(id: id, route: route, env: env, logger: logger))
        }
    }

    public func respond(to request: HTTPRequest, connection: WebSocketConnection) -> ServerResponse? {
        if request.path == "/metrics" {
            return ServerResponse(status: .ok, headers: [("Content-Type", "text/plain; version=0.0.4")], body: metrics.exposition())
        }
        if CallRoute.parse(path: request.path).isSuccess {
            return ServerResponse.text(.upgradeRequired, "this path takes a WebSocket upgrade\n", headers: [("Upgrade", "websocket")])
        }
        return nil
    }
}

extension Result {
    var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}
