#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Foundation

/// Tells systemd how the service is doing: the `sd_notify` datagram protocol,
/// written out (no libsystemd).
///
/// systemd passes `NOTIFY_SOCKET` (a file-system path, or `@name` for an
/// abstract socket) to a `Type=notify` service; each notification is one
/// datagram of newline-separated `KEY=value` assignments sent to it over an
/// `AF_UNIX` `SOCK_DGRAM` socket. With `WatchdogSec=` set, systemd also passes
/// `WATCHDOG_USEC` (and `WATCHDOG_PID`, the process it is meant for) and kills
/// the service when no `WATCHDOG=1` arrives within that time.
///
/// Without `NOTIFY_SOCKET` (not under systemd) every method does nothing.
///
///     let systemd = SystemdNotifier.fromEnvironment()
///     try server.start()
///     systemd.ready()                      // READY=1, STATUS=...
///     systemd.startWatchdog(queue: .main)  // WATCHDOG=1 every WATCHDOG_USEC / 2
///     ...
///     systemd.stopping()                   // STOPPING=1 on SIGTERM
public final class SystemdNotifier: @unchecked Sendable {
    /// Where notifications go.
    public enum Destination: Sendable, Equatable {
        /// A socket in the file system (`NOTIFY_SOCKET=/run/systemd/notify`).
        case path(String)
        /// A Linux abstract socket (`NOTIFY_SOCKET=@name`; `name` without the `@`).
        case abstract(String)
    }

    /// nil when `NOTIFY_SOCKET` is unset, empty or of a form this does not speak.
    public let destination: Destination?
    /// How often `startWatchdog` pings: half of `WATCHDOG_USEC`; nil when the
    /// watchdog is off, or meant for another process (`WATCHDOG_PID`).
    public let watchdogInterval: Duration?

    public var isEnabled: Bool { destination != nil }

    // The watchdog timer, kept here so a caller may ignore it. Guarded by `lock`.
    private let lock = NSLock()
    private var watchdogTimer: DispatchSourceTimer?

    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from
    /// `environment`; `processID` is compared with `WATCHDOG_PID`.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment,
                processID: Int32 = getpid()) {
        destination = Self.destination(environment["NOTIFY_SOCKET"])
        watchdogInterval = destination == nil ? nil : Self.watchdogInterval(
            microseconds: environment["WATCHDOG_USEC"], pid: environment["WATCHDOG_PID"], processID: processID)
    }

    /// The notifier for this process's environment.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> SystemdNotifier {
        SystemdNotifier(environment: environment)
    }

    deinit {
        watchdogTimer?.cancel()
    }

    // MARK: Notifications

    /// `READY=1`: start-up is complete (the listener is open). systemd then
    /// considers the unit started; `systemctl start` returns.
    @discardableResult
    public func ready(status: String = "accepting calls") -> Bool {
        notify("READY=1\nSTATUS=\(Self.oneLine(status))")
    }

    /// `STOPPING=1`: shutdown has begun (draining calls).
    @discardableResult
    public func stopping(status: String = "draining calls") -> Bool {
        notify("STOPPING=1\nSTATUS=\(Self.oneLine(status))")
    }

    /// `RELOADING=1`: a reload (SIGHUP) has begun; send `ready()` when it is
    /// done. `MONOTONIC_USEC` is the time systemd 253+ asks for.
    @discardableResult
    public func reloading(status: String = "reloading configuration") -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let microseconds = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
        return notify("RELOADING=1\nMONOTONIC_USEC=\(microseconds)\nSTATUS=\(Self.oneLine(status))")
    }

    /// `STATUS=`: free text shown by `systemctl status`.
    @discardableResult
    public func status(_ text: String) -> Bool {
        notify("STATUS=\(Self.oneLine(text))")
    }

    /// `WATCHDOG=1`: still alive.
    @discardableResult
    public func watchdogPing() -> Bool {
        notify("WATCHDOG=1")
    }

    /// Sends one notification (newline-separated assignments) as one
    /// datagram. Returns whether it was sent; false when not under systemd
    /// or when the socket refused it (systemd gone): a notification is never
    /// worth failing over.
    @discardableResult
    public func notify(_ message: String) -> Bool {
        guard let destination else { return false }
        return Self.send(Array(message.utf8), to: destination)
    }

    // MARK: Watchdog

    /// Sends `WATCHDOG=1` now and then every `watchdogInterval` on `queue`
    /// until `stopWatchdog()` (or the notifier's end). Does nothing and
    /// returns nil when the watchdog is off. Calling it again restarts it.
    @discardableResult
    public func startWatchdog(queue: DispatchQueue) -> DispatchSourceTimer? {
        guard let interval = watchdogInterval else { return nil }
        let nanoseconds = interval.components.seconds * 1_000_000_000 + interval.components.attoseconds / 1_000_000_000
        let timer = DispatchSource.makeTimerSource(queue: queue)
        // A tenth of the interval of leeway: late pings are still well
        // inside WATCHDOG_USEC, which is twice the interval.
        timer.schedule(deadline: .now(), repeating: .nanoseconds(Int(nanoseconds)),
                       leeway: .nanoseconds(Int(nanoseconds / 10)))
        timer.setEventHandler { @Sendable [weak self] in
            self?.watchdogPing()
        }
        let previous: DispatchSourceTimer? = lock.withLock {
            defer { watchdogTimer = timer }
            return watchdogTimer
        }
        previous?.cancel()
        timer.resume()
        return timer
    }

    /// Stops the pings `startWatchdog` started.
    public func stopWatchdog() {
        let timer: DispatchSourceTimer? = lock.withLock {
            defer { watchdogTimer = nil }
            return watchdogTimer
        }
        timer?.cancel()
    }

    // MARK: Environment

    static func destination(_ value: String?) -> Destination? {
        guard let value, value.utf8.count > 1 else { return nil }
        if value.hasPrefix("/") { return .path(value) }
        if value.hasPrefix("@") { return .abstract(String(value.dropFirst())) }
        return nil  // e.g. vsock: addresses (systemd 254+, virtual machines)
    }

    static func watchdogInterval(microseconds: String?, pid: String?, processID: Int32) -> Duration? {
        guard let microseconds, let usec = UInt64(microseconds), usec > 0 else { return nil }
        if let pid, !pid.isEmpty {
            guard let owner = Int32(pid), owner == processID else { return nil }
        }
        return .microseconds(usec / 2)
    }

    /// Assignments are separated by newlines, so a value cannot hold one.
    static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 })
    }

    // MARK: Socket

    static func send(_ bytes: [UInt8], to destination: Destination) -> Bool {
        #if canImport(Glibc)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let fd = socket(AF_UNIX, SOCK_DGRAM, 0)
        #endif
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard let (initialAddress, length) = socketAddress(destination) else { return false }
        var address = initialAddress
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bytes.withUnsafeBytes { buffer in
                    sendto(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL), socketAddress, length)
                }
            }
        }
        return sent == bytes.count
    }

    /// The `sockaddr_un` for `destination` and its length: for a path, the
    /// path and its terminating NUL; for an abstract name, a leading NUL and
    /// the name's bytes exactly (the length says where it ends).
    static func socketAddress(_ destination: Destination) -> (sockaddr_un, socklen_t)? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let name: [UInt8]
        switch destination {
        case .path(let path): name = Array(path.utf8) + [0]
        case .abstract(let abstractName): name = [0] + Array(abstractName.utf8)
        }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard name.count <= capacity else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { sunPath in
            sunPath.copyBytes(from: name)
        }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
        return (address, socklen_t(pathOffset + name.count))
    }
}
