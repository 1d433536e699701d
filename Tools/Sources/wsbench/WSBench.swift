// WebSocket echo load client for scripts/bench/echo.sh: N connections, each sending one masked
// binary frame of SIZE bytes every INTERVAL ms, spread evenly over the interval, on one thread
// with one poll() set. Every frame carries its send time; the echo's arrival gives its latency.
// With --server-pid it also reads the server's CPU time from /proc/PID/stat around the
// measured window. Prints one JSON object (the same fields as scripts/bench/echo.py).
#if canImport(Glibc)
import Glibc
#endif
import WebSocketProtocol

struct Options {
    var host = "127.0.0.1"
    var port = 9001
    var connections = 500
    var intervalMs = 20.0
    var size = 640
    var duration = 30.0
    var warmup = 3.0
    var serverPID: Int32?

    init(_ args: [String]) {
        var i = 1
        func value() -> String {
            i += 1
            guard i < args.count else { fail("missing value for \(args[i - 1])") }
            return args[i]
        }
        while i < args.count {
            switch args[i] {
            case "--host": host = value()
            case "--port": port = Int(value()) ?? port
            case "--connections": connections = Int(value()) ?? connections
            case "--interval": intervalMs = Double(value()) ?? intervalMs
            case "--size": size = max(16, Int(value()) ?? size)
            case "--duration": duration = Double(value()) ?? duration
            case "--warmup": warmup = Double(value()) ?? warmup
            case "--server-pid": serverPID = Int32(value())
            default: fail("usage: wsbench --port N [--host H] [--connections 500] [--interval 20] [--size 640] [--duration 30] [--warmup 3] [--server-pid PID]")
            }
            i += 1
        }
    }
}

func fail(_ message: String) -> Never {
    let line = "wsbench: \(message)\n"
    _ = line.withCString { Glibc.write(2, $0, strlen($0)) }
    exit(1)
}

func nowNs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// (user, system) CPU seconds of a process, from /proc/PID/stat.
func processCPU(_ pid: Int32) -> (Double, Double)? {
    guard let f = fopen("/proc/\(pid)/stat", "r") else { return nil }
    defer { fclose(f) }
    var buf = [CChar](repeating: 0, count: 4096)
    guard fgets(&buf, Int32(buf.count), f) != nil else { return nil }
    let line = buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    guard let paren = line.lastIndex(of: ")") else { return nil }
    let fields = line[line.index(after: paren)...].split(separator: " ")
    let tick = Double(sysconf(Int32(_SC_CLK_TCK)))
    guard fields.count > 12, let u = Double(fields[11]), let s = Double(fields[12]) else { return nil }
    return (u / tick, s / tick)
}

func selfCPU() -> (Double, Double) {
    var r = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &r)
    return (Double(r.ru_utime.tv_sec) + Double(r.ru_utime.tv_usec) / 1e6, Double(r.ru_stime.tv_sec) + Double(r.ru_stime.tv_usec) / 1e6)
}

/// Opens a connection and completes the WebSocket handshake (blocking), then makes it non-blocking.
func connectWebSocket(host: String, port: Int) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { fail("socket: errno \(errno)") }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = UInt16(port).bigEndian
    guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else { fail("bad IPv4 address \(host)") }
    let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard rc == 0 else { fail("connect: errno \(errno)") }
    var one: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    var keyBytes = [UInt8](repeating: 0, count: 16)
    for i in 0..<16 { keyBytes[i] = UInt8.random(in: 0...255) }
    let request = "GET /bench HTTP/1.1\r\nHost: \(host)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: \(Base64.encode(keyBytes))\r\nSec-WebSocket-Version: 13\r\n\r\n"
    _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    // The 101 has no body and the server sends nothing before our first frame.
    var response: [UInt8] = []
    var byte: UInt8 = 0
    while !(response.count >= 4 && response.suffix(4).elementsEqual([13, 10, 13, 10])) {
        guard recv(fd, &byte, 1, 0) == 1 else { fail("connection closed during the handshake") }
        response.append(byte)
    }
    guard response.starts(with: Array("HTTP/1.1 101".utf8)) else { fail("upgrade refused: \(String(decoding: response, as: UTF8.self))") }
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK)
    return fd
}

struct Connection {
    let fd: Int32
    var decoder = FrameDecoder(role: .client, maxPayload: 1 << 20)
    var pending: [UInt8] = []
}

@main
struct WSBench {
    static func main() {
        let o = Options(CommandLine.arguments)
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = min(limit.rlim_max, rlim_t(o.connections + 64) > limit.rlim_cur ? rlim_t(o.connections + 64) : limit.rlim_cur)
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)

        var conns: [Connection] = []
        var pollSet: [pollfd] = []
        for _ in 0..<o.connections {
            let fd = connectWebSocket(host: o.host, port: o.port)
            conns.append(Connection(fd: fd))
            pollSet.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
        }

        let slotNs = o.intervalMs * 1e6 / Double(o.connections)
        let start = nowNs()
        let warmEnd = start + UInt64(o.warmup * 1e9)
        let end = warmEnd + UInt64(o.duration * 1e9)
        var measuring = false
        var latencies: [UInt64] = []
        latencies.reserveCapacity(Int(Double(o.connections) * o.duration * 1000 / o.intervalMs) + 1000)
        var sent = 0, echoed = 0, lost = 0, backlogged = 0, lateSends = 0
        var seq = 0
        var t0 = start, cpu0 = (0.0, 0.0), srv0: (Double, Double)?
        var payload = [UInt8](repeating: 0x42, count: o.size)
        let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        var stopAt: UInt64 = .max

