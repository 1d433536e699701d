// Linux only: the event loops are epoll sets.
import Glibc

/// A socket error with the call that failed and `errno`'s text.
public struct SocketError: Error, CustomStringConvertible, Sendable {
    public let call: String
    public let errno: Int32
    public var description: String { "\(call) failed: \(String(cString: strerror(errno))) (errno \(errno))" }
}

/// Thin wrappers over the socket calls the listener and connections need.
enum Socket {
    static func setNonBlocking(_ fd: Int32) throws {
        let flags = fcntl(fd, F_GETFL, 0)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else { throw SocketError(call: "fcntl", errno: errno) }
    }

    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) throws {
        var v = value
        guard setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw SocketError(call: "setsockopt(\(name))", errno: errno)
        }
    }

    /// The addresses to bind for `host`: numeric addresses directly, names through getaddrinfo.
    /// `*` means every IPv4 and IPv6 address.
    static func resolve(host: String, port: Int) throws -> [sockaddr_storage] {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let node: String? = (host == "*" || host.isEmpty) ? nil : host
        let rc = getaddrinfo(node, String(port), &hints, &result)
        guard rc == 0, let first = result else {
            throw SocketError(call: "getaddrinfo(\(host)): \(String(cString: gai_strerror(rc)))", errno: 0)
        }
        defer { freeaddrinfo(first) }
        var out: [sockaddr_storage] = []
        var p: UnsafeMutablePointer<addrinfo>? = first
        while let ai = p {
            var ss = sockaddr_storage()
            withUnsafeMutableBytes(of: &ss) { dst in
                dst.copyMemory(from: UnsafeRawBufferPointer(start: ai.pointee.ai_addr, count: Int(ai.pointee.ai_addrlen)))
            }
            // A name can resolve to the same address twice (one per protocol); keep one.
            if !out.contains(where: { describe($0) == describe(ss) }) { out.append(ss) }
            p = ai.pointee.ai_next
        }
        return out
    }

    static func length(of ss: sockaddr_storage) -> socklen_t {
        socklen_t(Int32(ss.ss_family) == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
    }

    /// `host:port`, or `[v6]:port`.
    static func describe(_ ss: sockaddr_storage) -> String {
        var copy = ss
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        return withUnsafePointer(to: &copy) { p -> String in
            if Int32(ss.ss_family) == AF_INET6 {
                return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { a in
                    var addr = a.pointee.sin6_addr
                    inet_ntop(AF_INET6, &addr, &buf, socklen_t(buf.count))
                    let host = buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                    return "[\(host)]:\(UInt16(bigEndian: a.pointee.sin6_port))"
                }
            }
            return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { a in
                var addr = a.pointee.sin_addr
                inet_ntop(AF_INET, &addr, &buf, socklen_t(buf.count))
                let host = buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                return "\(host):\(UInt16(bigEndian: a.pointee.sin_port))"
            }
        }
    }

    /// The address's IP without the port (for per-client accounting).
    static func hostPart(_ ss: sockaddr_storage) -> String {
        let d = describe(ss)
        guard let colon = d.lastIndex(of: ":") else { return d }
        return String(d[..<colon]).trimmingCharacters(in: "[]")
    }

    static func port(of ss: sockaddr_storage) -> Int {
        var copy = ss
        return withUnsafePointer(to: &copy) { p in
            if Int32(ss.ss_family) == AF_INET6 {
                return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            }
            return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
    }

    static func setPort(_ ss: inout sockaddr_storage, _ port: Int) {
        let family = Int32(ss.ss_family)
        withUnsafeMutablePointer(to: &ss) { p in
            if family == AF_INET6 {
                p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_port = UInt16(port).bigEndian }
            } else {
                p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_port = UInt16(port).bigEndian }
            }
        }
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
