import Foundation
import Glibc
import LexStandIn
import Testing
@testable import Connector

/// Text from the network in a log line cannot forge another line.
@Suite struct LogTextTests {
    @Test(arguments: [
        ("plain text, ünïcode ✓", "plain text, ünïcode ✓"),
        ("x\n2026-11-30T00:00:00Z INFO lexconnector: forged", "x\\n2026-11-30T00:00:00Z INFO lexconnector: forged"),
        ("a\r\nb\tc", "a\\r\\nb\\tc"),
        ("nul\u{0}esc\u{1B}del\u{7F}", "nul\\u{0}esc\\u{1b}del\\u{7f}"),
        ("line\u{2028}sep\u{85}", "line\\u{2028}sep\\u{85}"),
    ])
    func escaped(input: String, expected: String) {
        #expect(LogText.escaped(input) == expected)
        #expect(!LogText.escaped(input).contains("\n"))
    }

    /// The real process's text log: a client_id with a line break stays on its line.
    @Test func theProcessLogKeepsALineBreakInAClientIdOnItsLine() throws {
        guard ServerProcess.binaryIsBuilt() else { return }
        let standIn = try LexStandIn(credentials: [Harness.credentials])
        defer { standIn.stop() }
        let server = try ServerProcess(standIn: standIn, drainTimeoutSeconds: 1)
        defer { server.stop() }
        let stderr = server.stderr
        try server.run()
        guard let port = DrainTests.listeningPort(stderr) else { Issue.record("no listening line"); return }
        let c = try VonageTestClient(port: port, path: Harness.v2Path)
        c.sendStart(rate: 16000, secret: ConversationTests.secret, extra: ["client_id": "abc\nINFO forged"])
        #expect(c.wait { $0.texts.first == "ok" })
        c.sendClose()
        #expect(c.wait { $0.closeCode != nil })
        server.stop()  // SIGTERM, bounded: then standard error ends
        let log = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(log.contains("client_id=abc\\nINFO forged"), "\(log)")
        #expect(!log.split(separator: "\n").contains { $0.hasPrefix("INFO forged") }, "\(log)")
    }
    /// The real process with its standard error's reader gone (a `| tee` that died): its log
    /// lines fail with EPIPE, and the process serves on (SIGPIPE is ignored).
    @Test func theProcessOutlivesTheReaderOfItsLog() throws {
        guard ServerProcess.binaryIsBuilt() else { return }
        let standIn = try LexStandIn(credentials: [Harness.credentials])
        defer { standIn.stop() }
        let server = try ServerProcess(standIn: standIn, drainTimeoutSeconds: 1)
        defer { server.stop() }
        try server.run()
        guard let port = DrainTests.listeningPort(server.stderr) else { Issue.record("no listening line"); return }
        try server.stderr.fileHandleForReading.close()
        // Each refused upgrade logs a line (info) into the closed pipe.
        for _ in 0..<3 {
            #expect(try VonageTestClient(port: port, path: "/not/a/route").httpStatus == 404)
        }
        #expect(try httpGet(port: port, path: "/health").0 == 200)
        #expect(server.process.isRunning)
    }
}
