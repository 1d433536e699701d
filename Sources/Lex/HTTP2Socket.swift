#if canImport(Glibc)
import Glibc
#endif
import CNghttp2

/// A non-blocking TCP socket, optionally with TLS (OpenSSL, ALPN `h2`, peer verified), as the
/// HTTP/2 client's connection uses it. Driven by readiness events from the client's epoll set.
final class HTTP2Socket {
    enum IO { case done(Int), wouldBlock(wantWrite: Bool), closed, failed(String) }
    enum Progress { case pending(wantWrite: Bool), established, failed(HTTP2Error) }

    let fd: Int32
    private var ssl: OpaquePointer?
    private let host: String
    private let port: Int
    private var tcpConnected = false

    /// Starts a non-blocking connect to `address`; `tlsContext` nil means cleartext (h2c).
    init(address: UnsafePointer<sockaddr>, length: socklen_t, family: Int32, host: String, port: Int,
         tlsContext: OpaquePointer?) throws(HTTP2Error) {
        self.host = host
        self.port = port
        fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .connectFailed(host: host, port: port, reason: Self.errnoText(errno)) }
        var yes: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
        if connect(fd, address, length) != 0 && errno != EINPROGRESS {
            let e = errno
            close(fd)
            throw .connectFailed(host: host, port: port, reason: Self.errnoText(e))
        }
        if let tlsContext {
            guard let s = lc_h2_client_ssl(tlsContext, fd, host) else {
                close(fd)
                throw .tlsFailed(host: host, reason: "cannot set up TLS for this host name")
            }
            ssl = s
        }
    }

    deinit {
        if let ssl { SSL_free(ssl) }
        close(fd)
    }

    /// Advances TCP connect and the TLS handshake; call on each readiness event until
    /// `.established` (then the connection may speak HTTP/2) or `.failed`.
    func advance() -> Progress {
        if !tcpConnected {
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if error == EINPROGRESS || error == EALREADY { return .pending(wantWrite: true) }
            if error != 0 { return .failed(.connectFailed(host: host, port: port, reason: Self.errnoText(error))) }
            var address = sockaddr_storage()
            var addressLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let peer = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &addressLength) }
            }
            if peer != 0 { return errno == ENOTCONN ? .pending(wantWrite: true) : .failed(.connectFailed(host: host, port: port, reason: Self.errnoText(errno))) }
            tcpConnected = true
        }
        guard let ssl else { return .established }
        let rc = SSL_do_handshake(ssl)
        if rc == 1 {
            var alpn = [CChar](repeating: 0, count: 32)
            lc_h2_alpn_selected(ssl, &alpn, alpn.count)
            let selected = Self.text(alpn)
            return selected == "h2" ? .established : .failed(.noH2InALPN(host: host, negotiated: selected.isEmpty ? nil : selected))
        }
        switch SSL_get_error(ssl, rc) {
        case SSL_ERROR_WANT_READ: return .pending(wantWrite: false)
        case SSL_ERROR_WANT_WRITE: return .pending(wantWrite: true)
        default:
            let verify = String(cString: lc_h2_verify_result(ssl))
            let reason = verify == "ok" ? Self.sslErrorText() : "certificate verification: \(verify)"
            return .failed(.tlsFailed(host: host, reason: reason))
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> IO {
        if let ssl {
            let n = SSL_read(ssl, buffer.baseAddress, Int32(buffer.count))
            if n > 0 { return .done(Int(n)) }
            return sslIO(n)
        }
        let n = recv(fd, buffer.baseAddress, buffer.count, 0)
        if n > 0 { return .done(n) }
        if n == 0 { return .closed }
        if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return .wouldBlock(wantWrite: false) }
        return .failed(Self.errnoText(errno))
    }

    func write(_ buffer: UnsafeRawBufferPointer) -> IO {
        if let ssl {
            let n = SSL_write(ssl, buffer.baseAddress, Int32(buffer.count))
            if n > 0 { return .done(Int(n)) }
            return sslIO(n)
        }
        let n = send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
        if n >= 0 { return .done(n) }
        if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return .wouldBlock(wantWrite: true) }
        return .failed(Self.errnoText(errno))
    }

    private func sslIO(_ rc: Int32) -> IO {
        switch SSL_get_error(ssl, rc) {
        case SSL_ERROR_WANT_READ: return .wouldBlock(wantWrite: false)
        case SSL_ERROR_WANT_WRITE: return .wouldBlock(wantWrite: true)
        case SSL_ERROR_ZERO_RETURN: return .closed
        case SSL_ERROR_SYSCALL: return errno == 0 ? .closed : .failed(Self.errnoText(errno))
        default: return .failed("TLS: " + Self.sslErrorText())
        }
    }

    /// A NUL-terminated C buffer as text.
    static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func errnoText(_ code: Int32) -> String { String(cString: strerror(code)) }

    static func sslErrorText() -> String {
        var text = [CChar](repeating: 0, count: 256)
        lc_h2_last_error(&text, text.count)
        let s = Self.text(text)
        return s.isEmpty ? "handshake failed" : s
    }
}
