import Foundation

/// CPU time and resident memory of a process, from /proc.
struct ProcessSample {
    var user: Double
    var system: Double
    var rssKiB: Int

    static func read(pid: Int32) -> ProcessSample? {
        guard let stat = readFile("/proc/\(pid)/stat"), let paren = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: paren)...].split(separator: " ")
        let tick = Double(sysconf(Int32(_SC_CLK_TCK)))
        guard fields.count > 12, let u = Double(fields[11]), let s = Double(fields[12]) else { return nil }
        var rss = 0
        if let status = readFile("/proc/\(pid)/status"),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) {
            rss = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
        }
        return ProcessSample(user: u / tick, system: s / tick, rssKiB: rss)
    }

    static func selfSample() -> ProcessSample {
        var r = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &r)
        return ProcessSample(user: Double(r.ru_utime.tv_sec) + Double(r.ru_utime.tv_usec) / 1e6,
                             system: Double(r.ru_stime.tv_sec) + Double(r.ru_stime.tv_usec) / 1e6,
                             rssKiB: read(pid: getpid())?.rssKiB ?? 0)
    }
}

func readFile(_ path: String) -> String? {
    guard let f = fopen(path, "r") else { return nil }
    defer { fclose(f) }
    var out = [UInt8]()
    var buf = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        out += buf[0..<n]
    }
    return String(decoding: out, as: UTF8.self)
}

/// Sums of the lexconnector counters lexcall compares with its own counts, from GET /metrics.
struct ServerCounters {
    var framesReceived = 0.0
    var framesPlayed = 0.0
    var framesLate = 0.0
    /// Cumulative bucket counts (upper bound in seconds: count) of the server's histograms,
    /// by metric name (without `_bucket`).
    var histograms: [String: [Double: Double]] = [:]

    static func fetch(host: sockaddr_in, hostName: String, port: Int) -> ServerCounters? {
        guard let text = httpGet(host, hostName: hostName, port: port, path: "/metrics") else { return nil }
        var c = ServerCounters()
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let name = line.prefix { $0 != "{" && $0 != " " }
            guard let value = line.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
            switch name {
            case "lexconnector_frames_received_total": c.framesReceived += value
            case "lexconnector_frames_played_total": c.framesPlayed += value
            case "lexconnector_frames_late_total": c.framesLate += value
            default:
                guard name.hasSuffix("_seconds_bucket"), let le = line.range(of: "le=\""),
                      let end = line[le.upperBound...].firstIndex(of: "\"") else { break }
                let text = line[le.upperBound..<end]
                guard let bound = text == "+Inf" ? Double.infinity : Double(text) else { break }
                c.histograms[String(name.dropLast("_bucket".count)), default: [:]][bound, default: 0] += value
            }
        }
        return c
    }
}

/// A server histogram's counts between two scrapes: how many observations, and the upper
/// bucket bound (ms) under which p50, p99 and all of them fall.
struct HistogramDelta {
    var count = 0.0
    var buckets: [(bound: Double, cumulative: Double)] = []

    init(_ a: [Double: Double], _ b: [Double: Double]) {
        buckets = b.keys.sorted().map { ($0, (b[$0] ?? 0) - (a[$0] ?? 0)) }
        count = buckets.last?.cumulative ?? 0
    }

    /// The smallest bucket bound (ms) with at least `p` percent of the observations at or under it.
    func bound(percentile p: Double) -> Double? {
        guard count > 0 else { return nil }
        return buckets.first { $0.cumulative >= count * p / 100 }.map { $0.bound * 1000 }
    }

    /// Percentage of the observations at or under `ms` (a bucket bound).
    func share(atMost ms: Double) -> Double? {
        guard count > 0, let b = buckets.first(where: { abs($0.bound * 1000 - ms) < 1e-9 }) else { return nil }
        return b.cumulative / count * 100
    }
}

/// A blocking HTTP/1.0 GET; the body, or nil.
func httpGet(_ address: sockaddr_in, hostName: String, port: Int, path: String) -> String? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var addr = address
    var tv = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard rc == 0 else { return nil }
    let request = Array("GET \(path) HTTP/1.0\r\nHost: \(hostName):\(port)\r\n\r\n".utf8)
    guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else { return nil }
    var out = [UInt8]()
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &buf, buf.count)
        if n <= 0 { break }
        out += buf[0..<n]
    }
    let text = String(decoding: out, as: UTF8.self)
    guard text.hasPrefix("HTTP/1.1 200") || text.hasPrefix("HTTP/1.0 200"), let split = text.range(of: "\r\n\r\n") else { return nil }
    return String(text[split.upperBound...])
}

/// The IPv4 address of `host` (a literal or a name).
func resolveIPv4(_ host: String, port: Int) -> sockaddr_in? {
    var hints = addrinfo()
    hints.ai_family = AF_INET
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var result: UnsafeMutablePointer<addrinfo>?
    guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else { return nil }
    defer { freeaddrinfo(result) }
    guard let sa = first.pointee.ai_addr else { return nil }
    return sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
}

/// Writes `text` to standard error, unbuffered.
func writeError(_ text: String) {
    var t = text
    t.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}
