#if canImport(Glibc)
import Glibc
#endif

/// The listening socket of the stand-in's servers (HTTP/1.1 and HTTP/2): TCP on 127.0.0.1 only,
/// blocking, one accepting thread per server.
enum LoopbackListener {
    /// A socket listening on 127.0.0.1:`port` (0: the system chooses), `SO_REUSEADDR`,
    /// close-on-exec, backlog 1024. Returns the descriptor and the port bound. Throws
    /// `LexStandInError.socket` naming the call that failed (the port in use: `bind/listen`).
    static func open(port: UInt16 = 0) throws(LexStandInError) -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .socket("socket", errno) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 1024) == 0 else {
            let e = errno
            close(fd)
            throw .socket("bind/listen", e)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, UInt16(bigEndian: address.sin_port))
    }

    /// The next connection on `listenFD`, with `TCP_NODELAY` (small frames go at once); EINTR
    /// and ECONNABORTED are retried. nil once the listener is shut down or fails.
    static func accept(_ listenFD: Int32) -> Int32? {
        while true {
            let fd = Glibc.accept(listenFD, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return nil
            }
            var yes: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
            return fd
        }
    }
}
