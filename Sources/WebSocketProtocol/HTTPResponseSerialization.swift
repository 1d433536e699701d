extension HTTPResponse {
    /// The server's wire form (plain responses always close the connection). `Content-Length`
    /// is added, and `Connection: close` unless this is a 101. With `headOnly` the body is left
    /// out (HEAD requests) but its length is still announced.
    public func serialized(headOnly: Bool = false) -> [UInt8] {
        var s = "HTTP/1.1 \(status.code) \(status.phrase)\r\n"
        for f in headers { s += "\(f.name): \(f.value)\r\n" }
        if status != .switchingProtocols {
            s += "Content-Length: \(body.count)\r\nConnection: close\r\n"
        }
        s += "\r\n"
        var out = Array(s.utf8)
        if !headOnly { out += body }
        return out
    }
}
