import ArgumentParser
import Dispatch
import Logging
import WebSocketServer
#if canImport(Glibc)
import Glibc
#endif

/// Echoes every WebSocket message back; used for the Autobahn conformance cases and the
/// echo benchmark.
@main
struct WSEcho: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "wsecho", abstract: "WebSocket echo server for conformance tests and benchmarks.")

    @Option(help: "Port to listen on (0 picks one and prints it).") var port: Int = 9001
    @Option(help: "Address to listen on.") var host: String = "127.0.0.1"
    @Option(help: "Largest message, in bytes.") var maxMessage: Int = 32 << 20
    @Option(help: "Event loops (default: cores).") var loops: Int = System.coreCount
    @Flag(name: .shortAndLong, help: "Log every connection.") var verbose = false

    func run() throws {
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = verbose ? .debug : .warning
            return h
        }
        var config = WebSocketServerConfiguration()
        config.host = host
        config.port = port
        config.maxMessageBytes = maxMessage
        config.maxOutputQueueBytes = 4 * maxMessage + (1 << 20)
        config.eventLoopCount = loops
        let routes = EchoRoutes()  // the server holds its delegate weakly
        let server = WebSocketServer(configuration: config, delegate: routes)
        try server.start()
        let banner = "wsecho listening on \(server.addresses.joined(separator: " ")) port \(server.port)\n"
        _ = banner.utf8CString.withUnsafeBufferPointer { Glibc.write(1, $0.baseAddress, $0.count - 1) }
        var signals: [DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM] {
            _ = Glibc.signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .main)
            s.setEventHandler { server.stop(drainTimeout: .zero) { Glibc.exit(0) } }
            s.resume()
            signals.append(s)
        }
        withExtendedLifetime((signals, routes, server)) { dispatchMain() }
    }
}

final class EchoRoutes: WebSocketServerDelegate {
    func route(upgrade request: HTTPRequest, connection: WebSocketConnection) -> WebSocketRoute {
        .upgrade(EchoHandler())
    }
}

final class EchoHandler: WebSocketHandler {
    func webSocketDidOpen(_ connection: WebSocketConnection) {}
    func webSocket(_ connection: WebSocketConnection, didReceiveText text: String) { connection.sendText(text) }
    func webSocket(_ connection: WebSocketConnection, didReceiveBinary data: [UInt8]) { connection.sendBinary(data) }
    func webSocketDidClose(_ connection: WebSocketConnection, code: WebSocketCloseCode, reason: String, byPeer: Bool) {}
}
