// floor-server: the least a WebSocket server can do for lexcall's calls, to measure the
// kernel's share (the "floor") on the same machine in the same run. One thread per core, each
// with its own SO_REUSEPORT listener and epoll set: it completes the upgrade, answers the
// start message with `ok`, reads inbound frames (headers walked, payload never unmasked or
// looked at) and, from one 20 ms tick per thread on absolute deadlines (as the connector's
// pacer), writes one 640-byte binary frame to every connection that is "playing": each
// connection plays PLAY ms and pauses PAUSE ms in turn from its upgrade.
#if canImport(Glibc)
import Glibc
#endif
import CEpoll
import WebSocketProtocol

struct FloorOptions {
    var port = 9002
    var threads = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    var frameBytes = 640
    var playMs = 1_000_000_000
    var pauseMs = 0

    init(_ args: [String]) {
        var i = 1
        func value() -> Int {
            i += 1
            guard i < args.count, let v = Int(args[i]) else { fatal("\(args[i - 1]) needs a number") }
            return v
        }
        while i < args.count {
            switch args[i] {
            case "--port": port = value()
            case "--threads": threads = max(1, value())
            case "--frame-bytes": frameBytes = value()
            case "--play-ms": playMs = max(20, value())
            case "--pause-ms": pauseMs = max(0, value())
            default: fatal("usage: floor-server [--port 9002] [--threads CORES] [--frame-bytes 640] [--play-ms MS --pause-ms MS]")
            }
            i += 1
        }
    }
}

func fatal(_ message: String) -> Never {
    writeError("floor-server: \(message)\n")
    exit(2)
}

