/// What the listener and its connections may do. Defaults suit a Vonage audio server.
public struct WebSocketServerConfiguration: Sendable {
    /// Address to bind: a numeric IPv4 or IPv6 address, a name (every address it resolves to
    /// is bound), or `*` for every IPv4 and IPv6 address.
    public var host: String = "127.0.0.1"
    /// TCP port; 0 picks a free one (see `WebSocketServer.port`).
    public var port: Int = 8000
    /// Event loops (serial queues); each connection lives on one. Default: the number of cores.
    public var eventLoopCount: Int = System.coreCount
    public var backlog: Int32 = 1024
    /// `SO_REUSEPORT`, so several processes can share one port.
    public var reusePort: Bool = false
    public var httpLimits: HTTPLimits = .default
    /// Largest WebSocket message (reassembled), in bytes; more is closed with 1009.
    public var maxMessageBytes: Int = 1 << 20
    /// Largest amount of output queued for one connection; a peer that lets more pile up is cut off.
    public var maxOutputQueueBytes: Int = 1 << 20
    /// How long a client has to complete its HTTP request head (slow senders are cut off with 408).
    public var handshakeTimeout: Duration = .seconds(10)
    /// How long to wait for the peer's close frame (or EOF) after we close.
    public var closeTimeout: Duration = .seconds(2)
    /// Most open WebSocket connections; further upgrades get 503.
    public var maxWebSocketConnections: Int = 10_000
    /// Most sockets of any kind; further ones are closed at accept.
    public var maxSockets: Int = 20_000

    public init() {}
}

import Foundation

public enum System {
    /// Active processor count (at least 1).
    public static var coreCount: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }
}
