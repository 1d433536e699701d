/// What the server refused or cut off: the keys of `WebSocketServerCounters.violations` and
/// what `WebSocketServerDelegate.serverCounted` reports. `name` is the metric label
/// (`http_400`, `ws_1002`, `handshake_timeout`, ...).
public enum WebSocketServerViolation: Hashable, Sendable, CustomStringConvertible {
    /// A request answered with this status before any route saw it: a bad request head, a
    /// request body, an upgrade RFC 6455 section 4.2.1 refuses (`http_<code>`).
    case httpStatus(Int)
    /// A WebSocket failed with this close code because the peer broke RFC 6455 (`ws_<code>`).
    case protocolViolation(WebSocketCloseCode)
    /// No complete request head before `handshakeTimeout`.
    case handshakeTimeout
    /// A connection's unsent output passed `maxOutputQueueBytes`; it was closed.
    case outputQueueOverflow
    /// Limits: a socket refused at `maxSockets`, an upgrade refused at
    /// `maxWebSocketConnections`, an upgrade refused while draining.
    case tooManySockets, serverFull, upgradeWhileDraining

    /// The metric label.
    public var name: String {
        switch self {
        case .httpStatus(let code): return "http_\(code)"
        case .protocolViolation(let code): return "ws_\(code.rawValue)"
        case .handshakeTimeout: return "handshake_timeout"
        case .outputQueueOverflow: return "output_queue_overflow"
        case .tooManySockets: return "too_many_sockets"
        case .serverFull: return "server_full"
        case .upgradeWhileDraining: return "upgrade_while_draining"
        }
    }

    public var description: String { name }
}
