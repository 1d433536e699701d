#if canImport(Glibc)
import Glibc
#endif
import CEpoll
import CNghttp2
import Dispatch
import Foundation

/// A bidirectional HTTP/2 streaming client over nghttp2 (RFC 9113): `https://` negotiates `h2`
/// by ALPN over OpenSSL (peer certificate and host name verified), `http://` speaks HTTP/2 with
/// prior knowledge (h2c). One thread of its own waits in `epoll_wait` on every connection and an
/// eventfd; callers reach it through a locked command queue. Streams to one origin share a
/// connection up to `maxStreamsPerConnection` and the server's SETTINGS_MAX_CONCURRENT_STREAMS.
/// Idle, the thread sleeps (a PING per `pingInterval` on connections with open streams).
/// Call `shutdown()` when done: the thread holds the client.
///
/// Why not libcurl: Debian 12's libcurl 7.88.1, driven with paused uploads of unknown length as
/// a daemon must, spins a whole core once a stream's flow-control window is spent (curl
/// #10618, #7821) and did not multiplex paused uploads; measured in BENCHMARKS.md, "HTTP/2
/// streaming transport", with the CPU this client costs idle and per 320-byte chunk.
public final class HTTP2Client: @unchecked Sendable {
    enum Command {
        case open(HTTP2Stream)
        case resume(HTTP2Stream)
        case cancel(HTTP2Stream)
        case consume(HTTP2Stream, Int)
        case resolved(UInt64, Result<[HTTP2Address], HTTP2Error>)
        case shutdown
    }

    /// Connections and streams right now (updated by the client thread).
    public struct Statistics: Sendable, Equatable {
        public var connections = 0
        public var streams = 0
        public init(connections: Int = 0, streams: Int = 0) {
            self.connections = connections
            self.streams = streams
        }
    }

    public let configuration: HTTP2ClientConfiguration
    private let epollFD: Int32
    private let wakeFD: Int32
    private let lock = NSLock()
    private var commands: [Command] = []
    private var wakePending = false
    /// A coalesced flush is due: callers need not wake the thread for `resume` or `consume`.
    private var flushArmed = false
    private var stopped = false
    private var stats = Statistics()

    // Client thread only.
    private var connections: [UInt64: HTTP2Connection] = [:]
    private var pools: [String: [HTTP2Connection]] = [:]
    private var byFD: [Int32: UInt64] = [:]
    private var dirty: [HTTP2Connection] = []
    private var coalesced: [HTTP2Connection] = []
    private var flushDeadline: UInt64 = .max
    private var lastCoalescedFlush: UInt64 = 0
    private var nextID: UInt64 = 1
    private var nextDeadline: UInt64 = .max
    private var sslContext: OpaquePointer?
    private var running = true

