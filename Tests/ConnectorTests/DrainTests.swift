import Foundation
import Glibc
import LexStandIn
import Testing

/// The real `lexconnector` process under SIGTERM: the call in progress finishes its
/// conversation, new calls get 503, `/health` says draining, sd_notify tells systemd, and the
/// process exits 0.
@Suite(.serialized) struct DrainTests {
    /// The `lexconnector` executable built beside this test bundle.
    static var binary: URL { ServerProcess.binary }

    @Test func sigtermDrainsTheCallThenExitsZero() throws {
        guard ServerProcess.binaryIsBuilt() else { return }
        let standIn = try LexStandIn(credentials: [Harness.credentials])
        defer { standIn.stop() }
        standIn.setReply(forText: "hi", .init(message: "A long welcome.", audio: .tone(milliseconds: 2000)))
        standIn.setReply(forText: "1", .init(message: "One.", audio: .tone(milliseconds: 500)))
        let server = try ServerProcess(standIn: standIn, drainTimeoutSeconds: 20, extraConfiguration: """
        [call]
        idle_timeout = 0
        """)
        defer { server.stop() }
        let notify = try NotifySocket(path: server.directory.appendingPathComponent("notify").path)
        server.environment["NOTIFY_SOCKET"] = notify.path
        let process = server.process, stderr = server.stderr
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try server.run()

        let ready = notify.receive(timeout: 20)
        #expect(ready?.contains("READY=1") == true, "READY=1: \(ready ?? "nothing")")
        guard let port = Self.listeningPort(stderr) else { Issue.record("no listening line"); return }
        // Keep reading the child's log so a full pipe never blocks it.
        Thread { while !stderr.fileHandleForReading.availableData.isEmpty {} }.start()

        let c = try VonageTestClient(port: port, path: Harness.v2Path)
        #expect(c.httpStatus == 101)
        c.sendStart(rate: 16000, secret: ConversationTests.secret, extra: ["welcome_text": "hi"])
        #expect(c.wait { $0.frames.count >= 10 }, "the welcome reply is playing")

        kill(process.processIdentifier, SIGTERM)
        let stopping = notify.receive(timeout: 10)
        #expect(stopping?.contains("STOPPING=1") == true, "STOPPING=1: \(stopping ?? "nothing")")
        let health = try httpGet(port: port, path: "/health")
        #expect(health.0 == 503 && health.1.contains("draining"), "\(health)")
        #expect(try VonageTestClient(port: port, path: Harness.v2Path).httpStatus == 503, "no new call while draining")

        // The call goes on: the whole welcome plays, and one more turn works.
        #expect(c.wait(timeout: 10) { $0.frames.count == 100 })
        c.sendDTMF("1"); c.sendDTMF("#")
        #expect(c.wait(timeout: 10) { $0.frames.count == 125 })
        #expect(c.snapshot.closeCode == nil)
        c.sendClose()
        #expect(c.wait { $0.closeCode == 1000 })

        // (terminationReason traps while the process runs: asked only once it has exited.)
        let didExit = exited.wait(timeout: .now() + 15) == .success
        #expect(didExit, "the process exits once the call ended")
        if didExit { #expect(process.terminationReason == .exit && process.terminationStatus == 0) }
    }

    /// SIGTERM the moment the server says it listens: the signal's source is in place by then
    /// (it was set up after the listener once, so such a signal could land while it was
    /// ignored, and the server then ran on for ever), and the process exits 0.
    @Test func aSIGTERMAsSoonAsTheServerListensStopsIt() throws {
        guard ServerProcess.binaryIsBuilt() else { return }
        let standIn = try LexStandIn(credentials: [Harness.credentials])
        defer { standIn.stop() }
        for round in 0..<10 {
            let server = try ServerProcess(standIn: standIn, drainTimeoutSeconds: 5)
            defer { server.stop() }
            let exited = DispatchSemaphore(value: 0)
            server.process.terminationHandler = { _ in exited.signal() }
            try server.run()
            guard Self.listeningPort(server.stderr) != nil else { Issue.record("round \(round): no listening line"); return }
            kill(server.process.processIdentifier, SIGTERM)
            let process = server.process
            let didExit = exited.wait(timeout: .now() + 15) == .success
            #expect(didExit, "round \(round): the process exits")
            guard didExit else { break }  // one lost signal says it all
            #expect(process.terminationReason == .exit && process.terminationStatus == 0, "round \(round)")
        }
    }

    /// Reads stderr until the `listening` line and returns its port.
    static func listeningPort(_ pipe: Pipe) -> Int? {
        var text = ""
        let deadline = Date(timeIntervalSinceNow: 20)
        while Date() < deadline {
            let data = pipe.fileHandleForReading.availableData
            if data.isEmpty { return nil }
            text += String(decoding: data, as: UTF8.self)
            for line in text.split(separator: "\n") where line.contains("listening") {
                if let r = line.range(of: #"127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                    return Int(line[r].split(separator: ":").last ?? "")
                }
            }
        }
        return nil
    }
}

/// A datagram socket standing in for systemd's `$NOTIFY_SOCKET`.
final class NotifySocket {
    let path: String
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { p in
            for (i, b) in path.utf8.prefix(p.count - 1).enumerated() { p[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard rc == 0 else { throw TestFailure("bind \(path): errno \(errno)") }
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// The next datagram, or nil after `timeout` seconds.
    func receive(timeout: Int) -> String? {
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : nil
    }
}
