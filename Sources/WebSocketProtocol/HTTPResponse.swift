/// The statuses this server sends.
public struct HTTPStatus: Sendable, Hashable, CustomStringConvertible {
    public let code: Int
    public let phrase: String
    public init(code: Int, phrase: String) { self.code = code; self.phrase = phrase }

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

    public var description: String { "\(code) \(phrase)" }
}

/// A complete HTTP/1.1 response. Plain responses always close the connection.
public struct HTTPResponse: Sendable, Equatable {
    public var status: HTTPStatus
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: HTTPStatus, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A `text/plain` response.
    public static func text(_ status: HTTPStatus, _ text: String, headers: [(String, String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "text/plain; charset=utf-8")] + headers, body: Array(text.utf8))
    }

    /// An `application/json` response; `json` must already be JSON.
    public static func json(_ status: HTTPStatus, _ json: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: Array(json.utf8))
    }

    /// The wire form. `Content-Length` is added, and `Connection: close` unless this is a 101.
    /// With `headOnly` the body is left out (HEAD requests) but its length is still announced.
    public func serialized(headOnly: Bool = false) -> [UInt8] {
        var s = "HTTP/1.1 \(status.code) \(status.phrase)\r\n"
        for (n, v) in headers { s += "\(n): \(v)\r\n" }
        if status != .switchingProtocols {
            s += "Content-Length: \(body.count)\r\nConnection: close\r\n"
        }
        s += "\r\n"
        var out = Array(s.utf8)
        if !headOnly { out += body }
        return out
    }

    public static func == (a: HTTPResponse, b: HTTPResponse) -> Bool {
        a.status == b.status && a.body == b.body && a.headers.count == b.headers.count
            && zip(a.headers, b.headers).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }
}
