/// An HTTP status code with its reason phrase (RFC 9110 section 15).
public struct HTTPStatus: Sendable, Hashable, CustomStringConvertible {
    public let code: Int
    public let phrase: String
    public init(code: Int, phrase: String) { self.code = code; self.phrase = phrase }

    /// `code` with its standard phrase when it is one of the statuses below, else an empty phrase
    /// (a client that only reads the code: libcurl does not report the phrase).
    public init(code: Int) {
        self = Self.known.first { $0.code == code } ?? HTTPStatus(code: code, phrase: "")
    }

    public static let ok = HTTPStatus(code: 200, phrase: "OK")
    public static let switchingProtocols = HTTPStatus(code: 101, phrase: "Switching Protocols")
    public static let badRequest = HTTPStatus(code: 400, phrase: "Bad Request")
    public static let unauthorized = HTTPStatus(code: 401, phrase: "Unauthorized")
    public static let forbidden = HTTPStatus(code: 403, phrase: "Forbidden")
    public static let notFound = HTTPStatus(code: 404, phrase: "Not Found")
    public static let methodNotAllowed = HTTPStatus(code: 405, phrase: "Method Not Allowed")
    public static let requestTimeout = HTTPStatus(code: 408, phrase: "Request Timeout")
    public static let payloadTooLarge = HTTPStatus(code: 413, phrase: "Content Too Large")
    public static let uriTooLong = HTTPStatus(code: 414, phrase: "URI Too Long")
    public static let upgradeRequired = HTTPStatus(code: 426, phrase: "Upgrade Required")
    public static let tooManyRequests = HTTPStatus(code: 429, phrase: "Too Many Requests")
    public static let requestHeaderFieldsTooLarge = HTTPStatus(code: 431, phrase: "Request Header Fields Too Large")
    public static let internalServerError = HTTPStatus(code: 500, phrase: "Internal Server Error")
    public static let serviceUnavailable = HTTPStatus(code: 503, phrase: "Service Unavailable")
    public static let httpVersionNotSupported = HTTPStatus(code: 505, phrase: "HTTP Version Not Supported")

    private static let known: [HTTPStatus] = [
        .ok, .switchingProtocols, .badRequest, .unauthorized, .forbidden, .notFound, .methodNotAllowed, .requestTimeout,
        .payloadTooLarge, .uriTooLong, .upgradeRequired, .tooManyRequests, .requestHeaderFieldsTooLarge,
        .internalServerError, .serviceUnavailable, .httpVersionNotSupported,
    ]

    /// 200...299.
    public var isSuccess: Bool { (200..<300).contains(code) }

    public var description: String { phrase.isEmpty ? "\(code)" : "\(code) \(phrase)" }
}

/// An HTTP response: what the server sends, what the Lex client received (its head arrives
/// first with an empty body; the body follows in chunks) and what the stand-in answers.
public struct HTTPResponse: Sendable, Hashable {
    public var status: HTTPStatus
    public var headers: HTTPFields
    public var body: [UInt8]

    public init(status: HTTPStatus, headers: HTTPFields = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A `text/plain` response.
    public static func text(_ status: HTTPStatus, _ text: String, headers: HTTPFields = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [HTTPField("Content-Type", "text/plain; charset=utf-8")] + headers, body: Array(text.utf8))
    }

    /// An `application/json` response; `json` must already be JSON.
    public static func json(_ status: HTTPStatus, _ json: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: [HTTPField("Content-Type", "application/json")], body: Array(json.utf8))
    }
}
