#if canImport(Glibc)
import Glibc
#endif
import CNghttp2
import Foundation

/// One HTTP/2 connection to one origin, driven by the `HTTP2Client` thread (and only by it):
/// the socket (TCP, TLS), the nghttp2 client session, the streams on it and its timers.
/// nghttp2 keeps the protocol state; this class moves bytes and maps its callbacks (in
/// `HTTP2Connection+Session.swift`) to stream events.
final class HTTP2Connection {
    enum State { case resolving, connecting, ready, closed }

    let id: UInt64
    let origin: HTTP2URL
    unowned let client: HTTP2Client
    let configuration: HTTP2ClientConfiguration
    private(set) var state = State.resolving
    var socket: HTTP2Socket?
    var session: OpaquePointer?
    /// Open streams by id, and streams waiting for the connection to be ready.
    var streams: [Int32: HTTP2Stream] = [:]
    var waiting: [HTTP2Stream] = []
    var goAway: (code: HTTP2ErrorCode, lastStreamID: Int32)?
    var receivedAny = false
    private var addresses: [HTTP2Address] = []
    private var pendingOutput: [UInt8] = []
    private var watchingWrite = false
    private var closeRequested = false
    /// On the client's list of connections to flush after this turn.
    var isDirty = false
    /// On the client's list of connections to flush when the coalescing interval ends.
    var isCoalesced = false
    private var readBuffer = [UInt8](repeating: 0, count: 16 * 1024)

    // Deadlines, monotonic nanoseconds (`.max`: none).
    var connectDeadline: UInt64 = .max
    var pingDue: UInt64 = .max
    var pingAckDeadline: UInt64 = .max
    var idleDeadline: UInt64 = .max

    init(id: UInt64, origin: HTTP2URL, client: HTTP2Client, configuration: HTTP2ClientConfiguration, now: UInt64) {
        self.id = id
        self.origin = origin
        self.client = client
        self.configuration = configuration
        connectDeadline = now + HTTP2Client.nanoseconds(configuration.connectTimeout)
    }

    /// Streams on this connection or waiting for it.
    var load: Int { streams.count + waiting.count }

    /// Whether another stream may use this connection: not closing, under both stream limits.
    var accepts: Bool {
        guard state != .closed, goAway == nil else { return false }
        var limit = configuration.maxStreamsPerConnection
        if let session { limit = min(limit, Int(nghttp2_session_get_remote_settings(session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS))) }
        return load < limit
    }

    var earliestDeadline: UInt64 { min(connectDeadline, pingDue, pingAckDeadline, idleDeadline) }

    // MARK: connect

    func resolved(_ result: Result<[HTTP2Address], HTTP2Error>) {
        guard state == .resolving else { return }
        switch result {
        case .failure(let error): fail(error)
        case .success(let list):
            addresses = list
            state = .connecting
            connectNext(lastError: .connectFailed(host: origin.host, port: origin.port, reason: "no address"))
        }
    }

    private func connectNext(lastError: HTTP2Error) {
        if let old = socket {
            client.unwatch(old.fd)
            socket = nil
        }
        guard !addresses.isEmpty else { return fail(lastError) }
        let address = addresses.removeFirst()
        do throws(HTTP2Error) {
            let tls = origin.secure ? try client.tlsContext() : nil
            var storage = address.storage
            let s = try withUnsafePointer(to: &storage) { p throws(HTTP2Error) in
                try HTTP2Socket(address: UnsafeRawPointer(p).assumingMemoryBound(to: sockaddr.self), length: address.length,
                                family: address.family, host: origin.host, port: origin.port, tlsContext: tls)
            }
            socket = s
            client.watch(s.fd, connection: self, write: true)
            watchingWrite = true
        } catch {
            connectNext(lastError: error)
        }
    }

    /// Readiness of the socket (epoll events).
    func handle(readable: Bool, writable: Bool) {
        switch state {
        case .resolving, .closed: return
        case .connecting: advanceConnect()
        case .ready:
            if writable { flush() }
            if readable && state == .ready { readAvailable() }
        }
    }

