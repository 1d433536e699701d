#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The systemd side of the notify protocol for tests: an `AF_UNIX`
/// `SOCK_DGRAM` socket bound to a file-system path or an abstract name,
/// read with blocking reads that time out.
final class DatagramReceiver {
    enum Failure: Error, CustomStringConvertible {
        case system(String, Int32)
        var description: String {
            switch self {
            case .system(let call, let code): return "\(call): \(String(cString: strerror(code)))"
            }
        }
    }

    /// The value systemd would put in `NOTIFY_SOCKET`.
    let notifySocket: String
    private let fd: Int32
    private let path: String?

    /// A socket at a fresh path in the temporary directory (`abstract`
    /// false) or under a fresh abstract name.
    init(abstract: Bool) throws {
        let unique = "lexconnector-notify-\(getpid())-\(UUID().uuidString.prefix(8))"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure.system("socket", errno) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let name: [UInt8]
        if abstract {
            path = nil
            notifySocket = "@" + unique
            name = [0] + Array(unique.utf8)
        } else {
            let p = "/tmp/\(unique).sock"
            path = p
            notifySocket = p
            name = Array(p.utf8) + [0]
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: name) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)! + name.count)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw Failure.system("bind \(notifySocket)", e)
        }
    }

    deinit {
        close(fd)
        if let path { unlink(path) }
    }

    /// The next datagram, or nil when none arrives within `timeout` seconds.
    func receive(timeout: Double) -> String? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while true {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { return nil }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let rc = poll(&pfd, 1, Int32((remaining * 1000).rounded(.up)))
            if rc < 0 && errno == EINTR { continue }
            guard rc > 0 else { continue }  // timed out: the deadline check ends the loop
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n < 0 { continue }
            return String(decoding: buffer[..<n], as: UTF8.self)
        }
    }

    /// Every datagram that arrives within `seconds`.
    func receiveAll(for seconds: Double) -> [String] {
        let deadline = Date(timeIntervalSinceNow: seconds)
        var messages: [String] = []
        while true {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0, let message = receive(timeout: remaining) else { return messages }
            messages.append(message)
        }
    }
}
