import Foundation
import Glibc

/// Many sockets that connect and never finish a request head: some say nothing at all, some
/// send bytes that are not HTTP and contain no line end (a TLS ClientHello on the plain port),
/// and some trickle a request head one byte at a time, forever. The server must serve everyone
/// else meanwhile and cut each of them off with 408 at its handshake timeout.
///
/// One watcher thread polls every socket (poll's timeout also paces the trickle) and records
/// when and how each one was closed.
final class IdleFlood: @unchecked Sendable {
    enum Kind: Sendable { case silent, notHTTP, trickle }

    struct Outcome: Sendable {
        var kind: Kind
        /// The status line's code, 0 when nothing parseable came.
        var status: Int
        /// Seconds from connect to EOF; nil while the socket is still open.
        var closedAfter: Double?
    }

    private struct Peer {
        var fd: Int32
        var kind: Kind
        var openedAt: Double
        var received: [UInt8] = []
        var closedAfter: Double?
        var trickled = 0
    }

    /// A TLS 1.2 ClientHello's first bytes (no 0x0A anywhere, so never a line to the parser).
    static let clientHello: [UInt8] = [
        0x16, 0x03, 0x01, 0x00, 0xA5, 0x01, 0x00, 0x00, 0xA1, 0x03, 0x03, 0x5B, 0x90, 0x9D, 0x9B, 0x72,
        0x0B, 0xBC, 0x0C, 0xBC, 0x2B, 0x92, 0xA8, 0x48, 0x97, 0xCF, 0xBD, 0x39, 0x04, 0xCC, 0x16, 0x2A,
        0x00, 0x00, 0x20, 0xCC, 0xA8, 0xCC, 0xA9, 0xC0, 0x2F, 0xC0, 0x30, 0xC0, 0x2B, 0xC0, 0x2C, 0xC0,
        0x13, 0xC0, 0x09, 0xC0, 0x14, 0xC0, 0x0B, 0x00, 0x9C, 0x00, 0x9D, 0x00, 0x2F, 0x00, 0x35, 0xC0,
    ]
    static let trickleHead = Array("GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".utf8) + [UInt8](repeating: UInt8(ascii: "z"), count: 4096)

    private let lock = NSCondition()
    private var peers: [Peer] = []
    private var finished = false
    private let clock = Date()
    private let trickleInterval: Double
    private let giveUpAfter: Double

    /// Opens the sockets (blocking connects to loopback) and starts watching them.
    init(port: Int, kinds: [Kind], trickleInterval: Double = 0.25, giveUpAfter: Double = 30) throws {
        self.trickleInterval = trickleInterval
        self.giveUpAfter = giveUpAfter
        for kind in kinds {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw TestFailure("socket failed: errno \(errno)") }
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = UInt16(port).bigEndian
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard rc == 0 else {
                let e = errno
                Glibc.close(fd)
                peers.forEach { Glibc.close($0.fd) }
                peers.removeAll()  // deinit runs after a throwing init: no second close of reused fds
                throw TestFailure("connect failed: errno \(e)")
            }
            if kind == .notHTTP {
                _ = Self.clientHello.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
            peers.append(Peer(fd: fd, kind: kind, openedAt: now))
        }
        Thread { [self] in watch() }.start()
    }

    deinit { peers.forEach { Glibc.close($0.fd) } }

    private var now: Double { Date().timeIntervalSince(clock) }

    private func watch() {
        var lastTrickle = now
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            lock.lock()
            let open = peers.indices.filter { peers[$0].closedAfter == nil }
            var fds = open.map { pollfd(fd: peers[$0].fd, events: Int16(POLLIN), revents: 0) }
            lock.unlock()
            if open.isEmpty || now > giveUpAfter { break }
            let timeout = Int32(max(1, (lastTrickle + trickleInterval - now) * 1000))
            let n = poll(&fds, nfds_t(fds.count), timeout)
            lock.lock()
            if n > 0 {
                for (slot, index) in open.enumerated() where fds[slot].revents != 0 {
                    let got = buf.withUnsafeMutableBytes { recv(peers[index].fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                    if got > 0 {
                        peers[index].received += buf[0..<got]
                    } else if got == 0 || (errno != EAGAIN && errno != EINTR) {
                        peers[index].closedAfter = now - peers[index].openedAt
                    }
                }
            }
            if now - lastTrickle >= trickleInterval {
                lastTrickle = now
                for i in peers.indices where peers[i].kind == .trickle && peers[i].closedAfter == nil && peers[i].trickled < Self.trickleHead.count {
                    let byte = Self.trickleHead[peers[i].trickled]
                    if withUnsafeBytes(of: byte, { send(peers[i].fd, $0.baseAddress, 1, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }) == 1 {
                        peers[i].trickled += 1
                    }
                }
            }
            lock.broadcast()
            lock.unlock()
        }
        lock.lock()
        finished = true
        lock.broadcast()
        lock.unlock()
    }

    /// Bytes the trickling peers got through before they were cut off.
    var trickledBytes: [Int] {
        lock.lock()
        defer { lock.unlock() }
        return peers.filter { $0.kind == .trickle }.map(\.trickled)
    }

    /// Waits until every socket was closed by the server (or the watcher gave up), then
    /// returns how each one ended.
    func outcomes(timeout: Double) -> [Outcome] {
        let deadline = Date(timeIntervalSinceNow: timeout)
        lock.lock()
        defer { lock.unlock() }
        while !finished {
            if !lock.wait(until: deadline) { break }
        }
        return peers.map { p in
            let line = String(decoding: p.received.prefix { $0 != 13 }, as: UTF8.self)
            let parts = line.split(separator: " ")
            let status = parts.count >= 2 && parts[0] == "HTTP/1.1" ? Int(parts[1]) ?? 0 : 0
            return Outcome(kind: p.kind, status: status, closedAfter: p.closedAfter)
        }
    }

    /// How many sockets the server has not closed yet.
    var stillOpen: Int {
        lock.lock()
        defer { lock.unlock() }
        return peers.filter { $0.closedAfter == nil }.count
    }
}
