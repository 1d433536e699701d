import Foundation
import LexStandIn
import Testing

/// The real `lexconnector` executable (built beside this test bundle), prepared to run with a
/// configuration of its own: port 0 on 127.0.0.1, both Lex endpoints on `standIn`, then
/// `extraConfiguration` (more keys and sections). `PORT`, `HOST` and `NOTIFY_SOCKET` are taken
/// out of the inherited environment (set `environment` before `run()` to add some back); its
/// standard error goes to `stderr`. The directory and the process go when this does.
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
    }

    func run() throws {
        process.environment = environment
        try process.run()
    }

    deinit {
        if process.isRunning { process.terminate() }
        try? FileManager.default.removeItem(at: directory)
    }
}
