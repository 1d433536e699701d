// Linux only: the event loops are epoll sets.
import Glibc
import Dispatch
import Logging
import Synchronization
// The server's API speaks the protocol's types (frames, close codes, requests, responses):
// a user of the server gets them with it.
@_exported import WebSocketProtocol

/// What the application answers to an upgrade request.
public enum WebSocketRoute {
    /// Accept: this handler gets the connection's messages.
    case upgrade(WebSocketHandler)
    /// Refuse with this response (404 for an unknown path, 401, 503, ...).
    case respond(HTTPResponse)
}

/// The application side of the server. Called on the connection's event loop.
public protocol WebSocketServerDelegate: AnyObject, Sendable {
    /// An upgrade request that passed the RFC 6455 checks.
    func route(upgrade request: HTTPRequest, connection: WebSocketConnection) -> WebSocketRoute
    /// A plain HTTP request other than the built-in `/ping` and `/health`; `nil` means 404.
    func respond(to request: HTTPRequest, connection: WebSocketConnection) -> HTTPResponse?
    /// Something refused or cut off (the kinds of `WebSocketServerCounters.violations`), for
    /// metrics and the operator's log line (the server itself logs it at debug); `peer` is the
    /// connection's address when there is one. Called on whatever queue saw it; must be cheap
    /// and thread-safe.
    func serverCounted(_ violation: WebSocketServerViolation, peer: String?)
}

extension WebSocketServerDelegate {
    public func respond(to request: HTTPRequest, connection: WebSocketConnection) -> HTTPResponse? { nil }
    public func serverCounted(_ violation: WebSocketServerViolation, peer: String?) {}
}

/// Counters of what the server refused or cut off, for metrics.
public struct WebSocketServerCounters: Sendable {
    public var accepted = 0
    public var acceptRefused = 0
    public var webSocketsOpened = 0
    public var httpResponses: [Int: Int] = [:]
    public var closesSent: [UInt16: Int] = [:]
    /// Bad input and limits hit, by kind.
    public var violations: [WebSocketServerViolation: Int] = [:]
}

/// A hand-rolled HTTP/1.1 + RFC 6455 WebSocket server: one listener per bound address (a
/// Dispatch read source on the accept queue), N event loops (each an epoll set of its sockets,
/// watched by one Dispatch source), connections spread round-robin.
public final class WebSocketServer: @unchecked Sendable {
    public let configuration: WebSocketServerConfiguration
    public let loops: [EventLoop]
    let logger: Logger
    /// Weak: the delegate usually owns the server (`Connector` does), and a strong reference
    /// back kept both, with their event loops and timers, alive for ever after a stop. Whoever
    /// starts a server keeps its delegate.
    private weak var delegate: (any WebSocketServerDelegate)?
    private let acceptQueue = DispatchQueue(label: "lexconnector.accept")
    // Confined to acceptQueue:
    private var listeners: [(fd: Int32, source: DispatchSourceRead)] = []
    private var nextLoop = 0
    private var nextID: UInt64 = 0
    private var acceptPaused = false

    let counters = Mutex(WebSocketServerCounters())
    private let socketCount = Atomic<Int>(0)
    private let webSocketCount = Atomic<Int>(0)
    private let draining = Atomic<Bool>(false)
    private let boundPort = Atomic<Int>(0)
    private let addressList = Mutex<[String]>([])

    /// `delegate` is held weakly: keep it alive for as long as the server runs.
    public init(configuration: WebSocketServerConfiguration, delegate: WebSocketServerDelegate, logger: Logger = Logger(label: "lexconnector.ws")) {
        self.configuration = configuration
        self.delegate = delegate
        self.logger = logger
        loops = (0..<max(1, configuration.eventLoopCount)).map { EventLoop(index: $0) }
    }

    /// The bound port (useful with port 0).
    public var port: Int { boundPort.load(ordering: .acquiring) }
    /// The bound addresses, `host:port`.
    public var addresses: [String] { addressList.withLock { $0 } }
    public var openWebSockets: Int { webSocketCount.load(ordering: .relaxed) }
    public var openSockets: Int { socketCount.load(ordering: .relaxed) }
    public var isDraining: Bool { draining.load(ordering: .relaxed) }
    public var counterSnapshot: WebSocketServerCounters { counters.withLock { $0 } }

