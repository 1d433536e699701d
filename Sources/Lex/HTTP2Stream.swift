import Dispatch
import Foundation

/// What an `HTTP2Stream` tells its owner, each call on the owner's serial queue, in the order the
/// frames arrived: `onResponse` once, `onData` per DATA frame, `onTrailers` at most once, then
/// `onEnd` exactly once (nil: the server ended the response normally; if the request body was
/// still open then, the stream is closed with RST_STREAM(NO_ERROR) and `send` throws). `onData`'s bytes count
/// against the stream's receive window until the closure returns (that is the flow control).
public struct HTTP2StreamHandlers: Sendable {
    /// `:status` and the other response header fields.
    public var onResponse: @Sendable (_ status: Int, _ headers: HTTPFields) -> Void
    public var onData: @Sendable (_ bytes: [UInt8]) -> Void
    public var onTrailers: @Sendable (_ trailers: HTTPFields) -> Void
    /// After `send` threw `.sendBufferFull`: the buffer has drained to half its limit.
    public var onWritable: @Sendable () -> Void
    public var onEnd: @Sendable (_ error: HTTP2Error?) -> Void

    public init(onResponse: @escaping @Sendable (Int, HTTPFields) -> Void = { _, _ in },
                onData: @escaping @Sendable ([UInt8]) -> Void = { _ in },
                onTrailers: @escaping @Sendable (HTTPFields) -> Void = { _ in },
                onWritable: @escaping @Sendable () -> Void = {},
                onEnd: @escaping @Sendable (HTTP2Error?) -> Void) {
        self.onResponse = onResponse
        self.onData = onData
        self.onTrailers = onTrailers
        self.onWritable = onWritable
        self.onEnd = onEnd
    }
}

/// One bidirectional HTTP/2 request: the request body is sent as the caller produces it and the
/// response arrives as the server sends it, both open until `finish` and the server's END_STREAM.
/// `send`, `finish` and `cancel` may be called from any thread.
public final class HTTP2Stream: @unchecked Sendable {
    let url: HTTP2URL
    let method: String
    let headers: HTTPFields
    let handlers: HTTP2StreamHandlers
    let queue: DispatchQueue
    let sendBufferLimit: Int
    /// Receive bytes handed back to nghttp2 in batches of this size (the flow-control credit).
    let consumeBatch: Int
    private weak var client: HTTP2Client?

    // Shared with the client thread, under `lock`.
    private let lock = NSLock()
    private var outbound = HTTP2SendBuffer()
    private var finished = false
    private var closed = false
    private var dataDeferred = false
    private var hitLimit = false
    private var inboundBuffered = 0
    private var unconsumed = 0

    // Client thread only.
    var streamID: Int32 = -1
    var connection: HTTP2Connection?
    var responseDeadline: UInt64 = .max
    var remoteEnded = false
    var pendingHeaders: HTTPFields = []
    var status = 0

    init(url: HTTP2URL, method: String, headers: HTTPFields, handlers: HTTP2StreamHandlers,
         queue: DispatchQueue, configuration: HTTP2ClientConfiguration, client: HTTP2Client) {
        self.url = url
        self.method = method
        self.headers = headers
        self.handlers = handlers
        self.queue = queue
        self.sendBufferLimit = configuration.sendBufferLimit
        self.consumeBatch = max(1, min(16 * 1024, configuration.streamWindowBytes / 4))
        self.client = client
    }

    /// Queues `bytes` as request body DATA. Throws `.sendBufferFull` when more than
    /// `sendBufferLimit` bytes would wait for the server's flow-control window (then wait for
    /// `onWritable`), `.streamClosed` after `finish`, `cancel` or the end of the stream.
    public func send(_ bytes: [UInt8]) throws(HTTP2Error) {
        try bytes.withUnsafeBufferPointer { (buffer) throws(HTTP2Error) in try send(buffer) }
    }

    /// `send` of bytes the caller keeps (copied once, into the send buffer, under the lock).
    public func send(_ bytes: UnsafeBufferPointer<UInt8>) throws(HTTP2Error) {
        lock.lock()
        if finished || closed {
            lock.unlock()
            throw .streamClosed
        }
        if outbound.count + bytes.count > sendBufferLimit {
            hitLimit = true
            lock.unlock()
            throw .sendBufferFull(limit: sendBufferLimit)
        }
        outbound.append(bytes)
        let resume = dataDeferred
        dataDeferred = false
        lock.unlock()
        if resume { client?.post(.resume(self)) }
    }