        while true {
            var now = nowNs()
            if !measuring && now >= warmEnd && stopAt == .max {
                measuring = true
                t0 = now
                cpu0 = selfCPU()
                srv0 = o.serverPID.flatMap(processCPU)
            }
            if now >= end && stopAt == .max { stopAt = now + 200_000_000 }  // 200 ms for the last echoes
            if now >= stopAt { break }
            // Send every frame that is due.
            while stopAt == .max {
                let due = start + UInt64(Double(seq) * slotNs)
                if due > now { break }
                if now - due > 2_000_000 && measuring { lateSends += 1 }
                let i = seq % o.connections
                var ts = nowNs().bigEndian
                withUnsafeBytes(of: &ts) { for k in 0..<8 { payload[k] = $0[k] } }
                let frame = FrameEncoder.frame(.binary, payload, maskKey: (0x5A, 0xC3, 0x3C, 0xA5))
                var out = conns[i].pending.isEmpty ? frame : conns[i].pending + frame
                let n = out.withUnsafeBytes { send(conns[i].fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
                if n < out.count {
                    backlogged += 1
                    out.removeFirst(max(0, n))
                }
                conns[i].pending = n == out.count ? [] : out
                if measuring { sent += 1 }
                seq += 1
                now = nowNs()
            }
            let nextDue = start + UInt64(Double(seq) * slotNs)
            // At least 1 ms: sends due within it go out together after the wait (40 µs apart at 500 x 50/s).
            let waitMs = stopAt != .max ? 1 : Int32(max(1, min(10, (Int64(nextDue) - Int64(nowNs())) / 1_000_000)))
            let n = poll(&pollSet, nfds_t(pollSet.count), Int32(waitMs))
            if n <= 0 { continue }
            let arrival = nowNs()
            for i in 0..<pollSet.count where pollSet[i].revents != 0 {
                pollSet[i].revents = 0
                while true {
                    let r = read(conns[i].fd, readBuffer.baseAddress, readBuffer.count)
                    if r <= 0 {
                        if r == 0 || (errno != EAGAIN && errno != EINTR) {
                            lost += 1
                            pollSet[i].fd = -1  // poll ignores negative descriptors
                        }
                        break
                    }
                    conns[i].decoder.append(UnsafeRawBufferPointer(rebasing: readBuffer[0..<r]))
                    while let frame = try? conns[i].decoder.next() {
                        guard frame.opcode == .binary, frame.payload.count >= 8, measuring else { continue }
                        var sentAt: UInt64 = 0
                        withUnsafeMutableBytes(of: &sentAt) { for k in 0..<8 { $0[k] = frame.payload[k] } }
                        latencies.append(arrival - UInt64(bigEndian: sentAt))
                        echoed += 1
                    }
                    if r < readBuffer.count { break }
                }
            }
        }
        let elapsed = Double(nowNs() - t0) / 1e9
        let cpu1 = selfCPU()
        let srv1 = o.serverPID.flatMap(processCPU)
        for c in conns { close(c.fd) }

        latencies.sort()
        func pct(_ p: Double) -> String {
            guard !latencies.isEmpty else { return "null" }
            let v = latencies[min(latencies.count - 1, Int(p / 100 * Double(latencies.count)))]
            return String(Double(v) / 1e6)
        }
        func r2(_ x: Double) -> String { String(Double(Int((x * 100).rounded())) / 100) }
        let connSeconds = Double(o.connections) * elapsed
        var json = "{\n \"client\": \"wsbench\", \"connections\": \(o.connections), \"interval_ms\": \(o.intervalMs), \"frame_bytes\": \(o.size),\n"
        json += " \"seconds\": \(r2(elapsed)), \"sent\": \(sent), \"echoed\": \(echoed), \"target_rate\": \(Int(Double(o.connections) * 1000 / o.intervalMs)),\n"
        json += " \"achieved_send_rate\": \(Int(Double(sent) / elapsed)), \"late_scheduler_ticks\": \(lateSends), \"backlogged_sends\": \(backlogged), \"lost_connections\": \(lost),\n"
        json += " \"latency_ms\": {\"p50\": \(pct(50)), \"p90\": \(pct(90)), \"p99\": \(pct(99)), \"p999\": \(pct(99.9)), \"max\": \(pct(100))},\n"
        let cu = cpu1.0 - cpu0.0, cs = cpu1.1 - cpu0.1
        json += " \"client_cpu\": {\"user_s\": \(r2(cu)), \"sys_s\": \(r2(cs)), \"cores\": \(String(Double(Int((cu + cs) / elapsed * 1000)) / 1000))}"
        if let a = srv0, let b = srv1 {
            let u = b.0 - a.0, s = b.1 - a.1
            func us(_ x: Double) -> String { String(Double(Int((x / connSeconds * 1e7).rounded())) / 10) }
            json += ",\n \"server_cpu\": {\"user_s\": \(r2(u)), \"sys_s\": \(r2(s)), \"cores\": \(String(Double(Int((u + s) / elapsed * 1000)) / 1000)),"
            json += " \"user_us_per_conn_s\": \(us(u)), \"sys_us_per_conn_s\": \(us(s)), \"total_us_per_conn_s\": \(us(u + s))}"
        }
        json += "\n}\n"
        _ = json.withCString { Glibc.write(1, $0, strlen($0)) }
    }
}
