import Logging

/// How `HTTP2Client` connects and streams. Times are in seconds, sizes in bytes.
public struct HTTP2ClientConfiguration: Sendable {
    /// Time allowed for name resolution, TCP connect and TLS handshake together.
    public var connectTimeout: Double = 3
    /// Time from opening a stream to its response HEADERS; nil waits for ever (the stream's
    /// owner then bounds it). Lex StartConversation answers its HEADERS at once.
    public var responseTimeout: Double? = 10
    /// A PING is sent after this long without a frame from the server on a connection with
    /// open streams (keepalive through NATs and proxies; also detects a dead peer).
    public var pingInterval: Double = 30
    /// A PING not acknowledged within this time fails the connection and its streams.
    public var pingTimeout: Double = 10
    /// A connection without streams for this long is closed with GOAWAY.
    public var idleConnectionTimeout: Double = 60
    /// PEM bundle of trusted CAs for `https://` (`[lex] ca_file`); nil uses the system's store.
    public var caFilePath: String?
    /// Streams per connection to one origin, further bounded by the server's
    /// SETTINGS_MAX_CONCURRENT_STREAMS. 1 means one connection per stream. Whether Lex V2
    /// StartConversation multiplexes streams on one connection is not documented (Amazon
    /// Transcribe streaming allows one stream per connection): set 1 if Lex refuses a second.
    public var maxStreamsPerConnection: Int = 100
    /// SETTINGS_INITIAL_WINDOW_SIZE: bytes the server may send on one stream before the
    /// caller's handlers consumed them (RFC 9113 §6.9). This bounds per-stream receive buffering.
    public var streamWindowBytes: Int = 256 * 1024
    /// The connection-level receive window (all streams together).
    public var connectionWindowBytes: Int = 16 << 20
    /// Request DATA is written at most once per this interval (seconds): the first chunk of an
    /// interval leaves at once, the chunks sent during the rest of it wait for its end, so those
    /// of many streams share one wakeup of the client thread and one socket write (window
    /// updates too). 0 writes every chunk at once. At 500 streams x 50 chunks/s, 5 ms halves the
    /// client thread's CPU per chunk against 0 (BENCHMARKS.md, "HTTP/2 streaming transport");
    /// next to Lex's end-of-speech detection (hundreds of milliseconds) the delay is noise.
    public var sendCoalescingInterval: Double = 0.005
    /// Bytes `HTTP2Stream.send` queues before it throws `.sendBufferFull`.
    public var sendBufferLimit: Int = 64 * 1024
    /// One line per connection failure; never headers or bodies.
    public var logger: Logger = Logger(label: "lex.http2")

    public init() {}
}
