#if canImport(Glibc)
import Glibc
#endif
import CNghttp2

/// The nghttp2 client session of an `HTTP2Connection`: settings, request submission, and the
/// callbacks that turn received frames into stream events. All on the client thread.
extension HTTP2Connection {
    /// A client session (RFC 9113 §3.4 prior knowledge: the preface is sent at once, on TLS
    /// after ALPN chose `h2`). Window updates are manual: a stream's window opens only as its
    /// handlers consume DATA, so a slow reader holds at most one window per stream.
    func makeSession() throws(HTTP2Error) -> OpaquePointer {
        var option: OpaquePointer?
        nghttp2_option_new(&option)
        defer { nghttp2_option_del(option) }
        nghttp2_option_set_no_auto_window_update(option, 1)
        var session: OpaquePointer?
        let me = Unmanaged.passUnretained(self).toOpaque()
        guard nghttp2_session_client_new2(&session, HTTP2SessionCallbacks.client, me, option) == 0, let session else {
            throw .connectionClosed(reason: "cannot create an HTTP/2 session (out of memory)")
        }
        var settings = [
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_ENABLE_PUSH.rawValue), value: 0),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: UInt32(configuration.streamWindowBytes)),
        ]
        nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &settings, settings.count)
        nghttp2_session_set_local_window_size(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, Int32(clamping: configuration.connectionWindowBytes))
        return session
    }

    /// HEADERS for `stream` (pseudo-headers first, RFC 9113 §8.3.1) with a body from its send buffer.
    func submit(_ stream: HTTP2Stream) {
        guard let session else { return }
        let fields: HTTPFields = [HTTPField(":method", stream.method), HTTPField(":scheme", origin.secure ? "https" : "http"),
                                  HTTPField(":authority", origin.authority), HTTPField(":path", stream.url.path)]
            + stream.headers
        var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: HTTP2SessionCallbacks.readBody)
        let id: Int32 = HTTP2NameValues.with(fields) { nva in nghttp2_submit_request(session, nil, nva.baseAddress, nva.count, &provider, nil) }
        guard id > 0 else {
            stream.deliverEnd(.connectionClosed(reason: "cannot submit the request: " + String(cString: nghttp2_strerror(id))))
            return streamGone(now: HTTP2Client.now())
        }
        stream.streamID = id
        streams[id] = stream
        if pingDue == .max { pingDue = HTTP2Client.now() + HTTP2Client.nanoseconds(configuration.pingInterval) }
        client.markDirty(self)
    }

    // MARK: callbacks (from nghttp2_session_mem_recv / mem_send)

    func headerReceived(streamID: Int32, name: String, value: String) {
        guard let stream = streams[streamID] else { return }
        if name == ":status" {
            stream.status = Int(value) ?? 0
        } else {
            stream.pendingHeaders.append(HTTPField(name, value))
        }
    }

    func frameReceived(type: UInt8, flags: UInt8, streamID: Int32, frame: UnsafePointer<nghttp2_frame>) {
        let endStream = flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
        switch UInt32(type) {
        case NGHTTP2_HEADERS.rawValue:
            guard let stream = streams[streamID] else { return }
            let headers = stream.pendingHeaders
            stream.pendingHeaders = []
            if frame.pointee.headers.cat == NGHTTP2_HCAT_RESPONSE {
                guard stream.status >= 200 else { return }  // 1xx: informational, a final one follows
                stream.responseDeadline = .max
                let status = stream.status
                stream.queue.async { [handlers = stream.handlers] in handlers.onResponse(status, headers) }
            } else if stream.status >= 200 {
                stream.queue.async { [handlers = stream.handlers] in handlers.onTrailers(headers) }
            }
            if endStream { responseComplete(stream) }
        case NGHTTP2_DATA.rawValue:
            if endStream, let stream = streams[streamID] { responseComplete(stream) }
        case NGHTTP2_GOAWAY.rawValue:
            goAway = (HTTP2ErrorCode(rawValue: frame.pointee.goaway.error_code), frame.pointee.goaway.last_stream_id)
            client.statisticsChanged()
        case NGHTTP2_PING.rawValue:
            if flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) != 0 { pingAckDeadline = .max }
        default:
            break
        }
    }

    /// The server's END_STREAM. If the request body is still open, the response came first (an
    /// error status, say): the stream ends here with RST_STREAM(NO_ERROR) (RFC 9113 §8.1), so
    /// `onEnd` always follows the whole response at once.
    private func responseComplete(_ stream: HTTP2Stream) {
        stream.remoteEnded = true
        guard !stream.outboundComplete, let session else { return }
        nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream.streamID, HTTP2ErrorCode.noError.rawValue)
        stream.deliverEnd(nil)
        client.markDirty(self)
    }

    func dataReceived(streamID: Int32, bytes: UnsafeBufferPointer<UInt8>) {
        guard let stream = streams[streamID], !stream.isClosed else {
            // DATA for a stream already ended here (cancelled, timed out): its credit goes back at once.
            if let session { nghttp2_session_consume_connection(session, bytes.count) }
            return
        }
        stream.deliverData(Array(bytes))
    }

    /// nghttp2 closed the stream: END_STREAM both ways, RST_STREAM either way, or GOAWAY.
    func streamClosed(streamID: Int32, code: UInt32) {
        guard let stream = streams.removeValue(forKey: streamID) else { return }
        let error: HTTP2Error?
        if let goAway, streamID > goAway.lastStreamID {
            error = .goAway(errorCode: goAway.code, lastStreamID: goAway.lastStreamID)
        } else if stream.remoteEnded && code == 0 {
            error = nil  // complete (a server may reset with NO_ERROR once its response is whole)
        } else {
            error = .streamReset(HTTP2ErrorCode(rawValue: code))
        }
        stream.deliverEnd(error)
        streamGone(now: HTTP2Client.now())
    }

    func readBody(streamID: Int32, into buffer: UnsafeMutablePointer<UInt8>, capacity: Int, flags: UnsafeMutablePointer<UInt32>) -> Int {
        guard let stream = streams[streamID] else { return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
        switch stream.take(into: buffer, capacity: capacity) {
        case .deferred:
            return Int(NGHTTP2_ERR_DEFERRED.rawValue)
        case .bytes(let n, let endOfStream):
            if endOfStream { flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue }
            return n
        }
    }
}

