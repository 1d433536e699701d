import CNghttp2
import Foundation
import Lex

/// One request stream on the stand-in's HTTP/2 server, as a handler sees it: the request
/// headers, then the DATA chunks as they arrive (`onData`), the client's END_STREAM (`onEnd`) and
/// the stream's close (`onClose`, with the RST_STREAM code, or NO_ERROR). Set the closures inside
/// the server's handler call; the replies may be sent from any thread.
public final class HTTP2ServerStream: @unchecked Sendable {
    public let streamID: Int32
    public private(set) var method = ""
    public private(set) var path = ""
    public private(set) var authority = ""
    public private(set) var scheme = ""
    /// Regular header fields (no pseudo-headers), in order.
    public private(set) var headers: HTTPFields = []
    public var onData: @Sendable ([UInt8]) -> Void = { _ in }
    public var onEnd: @Sendable () -> Void = {}
    public var onClose: @Sendable (HTTP2ErrorCode) -> Void = { _ in }

    /// Weak: a handler may answer (from another thread) after the connection is gone; then
    /// nothing is sent.
    weak var connection: HTTP2ServerConnection?
    // Under the connection's lock.
    var outbound = HTTP2SendBuffer()
    var ended = false
    var trailers: HTTPFields?
    var deferred = false
    var responded = false
    var handled = false

    init(streamID: Int32, connection: HTTP2ServerConnection) {
        self.streamID = streamID
        self.connection = connection
    }

    /// The first value of `name` (any case), if present.
    public func header(_ name: String) -> String? { headers[name] }

    func received(name: String, value: String) {
        switch name {
        case ":method": method = value
        case ":path": path = value
        case ":authority": authority = value
        case ":scheme": scheme = value
        default: headers.append(HTTPField(name, value))
        }
    }

    /// Response HEADERS (`:status` and `headers`, names sent in lower case); the body follows
    /// with `send` (DATA).
    public func respond(status: Int, headers: HTTPFields = []) {
        connection?.withSession { session in
            guard !responded else { return }
            responded = true
            let fields: HTTPFields = [HTTPField(":status", String(status))] + headers
            var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: HTTP2ServerCallbacks.readBody)
            HTTP2NameValues.with(fields) { nva in
                _ = nghttp2_submit_response(session, streamID, nva.baseAddress, nva.count, &provider)
            }
        }
    }

    /// Queues `bytes` as response DATA (sent as the client's window allows).
    public func send(_ bytes: [UInt8]) {
        connection?.withSession { session in
            guard !ended else { return }
            outbound.append(bytes)
            resume(session)
        }
    }

    /// Ends the response after the queued DATA, with `trailers` in a final HEADERS when given.
    public func finish(trailers: HTTPFields? = nil) {
        connection?.withSession { session in
            guard !ended else { return }
            ended = true
            self.trailers = trailers
            resume(session)
        }
    }

    /// RST_STREAM with `code`.
    public func reset(_ code: HTTP2ErrorCode) {
        connection?.withSession { session in
            _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), streamID, code.rawValue)
        }
    }

    /// GOAWAY on this stream's connection with `code`, naming `lastStreamID` (default: the
    /// stream before this one, so this stream is refused), then the connection closes.
    public func goAway(_ code: HTTP2ErrorCode, lastStreamID: Int32? = nil) {
        connection?.goAway(code, lastStreamID: lastStreamID ?? max(0, streamID - 2))
    }

    /// The client's flow-control window for this stream: bytes the server may still send.
    public var remoteWindow: Int {
        var window = 0
        connection?.withSession { window = Int(nghttp2_session_get_stream_remote_window_size($0, streamID)) }
        return window
    }

    /// Response bytes queued and not yet sent.
    public var bufferedOutboundBytes: Int {
        var n = 0
        connection?.withSession { _ in n = outbound.count }
        return n
    }

    private func resume(_ session: OpaquePointer) {
        if deferred {
            deferred = false
            nghttp2_session_resume_data(session, streamID)
        }
    }

    /// The data provider: copies queued bytes; EOF (and trailers) once ended and drained.
    func read(into buffer: UnsafeMutablePointer<UInt8>, capacity: Int, flags: UnsafeMutablePointer<UInt32>, session: OpaquePointer) -> Int {
        if outbound.isEmpty && !ended {
            deferred = true
            return Int(NGHTTP2_ERR_DEFERRED.rawValue)
        }
        let n = outbound.take(into: buffer, capacity: capacity)
        if ended && outbound.isEmpty {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            if let trailers {
                flags.pointee |= NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
                HTTP2NameValues.with(trailers) { nva in
                    _ = nghttp2_submit_trailer(session, streamID, nva.baseAddress, nva.count)
                }
            }
        }
        return n
    }
}

/// An echo handler for tests: 200 with `content-type` as received, every DATA chunk sent back
/// as it arrives, END_STREAM when the client's ends, trailer `x-echo-bytes` with the total.
public enum HTTP2EchoHandler {
    public static let handler: HTTP2StandInServer.Handler = { stream in
        stream.respond(status: 200, headers: [HTTPField("content-type", stream.header("content-type") ?? "application/octet-stream")])
        let total = ByteCounter()
        stream.onData = { bytes in
            total.add(bytes.count)
            stream.send(bytes)
        }
        stream.onEnd = { stream.finish(trailers: [HTTPField("x-echo-bytes", String(total.value))]) }
    }

    final class ByteCounter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        func add(_ n: Int) { lock.withLock { count += n } }
        var value: Int { lock.withLock { count } }
    }
}
