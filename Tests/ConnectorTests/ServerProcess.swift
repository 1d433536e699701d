import Foundation
import Glibc
import LexStandIn
import Testing

/// The real `lexconnector` executable (built beside this test bundle), prepared to run with a
/// configuration of its own: port 0 on 127.0.0.1, both Lex endpoints on `standIn`, then
/// `extraConfiguration` (more keys and sections). `PORT`, `HOST` and `NOTIFY_SOCKET` are taken
/// out of the inherited environment (set `environment` before `run()` to add some back); its
/// standard error goes to `stderr`. `stop()` (or `deinit`) ends the process and removes the
/// directory.
final class ServerProcess {
    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("lexconnector")
    }

    /// Whether `binary` is there; when not, records an issue that says how to build it.
    static func binaryIsBuilt() -> Bool {
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            Issue.record("\(binary.path) is missing: build everything first (`swift build --build-tests`, as make test does)")
            return false
        }
        return true
    }

    let directory: URL
    let process = Process()
    let stderr = Pipe()
    var environment: [String: String]

    init(standIn: LexStandIn, drainTimeoutSeconds: Int, extraConfiguration: String = "") throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lexconnector-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let conf = directory.appendingPathComponent("lexmo.conf")
        try """
        [lexmo]
        host = 127.0.0.1
        port = 0
        drain_timeout = \(drainTimeoutSeconds)
        [lex]
        endpoint_v1 = \(standIn.baseURL)
        endpoint_v2 = \(standIn.baseURL)
        \(extraConfiguration)
        """.write(to: conf, atomically: true, encoding: .utf8)
        process.executableURL = Self.binary
        process.arguments = ["--config", conf.path]
        environment = ProcessInfo.processInfo.environment
        for key in ["PORT", "HOST", "NOTIFY_SOCKET"] { environment.removeValue(forKey: key) }
        process.standardError = stderr
        // Not the test process's own: a child that outlived a crashed test run would hold
        // swift-test's output pipe open, and swift-test would wait for its end for ever.
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
    }

    func run() throws {
        process.environment = environment
        try process.run()
    }

    /// Stops the process: SIGTERM (it drains for its `drain_timeout`), then SIGKILL if it is
    /// still there 10 s later, so no test leaves a server behind; removes the directory. Call
    /// it in a `defer`: a failed expectation that names this object keeps it (swift-testing
    /// holds the values it reports), so `deinit` alone may never come.
    func stop() {
        if process.isRunning {
            process.terminate()
            let deadline = Date(timeIntervalSinceNow: 10)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { stop() }
}