    public init(configuration: HTTP2ClientConfiguration = HTTP2ClientConfiguration()) {
        self.configuration = configuration
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC))
        precondition(epollFD >= 0 && wakeFD >= 0, "epoll_create1/eventfd failed: errno \(errno)")
        var ev = epoll_event()
        ev.events = EPOLLIN.rawValue
        ev.data.fd = wakeFD
        epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &ev)
        let thread = Thread { [self] in run() }
        thread.name = "lex-http2"
        thread.start()
    }

    /// Opens a stream: `method` (POST) on `url` with `headers` (sent with lower-case names, RFC
    /// 9113 §8.2.1; sensitive ones, `HTTPField.isSensitive`, never-indexed and never logged). Returns at once; the
    /// connection is made or reused on the client thread and `handlers` run on `queue` (serial).
    /// Throws `.invalidURL`, or `.clientStopped` after `shutdown`.
    public func open(url: String, method: String = "POST", headers: HTTPFields, queue: DispatchQueue,
                     handlers: HTTP2StreamHandlers) throws(HTTP2Error) -> HTTP2Stream {
        let parsed = try HTTP2URL(url)
        let stream = HTTP2Stream(url: parsed, method: method, headers: headers, handlers: handlers, queue: queue,
                                 configuration: configuration, client: self)
        guard post(.open(stream)) else { throw .clientStopped }
        return stream
    }

    public var statistics: Statistics {
        lock.lock()
        defer { lock.unlock() }
        return stats
    }

    /// Ends every stream with `.clientStopped`, closes the connections and the thread.
    public func shutdown() {
        post(.shutdown)
    }

    @discardableResult
    func post(_ command: Command) -> Bool {
        lock.lock()
        if stopped {
            lock.unlock()
            return false
        }
        if case .shutdown = command { stopped = true }
        commands.append(command)
        var deferrable = false
        switch command {
        case .resume, .consume: deferrable = flushArmed
        default: break
        }
        let wake = !wakePending && !deferrable
        if wake { wakePending = true }
        lock.unlock()
        // `wakeFD` stays open while anyone can post: it is closed in `deinit`, not when the
        // thread ends (a write racing that close could land in a descriptor that reused the
        // number).
        if wake {
            var one: UInt64 = 1
            _ = Glibc.write(wakeFD, &one, 8)
        }
        return true
    }

    // MARK: thread

    private func run() {
        lc_h2_set_thread_name("lex-http2")  // visible in top -H and /proc/<pid>/task
        let capacity = 256
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: capacity)
        defer { events.deallocate() }
        while running {
            let now = Self.now()
            let due = min(nextDeadline, flushDeadline)
            let timeout: Int32 = due == .max ? -1 : Int32(clamping: (due.subtractingReportingOverflow(now).partialValue / 1_000_000) + 1)
            let n = epoll_wait(epollFD, events, Int32(capacity), due <= now ? 0 : timeout)
            for i in 0..<max(0, Int(n)) {
                let ev = events[i]
                if ev.data.fd == wakeFD {
                    var value: UInt64 = 0
                    _ = Glibc.read(wakeFD, &value, 8)
                    continue
                }
                guard let id = byFD[ev.data.fd], let c = connections[id] else { continue }
                let flags = ev.events
                c.handle(readable: flags & (EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0,
                         writable: flags & (EPOLLOUT.rawValue | EPOLLERR.rawValue) != 0)
            }
            let flushDue = Self.now() >= flushDeadline
            if flushDue {
                lastCoalescedFlush = flushDeadline
                flushDeadline = .max
                lock.withLock { flushArmed = false }
            }
            runCommands()
            if flushDue {
                for c in coalesced {
                    c.isCoalesced = false
                    markDirty(c)
                }
                coalesced = []
            }
            let after = Self.now()
            if after >= nextDeadline { checkTimers(now: after) }
            while !dirty.isEmpty {
                let batch = dirty
                dirty = []
                for c in batch {
                    c.isDirty = false
                    c.flush()
                }
            }
        }
        sslContext.map { SSL_CTX_free($0) }
    }

    deinit {
        close(epollFD)
        close(wakeFD)
    }

    private func runCommands() {
        lock.lock()
        let batch = commands
        commands = []
        wakePending = false
        lock.unlock()
        for command in batch {
            switch command {
            case .open(let stream): place(stream)
            case .resume(let stream): stream.connection?.resume(stream)
            case .cancel(let stream):
                if let c = stream.connection { c.cancel(stream) } else { stream.deliverEnd(.cancelled) }
            case .consume(let stream, let bytes): stream.connection?.consume(stream, bytes: bytes)
            case .resolved(let id, let result): connections[id]?.resolved(result)
            case .shutdown:
                running = false
                for c in Array(connections.values) { c.fail(.clientStopped) }
            }
        }
    }

    /// Puts `stream` on a connection to its origin that accepts one, or on a new connection.
    private func place(_ stream: HTTP2Stream) {
        let now = Self.now()
        let key = stream.url.origin
        if let c = pools[key]?.first(where: { $0.accepts }) {
            c.add(stream, now: now)
        } else {
            let c = HTTP2Connection(id: nextID, origin: stream.url, client: self, configuration: configuration, now: now)
            nextID += 1
            connections[c.id] = c
            pools[key, default: []].append(c)
            c.add(stream, now: now)
            resolve(c)
        }
        nextDeadline = min(nextDeadline, stream.responseDeadline, stream.connection?.earliestDeadline ?? .max)
        statisticsChanged()
    }

    /// A numeric host (an IP literal) resolves at once, on the client thread. A name needs
    /// getaddrinfo, which may block on DNS: it runs on a thread of its own (not a shared
    /// Dispatch pool, which busy callers could starve past the connect timeout) and posts the
    /// addresses back.
    private func resolve(_ connection: HTTP2Connection) {
        let (id, host, port) = (connection.id, connection.origin.host, connection.origin.port)
        if case .success(let list) = Self.addresses(host: host, port: port, flags: AI_NUMERICHOST | AI_NUMERICSERV) {
            return connection.resolved(.success(list))
        }
        let thread = Thread { [self] in post(.resolved(id, Self.addresses(host: host, port: port, flags: 0))) }
        thread.name = "lex-http2-resolve"
        thread.start()
    }

    /// getaddrinfo's addresses for `host` (with `AI_NUMERICHOST`, a name is a failure).
    private static func addresses(host: String, port: Int, flags: Int32) -> Result<[HTTP2Address], HTTP2Error> {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = flags
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0 else { return .failure(.connectFailed(host: host, port: port, reason: String(cString: gai_strerror(rc)))) }
        defer { freeaddrinfo(list) }
        var addresses: [HTTP2Address] = []
        var p = list
        while let a = p {
            var storage = sockaddr_storage()
            memcpy(&storage, a.pointee.ai_addr, Int(a.pointee.ai_addrlen))
            addresses.append(HTTP2Address(family: a.pointee.ai_family, storage: storage, length: a.pointee.ai_addrlen))
            p = a.pointee.ai_next
        }
        return .success(addresses)
    }

    private func checkTimers(now: UInt64) {
        for c in Array(connections.values) { c.checkTimers(now: now) }
        var next = UInt64.max
        for c in connections.values {
            next = min(next, c.earliestDeadline)
            for s in c.waiting { next = min(next, s.responseDeadline) }
            for s in c.streams.values { next = min(next, s.responseDeadline) }
        }
        nextDeadline = next
    }

    // MARK: for connections (client thread)

    func tlsContext() throws(HTTP2Error) -> OpaquePointer {
        if let sslContext { return sslContext }
        guard let ctx = lc_h2_client_ctx(configuration.caFilePath) else {
            throw .tlsFailed(host: "-", reason: "cannot load the CA file '\(configuration.caFilePath ?? "system store")': \(HTTP2Socket.sslErrorText())")
        }
        sslContext = ctx
        return ctx
    }

    func watch(_ fd: Int32, connection: HTTP2Connection, write: Bool, modify: Bool = false) {
        var ev = epoll_event()
        ev.events = EPOLLIN.rawValue | (write ? EPOLLOUT.rawValue : 0)
        ev.data.fd = fd
        byFD[fd] = connection.id
        epoll_ctl(epollFD, modify ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev)
        nextDeadline = min(nextDeadline, connection.earliestDeadline)
    }

    func unwatch(_ fd: Int32) {
        var ev = epoll_event()
        epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, &ev)
        byFD[fd] = nil
    }

    /// A deadline of `connection` moved: the thread's next wakeup comes no later than it.
    func deadlineChanged(_ connection: HTTP2Connection) {
        nextDeadline = min(nextDeadline, connection.earliestDeadline)
    }

    func markDirty(_ connection: HTTP2Connection) {
        if !connection.isDirty {
            connection.isDirty = true
            dirty.append(connection)
        }
        nextDeadline = min(nextDeadline, connection.earliestDeadline)
    }

    /// Like `markDirty`, at most once per `sendCoalescingInterval`: the first flush of an
    /// interval happens at once (a lone stream's chunk is not delayed), later ones wait for the
    /// interval's end, so the chunks callers send meanwhile leave in the same write and callers
    /// need not wake this thread for them.
    func markDirtyCoalesced(_ connection: HTTP2Connection) {
        let interval = Self.nanoseconds(configuration.sendCoalescingInterval)
        guard interval > 0 else { return markDirty(connection) }
        let now = Self.now()
        if flushDeadline == .max && now >= lastCoalescedFlush &+ interval {
            lastCoalescedFlush = now
            return markDirty(connection)
        }
        if flushDeadline == .max {
            flushDeadline = lastCoalescedFlush &+ interval
            lock.withLock { flushArmed = true }
        }
        if !connection.isCoalesced {
            connection.isCoalesced = true
            coalesced.append(connection)
        }
    }

    func remove(_ connection: HTTP2Connection) {
        connections[connection.id] = nil
        pools[connection.origin.origin]?.removeAll { $0 === connection }
        if pools[connection.origin.origin]?.isEmpty == true { pools[connection.origin.origin] = nil }
        statisticsChanged()
    }

    func statisticsChanged() {
        let streams = connections.values.reduce(0) { $0 + $1.load }
        lock.lock()
        stats = Statistics(connections: connections.count, streams: streams)
        lock.unlock()
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
    static func nanoseconds(_ seconds: Double) -> UInt64 { UInt64(max(0, seconds) * 1e9) }
}