    /// Binds and listens on every address of `configuration.host`, then starts accepting.
    public func start() throws {
        let addrs = try Socket.resolve(host: configuration.host, port: configuration.port)
        var fds: [Int32] = []
        var port = configuration.port
        do {
            for var addr in addrs {
                if port != 0 { Socket.setPort(&addr, port) }
                let fd = try bindListener(addr)
                fds.append(fd)
                if port == 0 { port = localPort(fd) }
            }
        } catch {
            fds.forEach { _ = Glibc.close($0) }
            throw error
        }
        boundPort.store(port, ordering: .releasing)
        addressList.withLock { list in list = addrs.map { var a = $0; Socket.setPort(&a, port); return Socket.describe(a) } }
        for loop in loops { loop.queue.async { loop.startHousekeeping() } }
        acceptQueue.sync {
            for fd in fds {
                let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: acceptQueue)
                source.setEventHandler { [weak self] in self?.acceptAll(fd) }
                source.setCancelHandler { _ = Glibc.close(fd) }
                listeners.append((fd, source))
                source.resume()
            }
        }
        logger.debug("listening", metadata: ["addresses": "\(addresses.joined(separator: ", "))", "loops": "\(loops.count)"])
    }

    private func bindListener(_ addr: sockaddr_storage) throws -> Int32 {
        let family = Int32(addr.ss_family)
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(call: "socket", errno: errno) }
        do {
            try Socket.setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            if configuration.reusePort { try Socket.setOption(fd, SOL_SOCKET, SO_REUSEPORT, 1) }
            // A "::" listener also takes IPv4 unless the host list binds IPv4 separately.
            if family == AF_INET6 { try Socket.setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, configuration.host == "::" ? 0 : 1) }
            try Socket.setNonBlocking(fd)
            var a = addr
            let rc = withUnsafePointer(to: &a) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, Socket.length(of: addr)) }
            }
            guard rc == 0 else { throw SocketError(call: "bind(\(Socket.describe(addr)))", errno: errno) }
            guard listen(fd, configuration.backlog) == 0 else { throw SocketError(call: "listen", errno: errno) }
        } catch {
            _ = Glibc.close(fd)
            throw error
        }
        return fd
    }

    private func localPort(_ fd: Int32) -> Int {
        var ss = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &ss) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return Socket.port(of: ss)
    }

    private func acceptAll(_ listener: Int32) {
        while !acceptPaused {
            var ss = sockaddr_storage()
            var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &ss) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    accept(listener, $0, &len)
                }
            }
            if fd < 0 {
                let e = errno
                if e == EAGAIN || e == EWOULDBLOCK { return }
                if e == EINTR || e == ECONNABORTED { continue }
                if e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM {
                    // Out of descriptors: stop accepting for a moment instead of spinning.
                    logger.error("accept failed; pausing for 100 ms", metadata: ["errno": "\(e)"])
                    counters.withLock { $0.acceptRefused += 1 }
                    acceptPaused = true
                    acceptQueue.asyncAfter(deadline: .now() + .milliseconds(100)) { [weak self] in
                        guard let self else { return }
                        self.acceptPaused = false
                        self.listeners.forEach { self.acceptAll($0.fd) }
                    }
                }
                return
            }
            if socketCount.load(ordering: .relaxed) >= configuration.maxSockets {
                counters.withLock { $0.acceptRefused += 1 }
                countViolation(.tooManySockets, peer: nil)
                _ = Glibc.close(fd)
                continue
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            guard (try? Socket.setNonBlocking(fd)) != nil else {
                _ = Glibc.close(fd)
                continue
            }
            try? Socket.setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
            socketCount.add(1, ordering: .relaxed)
            counters.withLock { $0.accepted += 1 }
            nextID += 1
            let id = nextID
            let loop = loops[nextLoop]
            nextLoop = (nextLoop + 1) % loops.count
            let log = logger
            let remote = ss
            loop.queue.async { [self] in
                WebSocketConnection(fd: fd, remote: remote, id: id, loop: loop, server: self, logger: log).start()
            }
        }
    }

    // MARK: - Called by connections (on their loop)

    func countViolation(_ violation: WebSocketServerViolation, peer: String?) {
        counters.withLock { $0.violations[violation, default: 0] += 1 }
        delegate?.serverCounted(violation, peer: peer)
    }

    func routeUpgrade(_ request: HTTPRequest, connection: WebSocketConnection) -> WebSocketRoute {
        if isDraining {
            countViolation(.upgradeWhileDraining, peer: connection.remoteAddress)
            return .respond(.text(.serviceUnavailable, "server is shutting down\n", headers: [HTTPField("Retry-After", "5")]))
        }
        if webSocketCount.load(ordering: .relaxed) >= configuration.maxWebSocketConnections {
            countViolation(.serverFull, peer: connection.remoteAddress)
            return .respond(.text(.serviceUnavailable, "server is at its connection limit\n", headers: [HTTPField("Retry-After", "5")]))
        }
        guard let delegate else { return .respond(.text(.serviceUnavailable, "server is shutting down\n")) }
        return delegate.route(upgrade: request, connection: connection)
    }

    func plainResponse(for request: HTTPRequest, connection: WebSocketConnection) -> HTTPResponse {
        let path = request.path
        let builtIn = path == "/ping" || path == "/health"
        if request.method != "GET" && request.method != "HEAD" {
            return .text(.methodNotAllowed, "method \(request.method) not allowed\n", headers: [HTTPField("Allow", "GET, HEAD")])
        }
        if path == "/ping" { return .text(.ok, "ok") }
        if path == "/health" { return healthResponse() }
        if !builtIn, let r = delegate?.respond(to: request, connection: connection) { return r }
        return .text(.notFound, "no route for \(path)\n")
    }

    /// `/health`: 200 with `"status":"ok"`, or 503 with `"status":"draining"`.
    public func healthResponse() -> HTTPResponse {
        let status = isDraining ? "draining" : "ok"
        let json = "{\"status\":\"\(status)\",\"websockets\":\(openWebSockets),\"sockets\":\(openSockets),\"loops\":\(loops.count)}"
        return .json(isDraining ? .serviceUnavailable : .ok, json)
    }

    func webSocketOpened() {
        webSocketCount.add(1, ordering: .relaxed)
        counters.withLock { $0.webSocketsOpened += 1 }
    }

    func connectionClosed(_ connection: WebSocketConnection, wasWebSocket: Bool) {
        socketCount.subtract(1, ordering: .relaxed)
        if wasWebSocket { webSocketCount.subtract(1, ordering: .relaxed) }
    }

    // MARK: - Stopping

    /// Stops taking calls: upgrades get 503 and `/health` answers 503 `draining`, so load
    /// balancers move away; the listener stays open for those answers until `stop` ends.
    /// With `reusePort` the listener closes at once instead: the kernel would otherwise keep
    /// handing this process a share of new connections that another process could take.
    public func beginDraining() {
        guard !draining.exchange(true, ordering: .relaxed) else { return }
        if configuration.reusePort {
            closeListeners()
            logger.debug("draining: listener closed (reuse_port: other processes on the port take new calls)")
        } else {
            logger.debug("draining: new calls are refused with 503")
        }
    }

    /// Cancels the listening sources (their cancel handlers close the sockets). Asynchronous:
    /// callable from any queue, the accept queue included.
    private func closeListeners() {
        acceptQueue.async { [self] in
            listeners.forEach { $0.source.cancel() }
            listeners = []
        }
    }

    /// Stops: no new calls (503), then waits up to `drainTimeout` for WebSocket
    /// connections to end by themselves, then stops listening, closes the rest with 1001 and
    /// waits up to the close timeout for them. `completion` runs when every socket is closed.
    public func stop(drainTimeout: Duration = .zero, completion: @escaping @Sendable () -> Void) {
        beginDraining()
        let drainDeadline = DispatchTime.now() + drainTimeout.seconds
        waitUntil({ [weak self] in (self?.openWebSockets ?? 0) == 0 }, deadline: drainDeadline) { [weak self] in
            guard let self else { return completion() }
            self.closeListeners()
            for loop in self.loops {
                loop.queue.async {
                    for c in loop.connections.values {
                        if c.isWebSocketOpen { c.close(code: .goingAway, reason: "server shutting down") } else if c.request == nil { c.closeSocket() }
                    }
                }
            }
            let closeDeadline = DispatchTime.now() + (self.configuration.closeTimeout + .milliseconds(500)).seconds
            self.waitUntil({ [weak self] in (self?.openSockets ?? 0) == 0 }, deadline: closeDeadline) { [weak self] in
                guard let self else { return completion() }
                // Anything still open after the close timeout is cut.
                let group = DispatchGroup()
                for loop in self.loops {
                    group.enter()
                    loop.queue.async {
                        for c in Array(loop.connections.values) { c.closeSocket() }
                        group.leave()
                    }
                }
                group.notify(queue: self.acceptQueue) {
                    self.logger.debug("stopped")
                    completion()
                }
            }
        }
    }

    private func waitUntil(_ condition: @escaping @Sendable () -> Bool, deadline: DispatchTime, then: @escaping @Sendable () -> Void) {
        if condition() || DispatchTime.now() >= deadline { return then() }
        acceptQueue.asyncAfter(deadline: min(deadline, .now() + .milliseconds(50))) { [weak self] in
            guard let self else { return then() }
            self.waitUntil(condition, deadline: deadline, then: then)
        }
    }
}
