import Glibc
import CEpoll
import Dispatch

/// One serial queue that owns a set of connections, their sockets and their sessions: no locks
/// on the audio path. Everything a connection does runs here.
///
/// The loop's sockets are registered (level-triggered) in one epoll instance of the loop's own,
/// and one Dispatch read source on the loop's queue watches that epoll descriptor. When it fires,
/// one `epoll_wait` collects every ready socket of the loop and the handlers run in turn. A
/// Dispatch source per socket costs libdispatch an `ioctl(FIONREAD)` and two `epoll_ctl` calls
/// for each event (each 20 ms audio frame); this way those costs are paid once per batch.
public final class EventLoop: @unchecked Sendable {
    public let index: Int
    public let queue: DispatchQueue
    /// A scratch buffer for socket reads, shared by the loop's connections (the loop is serial).
    let readBuffer: UnsafeMutableRawBufferPointer
    /// The loop's connections by id, from `add` to `remove`. The epoll events carry the id.
    private(set) var connections: [UInt64: WebSocketConnection] = [:]
    private var housekeeping: DispatchSourceTimer?
    private let epollFD: Int32
    private var pollSource: DispatchSourceRead?
    private static let maxEvents: Int32 = 256
    private let events: UnsafeMutablePointer<epoll_event>

    init(index: Int, readBufferBytes: Int = 64 * 1024) {
        self.index = index
        queue = DispatchQueue(label: "lexconnector.loop.\(index)", qos: .userInteractive)
        readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: readBufferBytes, alignment: 16)
        events = .allocate(capacity: Int(Self.maxEvents))
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epollFD >= 0, "epoll_create1 failed: errno \(errno)")
        let source = DispatchSource.makeReadSource(fileDescriptor: epollFD, queue: queue)
        source.setEventHandler { [weak self] in self?.poll() }
        // Closed only after libdispatch has let go of it (the kernel could reuse the number).
        source.setCancelHandler { [epollFD] in _ = Glibc.close(epollFD) }
        pollSource = source
        source.resume()
    }

    deinit {
        housekeeping?.cancel()
        pollSource?.cancel()
        readBuffer.deallocate()
        events.deallocate()
    }

    /// Runs `work` on the loop.
    public func execute(_ work: @escaping @Sendable () -> Void) { queue.async(execute: work) }

    /// Traps in debug builds when called off the loop.
    @inline(__always)
    public func assertOnLoop() {
        #if DEBUG
        dispatchPrecondition(condition: .onQueue(queue))
        #endif
    }

    /// Number of connections (any phase) on this loop; call on the loop.
    public var connectionCount: Int { connections.count }

    // MARK: - Readiness

    private static let readMask = EPOLLIN.rawValue | EPOLLRDHUP.rawValue

    /// Takes `connection` (its socket `fd`) into the loop: watches the socket for input (and
    /// hang-up) and routes its events to it. False (and nothing kept) when epoll refuses the
    /// socket (errno set). Call on the loop.
    func add(_ connection: WebSocketConnection, fd: Int32) -> Bool {
        assertOnLoop()
        var ev = epoll_event()
        ev.events = Self.readMask
        ev.data.u64 = connection.id
        guard epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &ev) == 0 else { return false }
        connections[connection.id] = connection
        return true
    }

    /// Adds or removes interest in writability (while a connection's output queue is not empty).
    func watchWritable(fd: Int32, id: UInt64, _ on: Bool) {
        var ev = epoll_event()
        ev.events = Self.readMask | (on ? EPOLLOUT.rawValue : 0)
        ev.data.u64 = id
        _ = epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &ev)
    }

    /// Lets `connection` go: stops watching its socket `fd` (call before closing it) and
    /// forgets it. Call on the loop.
    func remove(_ connection: WebSocketConnection, fd: Int32) {
        assertOnLoop()
        var ev = epoll_event()
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, &ev)
        connections[connection.id] = nil
    }

    /// Serves every ready socket. Level-triggered: what a handler leaves unread (a busy peer
    /// past its reads per turn) is reported again by the next wait, after the loop's other work.
    private func poll() {
        for _ in 0..<4 {
            let n = epoll_wait(epollFD, events, Self.maxEvents, 0)
            guard n > 0 else { return }
            for i in 0..<Int(n) {
                let ev = events[i]
                // A handler earlier in the batch may have closed this connection.
                guard let c = connections[ev.data.u64] else { continue }
                let flags = ev.events
                if flags & EPOLLOUT.rawValue != 0 { c.writable() }
                if flags & (Self.readMask | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
                    c.readable(hangUp: flags & (EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0)
                }
            }
            if n < Self.maxEvents { return }
        }
    }

    // MARK: - Deadlines

    /// Starts the timer that enforces connection deadlines (handshake and close timeouts).
    func startHousekeeping(interval: DispatchTimeInterval = .milliseconds(250)) {
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(50))
        t.setEventHandler { [weak self] in self?.enforceDeadlines() }
        t.resume()
        housekeeping = t
    }

    private func enforceDeadlines() {
        let now = DispatchTime.now().uptimeNanoseconds
        for connection in connections.values where connection.deadline != 0 && connection.deadline <= now {
            connection.deadlinePassed()
        }
    }
}