    /// Ends the request body (END_STREAM after the bytes already queued); the response goes on.
    public func finish() {
        lock.lock()
        let already = finished || closed
        finished = true
        let resume = dataDeferred && !already
        dataDeferred = false
        lock.unlock()
        if resume { client?.post(.resume(self)) }
    }

    /// Abandons the stream: RST_STREAM(CANCEL); `onEnd(.cancelled)` follows unless it already ended.
    public func cancel() {
        lock.lock()
        let already = closed
        finished = true
        lock.unlock()
        if !already { client?.post(.cancel(self)) }
    }

    /// Request bytes queued and not yet taken by the HTTP/2 session.
    public var bufferedOutboundBytes: Int {
        lock.lock()
        defer { lock.unlock() }
        return outbound.count
    }

    /// Response bytes received and not yet consumed by `onData` (at most the stream window).
    public var bufferedInboundBytes: Int {
        lock.lock()
        defer { lock.unlock() }
        return inboundBuffered
    }

    // MARK: client thread

    enum Take: Equatable { case bytes(Int, endOfStream: Bool), deferred }

    /// Copies up to `capacity` queued bytes into `buffer` for a DATA frame.
    func take(into buffer: UnsafeMutablePointer<UInt8>, capacity: Int) -> Take {
        lock.lock()
        if outbound.isEmpty {
            if finished {
                lock.unlock()
                return .bytes(0, endOfStream: true)
            }
            dataDeferred = true
            lock.unlock()
            return .deferred
        }
        let n = outbound.take(into: buffer, capacity: capacity)
        let writable = hitLimit && outbound.count <= sendBufferLimit / 2
        if writable { hitLimit = false }
        let finishedNow = finished && outbound.isEmpty
        lock.unlock()
        if writable { queue.async { [handlers] in handlers.onWritable() } }
        return .bytes(n, endOfStream: finishedNow)
    }

    /// Whether the request body is complete (all queued bytes taken and `finish` called).
    var outboundComplete: Bool {
        lock.lock()
        defer { lock.unlock() }
        return finished && outbound.isEmpty
    }

    func deliverData(_ bytes: [UInt8]) {
        lock.lock()
        inboundBuffered += bytes.count
        lock.unlock()
        queue.async { [self] in
            handlers.onData(bytes)
            lock.lock()
            inboundBuffered -= bytes.count
            unconsumed += bytes.count
            let credit = unconsumed >= consumeBatch ? unconsumed : 0
            unconsumed -= credit
            lock.unlock()
            if credit > 0 { client?.post(.consume(self, credit)) }
        }
    }

    /// Marks the stream closed and delivers `onEnd` after every callback already queued; the
    /// credit not yet returned goes back to the connection window.
    func deliverEnd(_ error: HTTP2Error?) {
        lock.lock()
        let already = closed
        closed = true
        lock.unlock()
        guard !already else { return }
        queue.async { [self] in
            lock.lock()
            let credit = unconsumed
            unconsumed = 0
            lock.unlock()
            if credit > 0 { client?.post(.consume(self, credit)) }
            handlers.onEnd(error)
        }
    }

    var isClosed: Bool {
        lock.lock()
        defer { lock.unlock() }
        return closed
    }
}

/// An `http://` or `https://` URL split for HTTP/2: origin and `:path`.
struct HTTP2URL: Hashable, Sendable {
    var secure: Bool
    var host: String
    var port: Int
    /// Path and query as on the wire (`/a/b?c`).
    var path: String

    var authority: String {
        let h = host.contains(":") ? "[\(host)]" : host  // an IPv6 literal (RFC 3986 §3.2.2)
        return (secure && port == 443) || (!secure && port == 80) ? h : "\(h):\(port)"
    }
    var origin: String { (secure ? "https://" : "http://") + authority }

    init(_ text: String) throws(HTTP2Error) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty else {
            throw .invalidURL(text)
        }
        secure = scheme == "https"
        // An IPv6 literal without its brackets (URLComponents keeps them on some platforms).
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        port = components.port ?? (secure ? 443 : 80)
        // getaddrinfo would take a port past 65535 modulo 65536: a connection nobody named.
        guard (1...65535).contains(port) else { throw .invalidURL(text) }
        let p = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        path = components.percentEncodedQuery.map { p + "?" + $0 } ?? p
    }
}
