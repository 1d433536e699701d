/// An HTTP/2 error code (RFC 9113 §7), as carried by RST_STREAM and GOAWAY frames.
/// Unknown codes are kept as their number (RFC 9113 §7: "MUST NOT trigger any special behavior").
public struct HTTP2ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let noError = HTTP2ErrorCode(rawValue: 0x0)
    public static let protocolError = HTTP2ErrorCode(rawValue: 0x1)
    public static let internalError = HTTP2ErrorCode(rawValue: 0x2)
    public static let flowControlError = HTTP2ErrorCode(rawValue: 0x3)
    public static let settingsTimeout = HTTP2ErrorCode(rawValue: 0x4)
    public static let streamClosed = HTTP2ErrorCode(rawValue: 0x5)
    public static let frameSizeError = HTTP2ErrorCode(rawValue: 0x6)
    public static let refusedStream = HTTP2ErrorCode(rawValue: 0x7)
    public static let cancel = HTTP2ErrorCode(rawValue: 0x8)
    public static let compressionError = HTTP2ErrorCode(rawValue: 0x9)
    public static let connectError = HTTP2ErrorCode(rawValue: 0xa)
    public static let enhanceYourCalm = HTTP2ErrorCode(rawValue: 0xb)
    public static let inadequateSecurity = HTTP2ErrorCode(rawValue: 0xc)
    public static let http11Required = HTTP2ErrorCode(rawValue: 0xd)

    private static let names = [
        "NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT",
        "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR",
        "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED",
    ]

    /// The RFC 9113 name (`REFUSED_STREAM`), or `0x…` for a code it does not define.
    public var description: String {
        rawValue < UInt32(Self.names.count) ? Self.names[Int(rawValue)] : "0x" + String(rawValue, radix: 16)
    }
}

/// Which bounded wait ran out (see `HTTP2ClientConfiguration` for each bound).
public enum HTTP2Timeout: String, Sendable, Equatable {
    /// TCP connect plus TLS handshake took longer than `connectTimeout`.
    case connect
    /// No response HEADERS within `responseTimeout` of opening the stream.
    case responseHeaders
    /// A keepalive PING was not acknowledged within `pingTimeout`.
    case pingAcknowledgement
}

/// What went wrong with an HTTP/2 stream or its connection. Each message says what happened and
/// what to check. Delivered through `HTTP2StreamHandlers.onEnd`, or thrown by `open`/`send`.
public enum HTTP2Error: Error, Equatable, Sendable, CustomStringConvertible {
    /// The URL is not `http://` or `https://` with a host.
    case invalidURL(String)
    /// Name resolution or TCP connect failed.
    case connectFailed(host: String, port: Int, reason: String)
    /// TLS handshake or peer verification failed (certificate, hostname, CA file).
    case tlsFailed(host: String, reason: String)
    /// TLS worked but the server did not select `h2` by ALPN (nil: no ALPN at all).
    case noH2InALPN(host: String, negotiated: String?)
    /// An `http://` (prior knowledge, h2c) peer answered in HTTP/1.x: it does not speak HTTP/2.
    case notHTTP2(host: String, peerSaid: String)
    /// The server sent GOAWAY and this stream was not (or will not be) completed.
    case goAway(errorCode: HTTP2ErrorCode, lastStreamID: Int32)
    /// The server reset the stream (RST_STREAM) with this code.
    case streamReset(HTTP2ErrorCode)
    /// The connection ended (EOF, socket error, protocol error) with the stream unfinished.
    case connectionClosed(reason: String)
    case timeout(HTTP2Timeout)
    /// `send` would take the stream's outbound buffer past `limit` bytes: wait for `onWritable`.
    case sendBufferFull(limit: Int)
    /// `send` after `finish`, `cancel` or the end of the stream.
    case streamClosed
    /// The caller cancelled the stream.
    case cancelled
    /// The client was shut down.
    case clientStopped

    public var description: String {
        switch self {
        case .invalidURL(let url):
            return "invalid HTTP/2 URL '\(url)': use http://host[:port]/path (h2c) or https://host[:port]/path, the port 1-65535"
        case .connectFailed(let host, let port, let reason):
            return "cannot connect to \(host):\(port): \(reason); check the endpoint and the network"
        case .tlsFailed(let host, let reason):
            return "TLS with \(host) failed: \(reason); check the server certificate, its name and [lex] ca_file"
        case .noH2InALPN(let host, let negotiated):
            return "\(host) did not offer HTTP/2 by ALPN (negotiated: \(negotiated ?? "none")); the endpoint must speak h2"
        case .notHTTP2(let host, let peerSaid):
            return "\(host) answered HTTP/2 prior knowledge with '\(peerSaid)': it speaks HTTP/1 only; use an h2c endpoint or https"
        case .goAway(let code, let last):
            return "the server sent GOAWAY (\(code), last stream \(last)) before this stream completed; retry on a new connection"
        case .streamReset(let code):
            return "the server reset the stream (RST_STREAM \(code))"
        case .connectionClosed(let reason):
            return "the HTTP/2 connection closed before the stream completed: \(reason)"
        case .timeout(let which):
            return "HTTP/2 \(which.rawValue) timeout; the peer did not answer in time"
        case .sendBufferFull(let limit):
            return "the stream's send buffer is full (\(limit) bytes); wait for onWritable before sending more"
        case .streamClosed:
            return "the stream is finished or closed; nothing more can be sent"
        case .cancelled:
            return "the stream was cancelled by the caller"
        case .clientStopped:
            return "the HTTP/2 client was shut down"
        }
    }
}