    private func advanceConnect() {
        guard let socket else { return }
        switch socket.advance() {
        case .pending(let wantWrite):
            setWatchWrite(wantWrite)
        case .failed(let error):
            if case .connectFailed = error { connectNext(lastError: error) } else { fail(error) }
        case .established:
            connectDeadline = .max
            do throws(HTTP2Error) {
                session = try makeSession()
            } catch {
                return fail(error)
            }
            state = .ready
            client.statisticsChanged()
            let queued = waiting
            waiting = []
            for stream in queued { submit(stream) }
            flush()
        }
    }

    // MARK: streams

    func add(_ stream: HTTP2Stream, now: UInt64) {
        stream.connection = self
        idleDeadline = .max
        if let timeout = configuration.responseTimeout {
            stream.responseDeadline = now + HTTP2Client.nanoseconds(timeout)
        }
        if state == .ready { submit(stream) } else { waiting.append(stream) }
    }

    func cancel(_ stream: HTTP2Stream) {
        if let i = waiting.firstIndex(where: { $0 === stream }) {
            waiting.remove(at: i)
            stream.deliverEnd(.cancelled)
            streamGone(now: HTTP2Client.now())
            return
        }
        guard let session, stream.streamID > 0, streams[stream.streamID] != nil else { return }
        nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream.streamID, HTTP2ErrorCode.cancel.rawValue)
        stream.deliverEnd(.cancelled)
        flush()
    }

    func resume(_ stream: HTTP2Stream) {
        guard let session, stream.streamID > 0, streams[stream.streamID] != nil else { return }
        nghttp2_session_resume_data(session, stream.streamID)
        client.markDirtyCoalesced(self)
    }

    /// Returns `bytes` of receive window: the stream's handlers have consumed them.
    func consume(_ stream: HTTP2Stream, bytes: Int) {
        guard let session else { return }
        nghttp2_session_consume_connection(session, bytes)
        if stream.streamID > 0, streams[stream.streamID] != nil {
            nghttp2_session_consume_stream(session, stream.streamID, bytes)
        }
        client.markDirtyCoalesced(self)
    }

    /// After a stream left this connection: start the idle clock when it was the last.
    func streamGone(now: UInt64) {
        client.statisticsChanged()
        if load == 0 {
            pingDue = .max
            pingAckDeadline = .max
            idleDeadline = now + HTTP2Client.nanoseconds(configuration.idleConnectionTimeout)
            client.deadlineChanged(self)
            // Not closed here: this may run inside an nghttp2 callback; `flush` closes it.
            if configuration.maxStreamsPerConnection == 1 || goAway != nil {
                closeRequested = true
                client.markDirty(self)
            }
        }
    }

    // MARK: timers

    func checkTimers(now: UInt64) {
        if now >= connectDeadline { return fail(.timeout(.connect)) }
        if now >= pingAckDeadline { return fail(.timeout(.pingAcknowledgement)) }
        if now >= idleDeadline { return close(sendGoAway: true) }
        if now >= pingDue, let session {
            pingDue = .max
            pingAckDeadline = now + HTTP2Client.nanoseconds(configuration.pingTimeout)
            nghttp2_submit_ping(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), nil)
            client.markDirty(self)
        }
        for stream in waiting + Array(streams.values) where now >= stream.responseDeadline {
            stream.responseDeadline = .max
            if let session, stream.streamID > 0 {
                nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream.streamID, HTTP2ErrorCode.cancel.rawValue)
                client.markDirty(self)
            } else {
                waiting.removeAll { $0 === stream }
            }
            stream.deliverEnd(.timeout(.responseHeaders))
        }
    }

    /// Any frame from the server shows the connection alive: the next PING waits a full interval.
    func frameReceived(now: UInt64) {
        if load > 0 {
            pingDue = now + HTTP2Client.nanoseconds(configuration.pingInterval)
            client.deadlineChanged(self)
        }
    }

    // MARK: I/O

    private func readAvailable() {
        guard let socket, let session else { return }
        while state == .ready {
            let io = readBuffer.withUnsafeMutableBytes { socket.read(into: $0) }
            switch io {
            case .done(let n):
                if !receivedAny {
                    receivedAny = true
                    if !origin.secure, readBuffer.starts(with: Array("HTTP/1.".utf8)) {
                        let line = String(decoding: readBuffer[..<n].prefix { $0 != 13 && $0 != 10 }.prefix(80), as: UTF8.self)
                        return fail(.notHTTP2(host: origin.host, peerSaid: line))
                    }
                }
                let rc = readBuffer.withUnsafeBufferPointer { nghttp2_session_mem_recv(session, $0.baseAddress, n) }
                if rc < 0 { return fail(.connectionClosed(reason: "HTTP/2 protocol error: " + String(cString: nghttp2_strerror(Int32(rc))))) }
                frameReceived(now: HTTP2Client.now())
            case .wouldBlock:
                flush()
                return
            case .closed:
                return fail(goAwayError ?? .connectionClosed(reason: "the server closed the connection"))
            case .failed(let reason):
                return fail(goAwayError ?? .connectionClosed(reason: reason))
            }
        }
    }

    /// Writes what nghttp2 has to send until the socket would block: frames are gathered (up to
    /// 64 KiB) and written in one call, so the chunks of many streams share a system call.
    func flush() {
        if closeRequested && load == 0 { return close(sendGoAway: true) }
        guard state == .ready, let socket, let session else { return }
        var drained = false
        writing: while true {
            while !drained && pendingOutput.count < 64 * 1024 {
                var data: UnsafePointer<UInt8>?
                let n = nghttp2_session_mem_send(session, &data)
                if n < 0 { return fail(.connectionClosed(reason: "HTTP/2 session: " + String(cString: nghttp2_strerror(Int32(n))))) }
                if n == 0 || data == nil {
                    drained = true
                } else {
                    pendingOutput.append(contentsOf: UnsafeBufferPointer(start: data, count: n))
                }
            }
            if pendingOutput.isEmpty { break writing }
            let io = pendingOutput.withUnsafeBytes { socket.write($0) }
            switch io {
            case .done(let n):
                pendingOutput.removeFirst(n)
            case .wouldBlock:
                setWatchWrite(true)
                return
            case .closed, .failed:
                // What the peer said before it closed explains more (an HTTP/1 answer, a GOAWAY).
                if !receivedAny { readAvailable() }
                guard state == .ready else { return }
                if case .failed(let reason) = io { return fail(goAwayError ?? .connectionClosed(reason: reason)) }
                return fail(goAwayError ?? .connectionClosed(reason: "the server closed the connection"))
            }
        }
        setWatchWrite(false)
        if nghttp2_session_want_read(session) == 0 && nghttp2_session_want_write(session) == 0 {
            fail(goAwayError ?? .connectionClosed(reason: "the HTTP/2 session ended"))
        }
    }

    private func setWatchWrite(_ on: Bool) {
        guard on != watchingWrite, let socket else { return }
        watchingWrite = on
        client.watch(socket.fd, connection: self, write: on, modify: true)
    }

    var goAwayError: HTTP2Error? { goAway.map { .goAway(errorCode: $0.code, lastStreamID: $0.lastStreamID) } }

    /// Ends the connection: every stream on it or waiting for it ends with `error`.
    func fail(_ error: HTTP2Error) {
        guard state != .closed else { return }
        if !(streams.isEmpty && waiting.isEmpty) {
            configuration.logger.debug("HTTP/2 connection to \(origin.origin) failed: \(error)")
        }
        let ended = waiting + streams.values.sorted { $0.streamID < $1.streamID }
        waiting = []
        streams = [:]
        close(sendGoAway: false)
        for stream in ended { stream.deliverEnd(error) }
    }

    /// Closes the socket (after a best-effort GOAWAY) and leaves the client's pool.
    func close(sendGoAway: Bool) {
        guard state != .closed else { return }
        if sendGoAway, state == .ready, let session, let socket {
            nghttp2_session_terminate_session(session, HTTP2ErrorCode.noError.rawValue)
            var data: UnsafePointer<UInt8>?
            let n = nghttp2_session_mem_send(session, &data)
            if n > 0 { _ = socket.write(UnsafeRawBufferPointer(start: data, count: n)) }
        }
        state = .closed
        for stream in waiting + Array(streams.values) { stream.deliverEnd(goAwayError ?? .connectionClosed(reason: "the connection was closed")) }
        waiting = []
        streams = [:]
        if let socket { client.unwatch(socket.fd) }
        socket = nil
        if let session { nghttp2_session_del(session) }
        session = nil
        client.remove(self)
    }
}

/// A resolved socket address (`getaddrinfo`).
struct HTTP2Address: Sendable {
    var family: Int32
    var storage: sockaddr_storage
    var length: socklen_t
}
