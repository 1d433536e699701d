import Testing
@testable import WebSocketProtocol

/// Feeds `bytes` in one piece (or in `chunk`-byte pieces) and returns the request or the error.
private func parse(_ bytes: [UInt8], limits: HTTPLimits = .default, chunk: Int? = nil) -> Result<HTTPRequest?, HTTPParseError> {
    var parser = HTTPRequestParser(limits: limits)
    let step = chunk ?? max(bytes.count, 1)
    var i = 0
    do {
        while i < bytes.count {
            let end = min(i + step, bytes.count)
            if let r = try parser.append(bytes[i..<end]) { return .success(r) }
            i = end
        }
        return .success(nil)
    } catch {
        return .failure(error)
    }
}

private func parse(_ text: String, limits: HTTPLimits = .default, chunk: Int? = nil) -> Result<HTTPRequest?, HTTPParseError> {
    parse(Array(text.utf8), limits: limits, chunk: chunk)
}

/// The status the parser's error earns, or nil when it did not fail.
private func status(_ r: Result<HTTPRequest?, HTTPParseError>) -> Int? {
    if case .failure(let e) = r { return e.status.code }
    return nil
}

private func request(_ r: Result<HTTPRequest?, HTTPParseError>) -> HTTPRequest? {
    if case .success(let req) = r { return req }
    return nil
}

@Suite("HTTP request parser")
struct HTTPRequestParserTests {
    @Test func parsesASimpleRequest() throws {
        let r = try #require(request(parse("GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nX-Two:  a b \t\r\n\r\n")))
        #expect(r.method == "GET")
        #expect(r.target == "/chat?room=1")
        #expect(r.path == "/chat")
        #expect(r.query == "room=1")
        #expect(r.versionMajor == 1 && r.versionMinor == 1)
        #expect(r.headers["host"] == "example.com")
        #expect(r.headers["X-TWO"] == "a b")
        #expect(r.headers.count == 2)
    }

    @Test func incompleteHeadReturnsNil() {
        #expect(request(parse("GET / HTTP/1.1\r\nHost: x\r\n")) == nil)
        #expect(status(parse("GET / HTTP/1.1\r\nHost: x\r\n")) == nil)
    }

    @Test func acceptsLFOnlyLineEndings() throws {
        let r = try #require(request(parse("GET /ping HTTP/1.1\nHost: x\nA: b\n\n")))
        #expect(r.path == "/ping")
        #expect(r.headers["a"] == "b")
    }