/// The C callbacks nghttp2 calls; `user_data` is the `HTTP2Connection` (unretained: the client
/// holds it while its session exists).
enum HTTP2SessionCallbacks {
    nonisolated(unsafe) static let client: OpaquePointer = {
        var callbacks: OpaquePointer?
        nghttp2_session_callbacks_new(&callbacks)
        nghttp2_session_callbacks_set_on_header_callback(callbacks) { _, frame, name, nameLength, value, valueLength, _, user in
            guard let frame, let name, let value, let user else { return 0 }
            let c = Unmanaged<HTTP2Connection>.fromOpaque(user).takeUnretainedValue()
            c.headerReceived(streamID: frame.pointee.hd.stream_id,
                             name: String(decoding: UnsafeBufferPointer(start: name, count: nameLength), as: UTF8.self),
                             value: String(decoding: UnsafeBufferPointer(start: value, count: valueLength), as: UTF8.self))
            return 0
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, user in
            guard let frame, let user else { return 0 }
            let c = Unmanaged<HTTP2Connection>.fromOpaque(user).takeUnretainedValue()
            c.frameReceived(type: frame.pointee.hd.type, flags: frame.pointee.hd.flags, streamID: frame.pointee.hd.stream_id, frame: frame)
            return 0
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) { _, _, streamID, data, length, user in
            guard let data, let user else { return 0 }
            let c = Unmanaged<HTTP2Connection>.fromOpaque(user).takeUnretainedValue()
            c.dataReceived(streamID: streamID, bytes: UnsafeBufferPointer(start: data, count: length))
            return 0
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { _, streamID, code, user in
            guard let user else { return 0 }
            Unmanaged<HTTP2Connection>.fromOpaque(user).takeUnretainedValue().streamClosed(streamID: streamID, code: code)
            return 0
        }
        return callbacks!
    }()

    static let readBody: nghttp2_data_source_read_callback = { _, streamID, buffer, length, flags, _, user in
        guard let buffer, let flags, let user else { return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
        return Unmanaged<HTTP2Connection>.fromOpaque(user).takeUnretainedValue()
            .readBody(streamID: streamID, into: buffer, capacity: length, flags: flags)
    }
}