func writeError(_ text: String) {
    var t = text
    t.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

func monotonic() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

final class FloorConnection {
    let fd: Int32
    var upgraded = false
    var head: [UInt8] = []
    /// Bytes of an incomplete frame carried to the next read.
    var carry: [UInt8] = []
    var openedAt: UInt64 = 0
    var saidOK = false
    init(fd: Int32) { self.fd = fd }
}

final class FloorLoop: @unchecked Sendable {
    let options: FloorOptions
    let listenFD: Int32
    let epollFD = epoll_create1(0)
    var connections: [Int32: FloorConnection] = [:]
    let frame: [UInt8]
    let okFrame = FrameEncoder.frame(.text, Array("ok".utf8))
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)

    init(options: FloorOptions) {
        self.options = options
        frame = FrameEncoder.frame(.binary, [UInt8](repeating: 0x11, count: options.frameBytes))
        listenFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        var one: Int32 = 1
        setsockopt(listenFD, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(listenFD, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(options.port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listenFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0, listen(listenFD, 4096) == 0 else { fatal("cannot listen on 127.0.0.1:\(options.port): \(String(cString: strerror(errno)))") }
        add(listenFD)
    }

    func add(_ fd: Int32) {
        var e = epoll_event()
        e.events = EPOLLIN.rawValue
        e.data.fd = fd
        epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &e)
    }

    func run() {
        // A raw buffer: a Swift array here, sliced for the loop below, was copied on every
        // epoll_wait and the copies retained (the process grew by megabytes a second).
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: 1024)
        defer { events.deallocate() }
        var nextTick = monotonic() + 20_000_000
        let cycle = UInt64(options.playMs + options.pauseMs) * 1_000_000
        let play = UInt64(options.playMs) * 1_000_000
        while true {
            var t = monotonic()
            if t >= nextTick {
                for c in connections.values where c.upgraded && (t - c.openedAt) % cycle < play { send(c, frame) }
                nextTick += 20_000_000
                if nextTick <= t { nextTick = t + 20_000_000 }  // stalled: skip, never burst
                t = monotonic()
            }
            let timeout = Int32((nextTick - min(nextTick, t)) / 1_000_000) + 1
            let n = epoll_wait(epollFD, events, 1024, timeout)
            guard n > 0 else { continue }
            for k in 0..<Int(n) {
                let fd = events[k].data.fd
                if fd == listenFD { accept(); continue }
                if let c = connections[fd] { readable(c) }
            }
        }
    }

    func accept() {
        while true {
            let fd = Glibc.accept(listenFD, nil, nil)
            if fd < 0 { return }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK)
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            connections[fd] = FloorConnection(fd: fd)
            add(fd)
        }
    }

    func readable(_ c: FloorConnection) {
        let n = read(c.fd, buffer.baseAddress, buffer.count)
        if n <= 0 {
            if n < 0 && (errno == EAGAIN || errno == EINTR) { return }
            drop(c)
            return
        }
        if !c.upgraded {
            c.head += UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            guard let end = headEnd(c.head) else { return }
            let text = String(decoding: c.head[..<end], as: UTF8.self)
            guard let keyLine = text.split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("sec-websocket-key:") }) else { drop(c); return }
            let key = String(keyLine.dropFirst("sec-websocket-key:".count)).filter { !$0.isWhitespace }
            send(c, WebSocketHandshake.switchingProtocols(accept: WebSocketHandshake.acceptValue(forKey: key)).serialized())
            c.upgraded = true
            c.openedAt = monotonic()
            let rest = Array(c.head[(end + 4)...])
            c.head = []
            rest.withUnsafeBytes { walk(c, $0) }
            return
        }
        if c.carry.isEmpty {
            walk(c, UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        } else {
            let joined = c.carry + UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            c.carry = []
            joined.withUnsafeBytes { walk(c, $0) }
        }
    }

    /// Walks the frames in `data`, keeping an incomplete one in `carry` for later.
    func walk(_ c: FloorConnection, _ data: UnsafeRawBufferPointer) {
        var i = 0
        while data.count - i >= 2 {
            let opcode = data[i] & 0x0F
            var len = Int(data[i + 1] & 0x7F)
            var header = 2
            if len == 126 {
                guard data.count - i >= 4 else { break }
                len = Int(data[i + 2]) << 8 | Int(data[i + 3])
                header = 4
            } else if len == 127 {
                drop(c)  // audio frames are never this long
                return
            }
            if data[i + 1] & 0x80 != 0 { header += 4 }
            guard data.count - i >= header + len else { break }
            if opcode == 1 && !c.saidOK { c.saidOK = true; send(c, okFrame) }
            if opcode == 8 { send(c, FrameEncoder.frame(.close, [0x03, 0xE8])); drop(c); return }
            i += header + len
        }
        if i < data.count { c.carry = Array(UnsafeRawBufferPointer(rebasing: data[i...])) }
    }

    func send(_ c: FloorConnection, _ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(c.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
    }

    func drop(_ c: FloorConnection) {
        epoll_ctl(epollFD, EPOLL_CTL_DEL, c.fd, nil)
        close(c.fd)
        connections[c.fd] = nil
    }

    func headEnd(_ b: [UInt8]) -> Int? {
        guard b.count >= 4 else { return nil }
        for i in 0...(b.count - 4) where b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { return i }
        return nil
    }
}

@main
struct FloorServer {
    static func main() {
        let options = FloorOptions(CommandLine.arguments)
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let loops = (0..<options.threads).map { _ in FloorLoop(options: options) }
        print("floor-server listening on 127.0.0.1:\(options.port) with \(options.threads) threads")
        
        for loop in loops.dropFirst() { startThread(loop) }
        loops[0].run()
    }
}

/// Runs `loop` on a new thread. A free function, so the closure is not main-actor isolated
/// (one inside `main()` would be, and would trap on the new thread).
func startThread(_ loop: FloorLoop) {
    var th = pthread_t()
    let box = Unmanaged.passRetained(loop).toOpaque()
    pthread_create(&th, nil, { arg in
        Unmanaged<FloorLoop>.fromOpaque(arg!).takeRetainedValue().run()
        return nil
    }, box)
}
