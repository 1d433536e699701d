import Connector
import Foundation
import Testing
import TestSupport
import WebSocketServer
import WebSocketTestClient

/// One hostile case: what it does, what the server must answer, and the check.
struct HostileCase: Sendable {
    let name: String
    let expected: String
    let run: @Sendable (HostileBench) throws -> Void

    init(_ name: String, expect expected: String, _ run: @escaping @Sendable (HostileBench) throws -> Void) {
        self.name = name
        self.expected = expected
        self.run = run
    }
}

/// The server under attack, with the checks the cases share. Each check names the case in
/// its failure message, and counters are compared with their values when the case began.
final class HostileBench: @unchecked Sendable {
    let harness: Harness
    let server: WebSocketServer
    var port: Int { harness.port }
    private(set) var caseName = ""
    private var violationsBefore: [String: Int] = [:]
    private var responsesBefore: [Int: Int] = [:]
    private var badInputBefore: [String: Int] = [:]
    private var limitHitsBefore: [String: Int] = [:]

    init(harness: Harness, server: WebSocketServer) {
        self.harness = harness
        self.server = server
    }

    /// Runs one case, then checks that the server still answers `/ping`. Returns the seconds it took.
    func run(_ c: HostileCase) -> Double {
        caseName = c.name
        let snapshot = server.counterSnapshot
        violationsBefore = Self.byName(snapshot.violations)
        responsesBefore = snapshot.httpResponses
        badInputBefore = Self.labelled(harness.connector.metrics, "lexconnector_bad_input_total", "kind")
        limitHitsBefore = Self.labelled(harness.connector.metrics, "lexconnector_limit_hits_total", "limit")
        let started = Date()
        do {
            try c.run(self)
        } catch {
            Issue.record("\(c.name): \(error)")
        }
        let took = Date().timeIntervalSince(started)
        do {
            let (status, body) = try httpGet(port: port, path: "/ping")
            #expect(status == 200 && body == "ok", "\(c.name): /ping afterwards answered \(status) \(body)")
        } catch {
            Issue.record("\(c.name): /ping afterwards failed: \(error)")
        }
        return took
    }

    // MARK: - Peers

    func peer(receiveBufferBytes: Int32? = nil) throws -> TestClient {
        try TestClient(port: port, receiveBufferBytes: receiveBufferBytes)
    }

    /// A peer that completed the upgrade to a call path (and sent a valid start message when `start`).
    func call(start: Bool = false, receiveBufferBytes: Int32? = nil) throws -> TestClient {
        let p = try peer(receiveBufferBytes: receiveBufferBytes)
        if start { try p.startCall(path: Harness.v2Path) } else { try p.handshake(path: Harness.v2Path) }
        return p
    }

    // MARK: - Checks

