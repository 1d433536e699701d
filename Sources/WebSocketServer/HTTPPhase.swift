/// A connection's HTTP/1.1 phase, before any WebSocket, as pure state: request bytes in, one
/// decision out. It decides what RFC 6455 and this server's rules decide alone (a bad request
/// head, a request body, a plain request, an invalid or valid upgrade); routing the request
/// is the application's, and the I/O the connection's.
///
/// Transcript: `receive("GET /ping HTTP/1.1\r\n")` -> `.needMoreBytes`; `receive("\r\n")` ->
/// `.respond(to: GET /ping, headOnly: false)`. `receive("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n")`
/// -> `.refuse(400 "malformed header field: ...", .badRequest)`.
struct HTTPPhase {
    private var parser: HTTPRequestParser

    init(limits: HTTPLimits) { parser = HTTPRequestParser(limits: limits) }

    /// Why a request is refused before any route sees it; `violation` is the kind counted.
    enum Refusal: Equatable {
        /// The request head broke HTTP/1.1 or a size limit (`HTTPParseError`).
        case badRequest(HTTPParseError)
        /// A request with a body (`Content-Length` other than 0, or `Transfer-Encoding`).
        case requestBody
        /// An upgrade request RFC 6455 section 4.2.1 refuses (wrong method, version, key...)
        /// with this status.
        case badUpgrade(HTTPStatus, path: String)
        /// No complete request head before the handshake timeout.
        case handshakeTimeout

        var violation: WebSocketServerViolation {
            switch self {
            case .badRequest(let e): return .httpStatus(e.status.code)
            case .requestBody: return .httpStatus(HTTPStatus.payloadTooLarge.code)
            case .badUpgrade(let status, _): return .httpStatus(status.code)
            case .handshakeTimeout: return .handshakeTimeout
            }
        }
    }

    enum Action: Equatable {
        /// The head is not complete yet.
        case needMoreBytes
        /// Answer with `response` and close.
        case refuse(HTTPResponse, Refusal)
        /// A plain request: answer with its route's response (without the body for HEAD) and close.
        case respond(to: HTTPRequest, headOnly: Bool)
        /// A valid upgrade: if the application accepts it, answer 101 with `accept`; the
        /// `leftover` bytes came right behind the head and are the first WebSocket bytes.
        case upgrade(HTTPRequest, accept: String, leftover: [UInt8])
    }

    /// Feeds bytes read from the socket. After any action but `.needMoreBytes` the phase is over.
    mutating func receive(_ bytes: UnsafeRawBufferPointer) -> Action {
        let request: HTTPRequest
        do {
            guard let r = try parser.append(bytes) else { return .needMoreBytes }
            request = r
        } catch {
            return .refuse(.text(error.status, error.reason + "\n"), .badRequest(error))
        }
        if request.headers["Content-Length"].map({ $0 != "0" }) ?? false || request.headers["Transfer-Encoding"] != nil {
            return .refuse(.text(.payloadTooLarge, "request bodies are not accepted\n"), .requestBody)
        }
        guard WebSocketHandshake.isUpgradeRequest(request) else {
            return .respond(to: request, headOnly: request.method == "HEAD")
        }
        switch WebSocketHandshake.validate(request) {
        case .refuse(let response): return .refuse(response, .badUpgrade(response.status, path: String(request.path)))
        case .accept(let accept): return .upgrade(request, accept: accept, leftover: Array(parser.remainder))
        }
    }

    /// The handshake timeout passed while the head was incomplete.
    static let timedOut = Action.refuse(.text(.requestTimeout, "request head not received in time\n"), .handshakeTimeout)
}