    @Test func byteByByteFeedingGivesTheSameRequest() throws {
        let text = "GET /a/b?c=d HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
        let whole = try #require(request(parse(text)))
        let bytewise = try #require(request(parse(text, chunk: 1)))
        #expect(whole == bytewise)
        for chunk in [2, 3, 7, 13] { #expect(request(parse(text, chunk: chunk)) == whole) }
    }

    @Test func remainderIsPreserved() throws {
        let head = Array("GET / HTTP/1.1\r\nHost: h\r\n\r\n".utf8)
        let tail: [UInt8] = [0x81, 0x85, 1, 2, 3, 4, 0xFF, 0x00, 0x0D, 0x0A]
        var parser = HTTPRequestParser()
        let r1 = try parser.append(head + tail)
        #expect(r1 != nil)
        #expect(Array(parser.remainder) == tail)

        // Byte by byte, the head ends on its last byte: nothing remains.
        var p2 = HTTPRequestParser()
        var got: HTTPRequest?
        for b in head { got = try p2.append([b]) }
        #expect(got != nil)
        #expect(p2.remainder.isEmpty)

        // Remainder split over the feeding that completes the head.
        var p3 = HTTPRequestParser()
        let r2 = try p3.append(head.dropLast(3))
        #expect(r2 == nil)
        #expect(p3.remainder.isEmpty)
        #expect(try p3.append(Array(head.suffix(3)) + tail) != nil)
        #expect(Array(p3.remainder) == tail)
    }

    // MARK: Request line limit (8 KiB -> 414)

    /// A request line of exactly `length` bytes (without CRLF).
    private func requestLine(length: Int) -> String {
        let fixed = "GET / HTTP/1.1".utf8.count
        return "GET /" + String(repeating: "a", count: length - fixed) + " HTTP/1.1"
    }

    @Test func requestLineAtTheLimitIsAccepted() throws {
        let line = requestLine(length: 8192)
        #expect(line.utf8.count == 8192)
        let r = try #require(request(parse(line + "\r\nHost: x\r\n\r\n")))
        #expect(r.target.utf8.count == 8192 - 13)
        #expect(request(parse(line + "\r\nHost: x\r\n\r\n", chunk: 1)) != nil)
        #expect(request(parse(line + "\nHost: x\n\n", chunk: 1000)) != nil)
    }

    @Test func requestLineOverTheLimitIs414() {
        let line = requestLine(length: 8193)
        #expect(status(parse(line + "\r\nHost: x\r\n\r\n")) == 414)
        #expect(status(parse(line + "\r\nHost: x\r\n\r\n", chunk: 1)) == 414)
        // Without any line ending, the parser gives up as soon as the limit is passed.
        #expect(status(parse(String(repeating: "G", count: 8194))) == 414)
        #expect(status(parse(String(repeating: "G", count: 20_000), chunk: 1)) == 414)
        if case .failure(let e) = parse(line + "\r\n\r\n") { #expect(e == .requestLineTooLong(limit: 8192)) }
    }

    // MARK: Header section limit (16 KiB -> 431)

    /// A head whose header section (field lines, their CRLFs and the final CRLF) is `size` bytes.
    private func head(headerSection size: Int) -> String {
        let start = "GET / HTTP/1.1\r\n"
        let fixed = "Host: h\r\nX: \r\n\r\n".utf8.count
        let h = start + "Host: h\r\nX: " + String(repeating: "v", count: size - fixed) + "\r\n\r\n"
        precondition(h.utf8.count - start.utf8.count == size)
        return h
    }

    @Test func headerSectionAtTheLimitIsAccepted() {
        let h = head(headerSection: 16 * 1024)
        #expect(request(parse(h)) != nil)
        #expect(request(parse(h, chunk: 1)) != nil)
    }

    @Test func headerSectionOverTheLimitIs431() {
        let h = head(headerSection: 16 * 1024 + 1)
        #expect(status(parse(h)) == 431)
        #expect(status(parse(h, chunk: 1)) == 431)
        // One endless header line: refused without waiting for its end.
        let endless = "GET / HTTP/1.1\r\nX: " + String(repeating: "v", count: 16 * 1024)
        #expect(status(parse(endless)) == 431)
        #expect(status(parse(endless, chunk: 1)) == 431)
        if case .failure(let e) = parse(h) { #expect(e == .headerSectionTooLarge(limit: 16384)) }
    }

    // MARK: Header count limit (100 -> accepted, 101 -> 431)

    private func head(fields n: Int) -> String {
        "GET / HTTP/1.1\r\n" + (0..<n).map { "F\($0): v\r\n" }.joined() + "\r\n"
    }

    @Test func hundredHeaderFieldsAreAccepted() throws {
        let r = try #require(request(parse(head(fields: 100))))
        #expect(r.headers.count == 100)
    }

    @Test func hundredAndOneHeaderFieldsAre431() {
        #expect(status(parse(head(fields: 101))) == 431)
        #expect(status(parse(head(fields: 101), chunk: 1)) == 431)
        if case .failure(let e) = parse(head(fields: 101)) { #expect(e == .tooManyHeaderFields(limit: 100)) }
    }

    @Test func customLimitsApply() {
        let limits = HTTPLimits(requestLineBytes: 20, headerBytes: 30, headerCount: 2)
        #expect(request(parse("GET /123456 HTTP/1.1\r\n\r\n", limits: limits)) != nil)  // 20 bytes
        #expect(status(parse("GET /1234567 HTTP/1.1\r\n\r\n", limits: limits)) == 414)  // 21 bytes
        #expect(status(parse("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits: limits)) == 431)
        #expect(status(parse("GET / HTTP/1.1\r\nA: 12345678901234567890123\r\n\r\n", limits: limits)) == nil)  // exactly 30
        #expect(status(parse("GET / HTTP/1.1\r\nA: 123456789012345678901234\r\n\r\n", limits: limits)) == 431)  // 31
    }

    // MARK: Malformed field lines -> 400

    @Test(arguments: [
        "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",       // obs-fold (space)
        "GET / HTTP/1.1\r\nHost: x\r\n\tfolded\r\n\r\n",      // obs-fold (tab)
        "GET / HTTP/1.1\r\nHost x\r\n\r\n",                   // missing colon
        "GET / HTTP/1.1\r\nHo st: x\r\n\r\n",                 // space in the name
        "GET / HTTP/1.1\r\nHost : x\r\n\r\n",                 // space before the colon
        "GET / HTTP/1.1\r\n: x\r\n\r\n",                      // empty name
        "GET / HTTP/1.1\r\nHost: x\u{01}y\r\n\r\n",           // control character in the value
        "GET / HTTP/1.1\r\nHost: x\u{7F}\r\n\r\n",            // DEL in the value
        "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",               // bare CR in the value
        "GET / HTTP/1.1\r\nHo\u{00}st: x\r\n\r\n",            // NUL in the name
        "GET / HTTP/1.1\r\nH(o)st: x\r\n\r\n",                // separator in the name
    ])
    func malformedHeaderFieldsAre400(_ text: String) {
        #expect(status(parse(text)) == 400)
        #expect(status(parse(text, chunk: 1)) == 400)
    }

    @Test(arguments: [
        "GET /\r\n\r\n",                       // no version
        "GET  / HTTP/1.1\r\n\r\n",             // two spaces
        "GET / HTTP/1.1 \r\n\r\n",             // trailing space
        "G(T / HTTP/1.1\r\n\r\n",              // bad method
        "GET /a\u{01}b HTTP/1.1\r\n\r\n",      // control character in the target
        "GET abc HTTP/1.1\r\n\r\n",            // not an absolute path
        "GET / HTTP/1.1x\r\n\r\n",             // garbage version
        "GET / HTTP/x.1\r\n\r\n",
        "GET / HTTP/11.1\r\n\r\n",
        "GET / http/1.1\r\n\r\n",
        "GET / FOO\r\n\r\n",
        "\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n",  // more than one leading blank line
    ])
    func malformedRequestLinesAre400(_ text: String) {
        #expect(status(parse(text)) == 400)
        #expect(status(parse(text, chunk: 1)) == 400)
    }

    @Test func oneLeadingBlankLineIsTolerated() {
        #expect(request(parse("\r\nGET / HTTP/1.1\r\n\r\n")) != nil)
    }

    @Test(arguments: ["HTTP/2.0", "HTTP/3.0", "HTTP/0.9"])
    func otherMajorVersionsAre505(_ version: String) {
        #expect(status(parse("GET / \(version)\r\nHost: x\r\n\r\n")) == 505)
    }

    @Test func http10IsParsed() throws {
        let r = try #require(request(parse("GET / HTTP/1.0\r\n\r\n")))
        #expect(!r.isHTTP11OrLater)
    }

    @Test func headerHelpers() {
        let h = HTTPFields([("Connection", "keep-alive, Upgrade"), ("X", "1"), ("x", "2")])
        #expect(h.containsToken("upgrade", in: "connection"))
        #expect(!h.containsToken("close", in: "connection"))
        #expect(h.values("X") == ["1", "2"])
        #expect(h["x"] == "1")
    }

    @Test func fieldsSetAndStatusByCode() {
        var h = HTTPFields([("Host", "a"), ("authorization", "old"), ("X", "1"), ("Authorization", "older")])
        h.set("Authorization", "new")
        #expect(h.map(\.name) == ["Host", "X", "Authorization"] && h["authorization"] == "new")
        #expect(HTTPStatus(code: 503) == .serviceUnavailable && HTTPStatus(code: 503).phrase == "Service Unavailable")
        #expect(HTTPStatus(code: 299).description == "299" && HTTPStatus(code: 299).isSuccess && !HTTPStatus(code: 404).isSuccess)
    }

    @Test func responseSerialization() {
        let r = HTTPResponse.text(.notFound, "nope")
        let wire = String(decoding: r.serialized(), as: UTF8.self)
        #expect(wire == "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope")
        let head = String(decoding: r.serialized(headOnly: true), as: UTF8.self)
        #expect(head.hasSuffix("Content-Length: 4\r\nConnection: close\r\n\r\n"))
    }
}