    /// Sends `request` on a new connection; expects `status` and then EOF (plain answers close).
    @discardableResult
    func expectHTTP(_ request: [UInt8], status: Int, violation: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> TestHTTPResponse {
        let p = try peer()
        p.send(request)
        let r = try p.readResponse()
        #expect(r.status == status, "\(caseName): answered \(r.status) \(r.text)", sourceLocation: sourceLocation)
        #expect(try p.atEOF(), "\(caseName): the connection stays open after the \(r.status)", sourceLocation: sourceLocation)
        if let violation { expectViolations(violation, 1, sourceLocation: sourceLocation) }
        return r
    }

    @discardableResult
    func expectHTTP(_ request: String, status: Int, violation: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> TestHTTPResponse {
        try expectHTTP(Array(request.utf8), status: status, violation: violation, sourceLocation: sourceLocation)
    }

    /// Reads the server's close frame on `peer`: `code`, a reason, then EOF. Counts it when
    /// the server's frame layer refused the input (`ws_<code>`).
    @discardableResult
    func expectClose(_ peer: TestClient, code: UInt16, reasonContains: String? = nil, answer: Bool = false,
                     sourceLocation: SourceLocation = #_sourceLocation) throws -> TestClient.Ending {
        let e = try peer.readEnding(answer: answer)
        #expect(e.code == code, "\(caseName): closed with \(e.code.map(String.init) ?? "no close frame") \(e.reason)", sourceLocation: sourceLocation)
        #expect(!e.reason.isEmpty, "\(caseName): the close frame gives no reason", sourceLocation: sourceLocation)
        if let s = reasonContains {
            #expect(e.reason.contains(s), "\(caseName): reason `\(e.reason)` lacks `\(s)`", sourceLocation: sourceLocation)
        }
        #expect(e.eof, "\(caseName): the socket stays open after the close frame", sourceLocation: sourceLocation)
        return e
    }

    /// Waits until the server holds no socket but the canary's: every connection a case
    /// opened was closed on the server side too. (Well inside the handshake timeout, so a
    /// socket the server lost track of cannot be rescued by the 408.)
    func expectOnlyTheCanaryLeft(timeout: Double = 2, sourceLocation: SourceLocation = #_sourceLocation) {
        let ok = eventually(timeout: timeout) { server.openSockets == 1 && server.openWebSockets == 1 }
        #expect(ok, "\(caseName): the server still holds \(server.openSockets) sockets (\(server.openWebSockets) WebSockets); only the canary's should be left",
                sourceLocation: sourceLocation)
    }

    /// The server's violation counter `kind` moved by exactly `count` since the case began, and
    /// so did the metric the connector exports for it: `lexconnector_limit_hits_total{limit}`
    /// for a limit, `lexconnector_bad_input_total{kind}` for bad input.
    func expectViolations(_ kind: String, _ count: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        let moved = violations(kind)
        #expect(moved == count, "\(caseName): violations[\(kind)] moved by \(moved), expected \(count)", sourceLocation: sourceLocation)
        if Self.limitKinds.contains(kind) {
            let m = (Self.labelled(harness.connector.metrics, "lexconnector_limit_hits_total", "limit")[kind] ?? 0) - (limitHitsBefore[kind] ?? 0)
            #expect(m == count, "\(caseName): lexconnector_limit_hits_total{limit=\"\(kind)\"} moved by \(m), expected \(count)", sourceLocation: sourceLocation)
        } else {
            expectBadInput(kind, count, sourceLocation: sourceLocation)
        }
    }

    /// The server's counters by metric label (`http_400`, `ws_1002`, ...).
    static func byName(_ violations: [WebSocketServerViolation: Int]) -> [String: Int] {
        Dictionary(violations.map { ($0.key.name, $0.value) }, uniquingKeysWith: +)
    }

    static let limitKinds: Set<String> = ["server_full", "too_many_sockets", "handshake_timeout", "output_queue_overflow", "upgrade_while_draining"]

    func violations(_ kind: String) -> Int {
        (Self.byName(server.counterSnapshot.violations)[kind] ?? 0) - (violationsBefore[kind] ?? 0)
    }

    /// Responses with `status` sent since the case began.
    func responses(_ status: Int) -> Int {
        (server.counterSnapshot.httpResponses[status] ?? 0) - (responsesBefore[status] ?? 0)
    }

    /// `lexconnector_bad_input_total{kind}` moved by exactly `count` since the case began.
    func expectBadInput(_ kind: String, _ count: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        let moved = (Self.labelled(harness.connector.metrics, "lexconnector_bad_input_total", "kind")[kind] ?? 0) - (badInputBefore[kind] ?? 0)
        #expect(moved == count, "\(caseName): lexconnector_bad_input_total{kind=\"\(kind)\"} moved by \(moved), expected \(count)", sourceLocation: sourceLocation)
    }

    /// A counter with one label (`name{label="value"} n`), by value, read from the Prometheus text.
    static func labelled(_ metrics: ConnectorMetrics, _ name: String, _ label: String) -> [String: Int] {
        var out: [String: Int] = [:]
        let prefix = name + "{" + label + "=\""
        for line in String(decoding: metrics.exposition(), as: UTF8.self).split(separator: "\n") where line.hasPrefix(prefix) {
            let rest = line.dropFirst(prefix.count)
            guard let quote = rest.firstIndex(of: "\""), let space = rest.lastIndex(of: " ") else { continue }
            out[String(rest[..<quote])] = Int(Double(rest[rest.index(after: space)...]) ?? 0)
        }
        return out
    }

    /// A counter by exact name (no labels), from the Prometheus text.
    static func counter(_ metrics: ConnectorMetrics, _ name: String) -> Int {
        for line in String(decoding: metrics.exposition(), as: UTF8.self).split(separator: "\n") where line.hasPrefix(name + " ") {
            return Int(Double(line.dropFirst(name.count + 1)) ?? 0)
        }
        return 0
    }
}

/// Deterministic junk (SplitMix64), so a failure reproduces.
struct Junk {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt8 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return UInt8(truncatingIfNeeded: z ^ (z >> 31))
    }
    /// `count` bytes, none of them in `excluding`.
    mutating func bytes(_ count: Int, excluding: Set<UInt8> = []) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count {
            let b = next()
            if !excluding.contains(b) { out.append(b) }
        }
        return out
    }
}

/// Re-checks `condition` every 10 ms until it holds or `timeout` seconds pass (for state
/// that has no event to wait on: socket counts that drop when the server reads an EOF).
func eventually(timeout: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date(timeIntervalSinceNow: timeout)
    let tick = NSCondition()
    tick.lock()
    defer { tick.unlock() }
    while !condition() {
        if Date() >= deadline { return false }
        _ = tick.wait(until: min(deadline, Date(timeIntervalSinceNow: 0.01)))
    }
    return true
}
