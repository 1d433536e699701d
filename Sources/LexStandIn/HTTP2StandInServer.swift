#if canImport(Glibc)
import Glibc
#endif
import CNghttp2
import Foundation
import Lex

/// The stand-in's HTTP/2 server: nghttp2 server sessions on a 127.0.0.1 listener, h2c (prior
/// knowledge, RFC 9113 §3.3) or TLS with ALPN `h2`, one thread per connection (it serves
/// tests and the load tools, not production). Each request goes to `handler` when its HEADERS
/// are complete; the handler reads DATA through the `HTTP2ServerStream` and answers on it.
public final class HTTP2StandInServer: @unchecked Sendable {
    /// Called on the connection's thread once per request; set the stream's closures here.
    public typealias Handler = @Sendable (HTTP2ServerStream) -> Void

    /// TLS from PEM files; `http1Only` makes ALPN choose `http/1.1` (a server without HTTP/2).
    public struct TLS: Sendable {
        public var certificatePath: String
        public var privateKeyPath: String
        public var http1Only: Bool
        public init(certificatePath: String, privateKeyPath: String, http1Only: Bool = false) {
            self.certificatePath = certificatePath
            self.privateKeyPath = privateKeyPath
            self.http1Only = http1Only
        }
    }

    public struct Settings: Sendable {
        /// SETTINGS_MAX_CONCURRENT_STREAMS advertised to clients.
        public var maxConcurrentStreams = 1000
        /// SETTINGS_INITIAL_WINDOW_SIZE: request bytes a client may send per stream unacknowledged.
        public var initialWindowSize = 1 << 20
        /// Answer PINGs (false: a peer whose HTTP/2 layer hangs, for keepalive tests).
        public var acknowledgesPings = true
        /// Return receive window as request DATA arrives (false: never a WINDOW_UPDATE, a peer
        /// that stops reading; the client stalls once the initial window is spent).
        public var returnsWindow = true
        public init() {}
    }

    public let port: UInt16
    let settings: Settings
    let handler: Handler
    private let listenFD: Int32
    private let tlsContext: OpaquePointer?
    private let lock = NSLock()
    private var connections: [ObjectIdentifier: HTTP2ServerConnection] = [:]
    private var stopped = false
    /// `listenFD` is still open (the accept loop closes it when it ends).
    private var listening = true
    private var accepted = 0
    private var pings = 0

    public init(tls: TLS? = nil, settings: Settings = Settings(), handler: @escaping Handler) throws {
        self.settings = settings
        self.handler = handler
        if let tls {
            guard let ctx = lc_h2_server_ctx(tls.certificatePath, tls.privateKeyPath, tls.http1Only ? 1 : 0) else {
                throw LexStandInError.socket("TLS certificate/key load", EINVAL)
            }
            tlsContext = ctx
        } else {
            tlsContext = nil
        }
        (listenFD, port) = try LoopbackListener.open()
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "standin-h2-accept"
        thread.start()
    }

    /// Closes the listener and every connection.
    public func stop() {
        let open: [HTTP2ServerConnection] = lock.withLock {
            stopped = true
            if listening { shutdown(listenFD, Int32(SHUT_RDWR)) }
            return Array(connections.values)
        }
        for c in open { c.close() }  // each shuts its socket down only while it is still open
    }

    /// PING frames received (not acknowledgements), all connections.
    public var pingsReceived: Int { lock.withLock { pings } }

    func countPing() { lock.withLock { pings += 1 } }

    /// Connections accepted so far (a test's check that streams shared one connection).
    public var connectionsAccepted: Int { lock.withLock { accepted } }

    private func acceptLoop() {
        while let fd = LoopbackListener.accept(listenFD) {
            guard let connection = admit(fd) else { break }
            let thread = Thread { [self] in
                lc_h2_set_thread_name("standin-h2")
                run(connection)
            }
            thread.stackSize = 512 * 1024
            thread.name = "standin-h2-conn"
            thread.start()
        }
        lock.withLock {
            listening = false
            close(listenFD)
        }
    }

    /// Serves an already accepted connection on the calling thread until it closes (the
    /// HTTP/1.1 stand-in hands over connections that open with the HTTP/2 preface). Closes `fd`.
    public func serve(acceptedConnection fd: Int32) {
        guard let connection = admit(fd) else { return }
        run(connection)
    }

    private func admit(_ fd: Int32) -> HTTP2ServerConnection? {
        let connection = HTTP2ServerConnection(fd: fd, server: self)
        let admitted = lock.withLock {
            guard !stopped else { return false }
            accepted += 1
            connections[ObjectIdentifier(connection)] = connection
            return true
        }
        guard admitted else {
            connection.closeDescriptor()
            return nil
        }
        return connection
    }

    private func run(_ connection: HTTP2ServerConnection) {
        connection.serve(tlsContext: tlsContext)
        lock.withLock { connections[ObjectIdentifier(connection)] = nil }
    }
}
