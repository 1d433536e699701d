import Dispatch

/// One serial queue that owns a set of connections, their sockets' sources and their
/// sessions: no locks on the audio path. Everything a connection does runs here.
public final class EventLoop: @unchecked Sendable {
    public let index: Int
    public let queue: DispatchQueue
    /// A scratch buffer for socket reads, shared by the loop's connections (the loop is serial).
    let readBuffer: UnsafeMutableRawBufferPointer
    var connections: [UInt64: WebSocketConnection] = [:]
    private var housekeeping: DispatchSourceTimer?

    init(index: Int, readBufferBytes: Int = 64 * 1024) {
        self.index = index
        queue = DispatchQueue(label: "lexconnector.loop.\(index)", qos: .userInteractive)
        readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: readBufferBytes, alignment: 16)
    }

    deinit {
        housekeeping?.cancel()
        readBuffer.deallocate()
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
