#if canImport(Glibc)
import Glibc
#endif
import CNghttp2
import Foundation
import Lex

/// One accepted connection of `HTTP2StandInServer`: TLS handshake (when configured), then an
/// nghttp2 server session driven by `poll` on the socket and a wakeup eventfd. The session is
/// guarded by a recursive lock: handlers answer from nghttp2's callbacks or from other threads.
final class HTTP2ServerConnection: @unchecked Sendable {
    private let fd: Int32
    unowned let server: HTTP2StandInServer
    private let lock = NSRecursiveLock()
    private var session: OpaquePointer?
    private var ssl: OpaquePointer?
    private var streams: [Int32: HTTP2ServerStream] = [:]
    private var output: [UInt8] = []
    private var closing = false
    /// `fd` is still open. After `serve` closes it the number may already belong to another
    /// socket of this process (a test's client, the server's accepted connection): `close()`
    /// must not shut that one down.
    private var descriptorOpen = true
    /// Wakes the connection thread: an eventfd, written and closed under the lock. (It was a
    /// pipe written after the lock: a handler answering after the connection had ended wrote
    /// into a pipe whose read end was closed, and SIGPIPE killed the whole test process.)
    private let wake: Int32
    private var wakeOpen = true

    init(fd: Int32, server: HTTP2StandInServer) {
        self.fd = fd
        self.server = server
        wake = eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC))
    }

    /// Runs `body` with the session under the lock, then wakes the connection thread to send.
    func withSession(_ body: (OpaquePointer) -> Void) {
        lock.withLock {
            if let session { body(session) }
            guard wakeOpen else { return }
            var one: UInt64 = 1
            _ = Glibc.write(wake, &one, 8)
        }
    }

    func goAway(_ code: HTTP2ErrorCode, lastStreamID: Int32) {
        withSession { session in _ = nghttp2_session_terminate_session2(session, lastStreamID, code.rawValue) }
    }

    func close() {
        lock.withLock {
            closing = true
            if descriptorOpen { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    /// Closes `fd` once; `close()` leaves it alone from then on.
    func closeDescriptor() {
        lock.withLock {
            guard descriptorOpen else { return }
            descriptorOpen = false
            Glibc.close(fd)
        }
    }

    func serve(tlsContext: OpaquePointer?) {
        defer {
            let remaining: [HTTP2ServerStream] = lock.withLock {
                if let session { nghttp2_session_del(session) }
                session = nil
                defer { streams = [:] }
                return Array(streams.values)
            }
            // Streams still open when the connection ends are closed for their handlers too.
            for stream in remaining { stream.onClose(.cancel) }
            if let ssl { SSL_free(ssl) }
            closeDescriptor()
            lock.withLock {
                wakeOpen = false
                Glibc.close(wake)
            }
        }
        if let tlsContext {
            ssl = SSL_new(tlsContext)
            guard lc_h2_set_fd(ssl, fd) == 1 else { return }
            guard SSL_accept(ssl) == 1 else { return }  // blocking handshake; a failed one just closes
            var alpn = [CChar](repeating: 0, count: 16)
            lc_h2_alpn_selected(ssl, &alpn, alpn.count)
            guard alpn.starts(with: [104, 50, 0]) else { return }  // "h2": else an HTTP/1.1-only peer, done
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        guard makeSession() else { return }
        var buffer = [UInt8](repeating: 0, count: 32 * 1024)
        while true {
            let wantWrite = lock.withLock { () -> Bool in
                pump()
                return !output.isEmpty
            }
            let done = lock.withLock { closing || session.map { nghttp2_session_want_read($0) == 0 && nghttp2_session_want_write($0) == 0 } ?? true }
            if done && !wantWrite { return }
            var fds = [pollfd(fd: fd, events: Int16(POLLIN) | (wantWrite ? Int16(POLLOUT) : 0), revents: 0),
                       pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
            if poll(&fds, 2, -1) < 0 && errno != EINTR { return }
            if fds[1].revents != 0 {
                var count: UInt64 = 0
                _ = Glibc.read(wake, &count, 8)
            }
            if fds[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                guard receive(&buffer) else { return }
            }
        }
    }

    /// Reads until the socket would block; false when the peer is gone or broke the protocol.
    private func receive(_ buffer: inout [UInt8]) -> Bool {
        while true {
            let n: Int = buffer.withUnsafeMutableBytes { b in
                if let ssl {
                    let r = SSL_read(ssl, b.baseAddress, Int32(b.count))
                    if r > 0 { return Int(r) }
                    let e = SSL_get_error(ssl, r)
                    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? -1 : 0
                }
                let r = recv(fd, b.baseAddress, b.count, 0)
                if r < 0 { return errno == EAGAIN || errno == EINTR ? -1 : 0 }
                return r
            }
            if n < 0 { return true }
            if n == 0 { return false }
            let ok = lock.withLock {
                guard let session else { return false }
                return buffer.withUnsafeBufferPointer { nghttp2_session_mem_recv(session, $0.baseAddress, n) } >= 0
            }
            if !ok { return false }
        }
    }

    /// Moves nghttp2's output to the socket until it would block (under the lock).
    private func pump() {
        guard let session else { return }
        while true {
            if output.count < 64 * 1024 {
                var data: UnsafePointer<UInt8>?
                let n = nghttp2_session_mem_send(session, &data)
                if n > 0 {
                    output.append(contentsOf: UnsafeBufferPointer(start: data, count: n))
                    continue
                }
            }
            guard !output.isEmpty else { return }
            let written: Int = output.withUnsafeBytes { b in
                if let ssl {
                    let r = SSL_write(ssl, b.baseAddress, Int32(b.count))
                    return r > 0 ? Int(r) : -1
                }
                return send(fd, b.baseAddress, b.count, Int32(MSG_NOSIGNAL))
            }
            guard written > 0 else { return }
            output.removeFirst(written)
        }
    }

    private func makeSession() -> Bool {
        lock.withLock {
            var s: OpaquePointer?
            var option: OpaquePointer?
            nghttp2_option_new(&option)
            defer { nghttp2_option_del(option) }
            nghttp2_option_set_no_auto_ping_ack(option, server.settings.acknowledgesPings ? 0 : 1)
            nghttp2_option_set_no_auto_window_update(option, server.settings.returnsWindow ? 0 : 1)
            guard nghttp2_session_server_new2(&s, HTTP2ServerCallbacks.server, Unmanaged.passUnretained(self).toOpaque(), option) == 0 else { return false }
            session = s
            var entries = [
                nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue), value: UInt32(server.settings.maxConcurrentStreams)),
                nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: UInt32(server.settings.initialWindowSize)),
            ]
            nghttp2_submit_settings(s, UInt8(NGHTTP2_FLAG_NONE.rawValue), &entries, entries.count)
            if server.settings.returnsWindow { nghttp2_session_set_local_window_size(s, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, 64 << 20) }
            return true
        }
    }

    // MARK: session callbacks (under the lock, from nghttp2_session_mem_recv / mem_send)

    func beginHeaders(streamID: Int32) {
        streams[streamID] = HTTP2ServerStream(streamID: streamID, connection: self)
    }

    func header(streamID: Int32, name: String, value: String) {
        streams[streamID]?.received(name: name, value: value)
    }

    func frame(type: UInt32, flags: UInt8, streamID: Int32) {
        if type == NGHTTP2_PING.rawValue && flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) == 0 { server.countPing() }
        guard let stream = streams[streamID] else { return }
        if type == NGHTTP2_HEADERS.rawValue && !stream.handled {
            stream.handled = true
            server.handler(stream)
        }
        if (type == NGHTTP2_HEADERS.rawValue || type == NGHTTP2_DATA.rawValue) && flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0 {
            stream.onEnd()
        }
    }

    func data(streamID: Int32, bytes: [UInt8]) { streams[streamID]?.onData(bytes) }

    func closed(streamID: Int32, code: UInt32) {
        streams.removeValue(forKey: streamID)?.onClose(HTTP2ErrorCode(rawValue: code))
    }

    func read(streamID: Int32, into buffer: UnsafeMutablePointer<UInt8>, capacity: Int, flags: UnsafeMutablePointer<UInt32>) -> Int {
        guard let stream = streams[streamID], let session else { return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
        return stream.read(into: buffer, capacity: capacity, flags: flags, session: session)
    }

}

enum HTTP2ServerCallbacks {
    private static func connection(_ user: UnsafeMutableRawPointer?) -> HTTP2ServerConnection {
        Unmanaged<HTTP2ServerConnection>.fromOpaque(user!).takeUnretainedValue()
    }

    nonisolated(unsafe) static let server: OpaquePointer = {
        var callbacks: OpaquePointer?
        nghttp2_session_callbacks_new(&callbacks)
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks) { _, frame, user in
            guard let frame, frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST else { return 0 }
            connection(user).beginHeaders(streamID: frame.pointee.hd.stream_id)
            return 0
        }
        nghttp2_session_callbacks_set_on_header_callback(callbacks) { _, frame, name, nameLength, value, valueLength, _, user in
            guard let frame, let name, let value else { return 0 }
            connection(user).header(streamID: frame.pointee.hd.stream_id,
                                    name: String(decoding: UnsafeBufferPointer(start: name, count: nameLength), as: UTF8.self),
                                    value: String(decoding: UnsafeBufferPointer(start: value, count: valueLength), as: UTF8.self))
            return 0
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, user in
            guard let frame else { return 0 }
            connection(user).frame(type: UInt32(frame.pointee.hd.type), flags: frame.pointee.hd.flags, streamID: frame.pointee.hd.stream_id)
            return 0
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) { _, _, streamID, data, length, user in
            guard let data else { return 0 }
            connection(user).data(streamID: streamID, bytes: Array(UnsafeBufferPointer(start: data, count: length)))
            return 0
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { _, streamID, code, user in
            connection(user).closed(streamID: streamID, code: code)
            return 0
        }
        return callbacks!
    }()

    static let readBody: nghttp2_data_source_read_callback = { _, streamID, buffer, length, flags, _, user in
        guard let buffer, let flags else { return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
        return connection(user).read(streamID: streamID, into: buffer, capacity: length, flags: flags)
    }
}
