import COpenSSL
import Foundation
import Lex

/// How the stand-in answers one request (on the connection's thread): routing, the signature
/// and input checks Lex makes, the scripted reply or failure, the audio body.
extension LexStandIn {
    // MARK: Request handling (connection threads)

    func handle(_ request: ReceivedHTTPRequest, _ connection: LoopbackHTTPServer.Connection) -> Bool {
        let receivedAt = Self.monotonicNanoseconds()
        var record = RecordedRequest(
            sequence: 0, connection: connection.number, requestOnConnection: connection.requestsServed,
            method: request.method, path: request.path, query: request.query,
            headers: request.headers, bodyLength: request.body.count,
            chunkedBody: request.chunked, inputText: nil, api: nil, isWebhook: false, target: nil,
            contentType: request.header("content-type"), signature: .missing, sessionAttributes: [:],
            requestAttributes: [:], sessionStateJSON: nil, replyStatus: 0)
        record.receivedAt = receivedAt
        let route = Route(method: request.method, path: request.path)

        if case .webhook = route {
            record.isWebhook = true
            record.inputText = String(decoding: request.body.prefix(1 << 20), as: UTF8.self)
            let scripted: Reply? = locked { webhookFailures.isEmpty ? nil : webhookFailures.removeFirst() }
            if let scripted, scripted.firstByteDelayMilliseconds > 0, !connection.wait(milliseconds: scripted.firstByteDelayMilliseconds) {
                record.replyStatus = 0
                append(record)
                return false
            }
            if let scripted, case .error(let status, let type, let message)? = scripted.failure {
                record.replyStatus = status
                append(record)
                return writeError(connection, status: status, type: type, message: message, retryAfter: scripted.retryAfter)
            }
            record.replyStatus = 200
            append(record)
            return connection.write(HTTPResponse.json(.ok, "{}"))
        }
        guard case .lex(let api, let target) = route else {
            return reject(record, connection, status: 404, type: "UnknownOperationException",
                          message: "No Lex operation at \(request.method) \(request.path)")
        }
        record.api = api
        record.target = target

        if configuration.verifySignatures || request.header("authorization") != nil {
            record.signature = verifySignature(request)
        }
        if configuration.verifySignatures, record.signature != .valid {
            let (type, message): (String, String)
            switch record.signature {
            case .missing: (type, message) = ("MissingAuthenticationTokenException", "Missing Authentication Token")
            case .invalid(let why) where why.hasPrefix("UnrecognizedClient"):
                (type, message) = ("UnrecognizedClientException", "The security token included in the request is invalid.")
            case .invalid(let why): (type, message) = ("InvalidSignatureException", why)
            case .valid: (type, message) = ("", "")
            }
            return reject(record, connection, status: 403, type: type, message: message)
        }

        let contentType = Self.normalizedMediaType(request.header("content-type") ?? "")
        let isText = contentType == "text/plain;charset=utf-8"
        guard isText || Self.audioTypes.contains(contentType) else {
            return reject(record, connection, status: 415, type: "UnsupportedMediaTypeException",
                          message: "Invalid Content-Type header: \(request.header("content-type") ?? "none")")
        }
        let responseType = Self.normalizedMediaType(
            (api == .v2 ? request.header("response-content-type") : request.header("accept")) ?? "")
        guard responseType == "audio/pcm" else {
            return reject(record, connection, status: 406, type: "NotAcceptableException",
                          message: "Only audio/pcm replies are served by the stand-in, not \(responseType)")
        }
        if isText {
            guard let text = String(validating: request.body, as: UTF8.self), !text.isEmpty, text.count <= 1024 else {
                return reject(record, connection, status: 400, type: "BadRequestException",
                              message: "Text input must be 1 to 1024 UTF-8 characters")
            }
            record.inputText = text
        } else {
            let perSecond = contentType.contains("8000") ? 16_000 : 32_000
            guard !request.body.isEmpty, request.body.count % 2 == 0, request.body.count <= 15 * perSecond else {
                return reject(record, connection, status: 400, type: "BadRequestException",
                              message: "Audio must be 16-bit PCM of at most 15 seconds")
            }
        }
        do {
            try decodeAttributes(request, api: api, into: &record)
        } catch {
            return reject(record, connection, status: 400, type: "BadRequestException", message: error.description)
        }
        return reply(request, record, api: api, connection)
    }

    static let audioTypes: Set<String> = [
        "audio/l16;rate=16000;channels=1",
        "audio/x-l16;sample-rate=16000;channel-count=1",
        "audio/lpcm;sample-rate=8000;sample-size-bits=16;channel-count=1;is-big-endian=false",
        "audio/lpcm;sample-rate=16000;sample-size-bits=16;channel-count=1;is-big-endian=false",
    ]

    static func normalizedMediaType(_ value: String) -> String {
        value.lowercased().filter { !$0.isWhitespace }
    }

    /// A session or attribute header Lex would refuse with 400; `description` is Lex's message.
    enum AttributeHeaderError: Error, CustomStringConvertible {
        case notGzipBase64JSON(header: String)
        case notBase64JSON(header: String)

        var description: String {
            switch self {
            case .notGzipBase64JSON(let name): return "\(name) must be gzip+base64 JSON"
            case .notBase64JSON(let name): return "\(name) must be base64 JSON"
            }
        }
    }

    func decodeAttributes(_ request: ReceivedHTTPRequest, api: LexAPI, into record: inout RecordedRequest) throws(AttributeHeaderError) {
        switch api {
        case .v2:
            if let value = request.header("x-amz-lex-session-state") {
                guard let json = LexHeaderEncoding.gunzipBase64(value),
                    LexHeaderEncoding.stringMap(fromJSON: json) != nil
                else { throw .notGzipBase64JSON(header: "x-amz-lex-session-state") }
                record.sessionStateJSON = json
                record.sessionAttributes = LexHeaderEncoding.stringMap(fromJSON: json, key: "sessionAttributes") ?? [:]
            }
            if let value = request.header("x-amz-lex-request-attributes") {
                guard let json = LexHeaderEncoding.gunzipBase64(value),
                    let attributes = LexHeaderEncoding.stringMap(fromJSON: json)
                else { throw .notGzipBase64JSON(header: "x-amz-lex-request-attributes") }
                record.requestAttributes = attributes
            }
        case .v1:
            for (name, v1) in [("x-amz-lex-session-attributes", true), ("x-amz-lex-request-attributes", false)] {
                guard let value = request.header(name) else { continue }
                guard let json = LexHeaderEncoding.unbase64(value),
                    let map = LexHeaderEncoding.stringMap(fromJSON: json)
                else { throw .notBase64JSON(header: name) }
                if v1 { record.sessionAttributes = map } else { record.requestAttributes = map }
            }
        }
    }

    func nextReply(forText text: String?) -> Reply {
        locked { script.next(forText: text) }
    }

    func append(_ record: RecordedRequest) {
        changed {
            var record = record
            record.sequence = records.count + 1
            records.append(record)
        }
    }

    func reject(_ record: RecordedRequest, _ connection: LoopbackHTTPServer.Connection,
                        status: Int, type: String, message: String) -> Bool {
        var record = record
        record.replyStatus = status
        append(record)
        return writeError(connection, status: status, type: type, message: message)
    }

    func writeError(_ connection: LoopbackHTTPServer.Connection, status: Int, type: String, message: String,
                    retryAfter: String? = nil) -> Bool {
        let body = "{\"message\":" + LexHeaderEncoding.jsonString(message) + "}"
        var headers: HTTPFields = [
            HTTPField("x-amzn-RequestId", UUID().uuidString.lowercased()),
            HTTPField("x-amzn-ErrorType", "\(type):http://internal.amazon.com/coral/com.amazonaws.deepsense.runtime/"),
        ]
        if let retryAfter { headers.append(name: "Retry-After", value: retryAfter) }
        headers.append(name: "Date", value: Self.httpDate(configuration.now()))
        headers.append(name: "Content-Type", value: "application/json")
        return connection.write(HTTPResponse(status: HTTPStatus(code: status, phrase: Self.reason(status)), headers: headers, body: Array(body.utf8)))
    }

    func reply(_ request: ReceivedHTTPRequest, _ recordIn: RecordedRequest, api: LexAPI,
                       _ connection: LoopbackHTTPServer.Connection) -> Bool {
        var record = recordIn
        let reply = nextReply(forText: record.inputText)
        switch reply.failure {
        case .error(let status, _, _)?: record.replyStatus = status
        case .closeWithoutReply?: record.replyStatus = 0
        default: record.replyStatus = 200
        }
        record.respondedAt = Self.monotonicNanoseconds()
        append(record)

        // Concurrency accounting and the optional barrier.
        let released: Bool = {
            state.lock()
            defer { state.unlock() }
            handling += 1
            maxHandling = max(maxHandling, handling)
            state.broadcast()
            guard let barrier, !barrierOpen else { return true }
            let deadline = Date(timeIntervalSinceNow: barrier.timeout)
            while handling < barrier.count && !barrierOpen {
                if !state.wait(until: deadline) { break }
            }
            if handling >= barrier.count { barrierOpen = true }
            state.broadcast()
            return barrierOpen
        }()
        defer { changed { handling -= 1 } }
        if !released {
            return writeError(connection, status: 500, type: "InternalFailureException",
                              message: "stand-in barrier: fewer than the expected concurrent requests arrived")
        }

        if reply.firstByteDelayMilliseconds > 0, !connection.wait(milliseconds: reply.firstByteDelayMilliseconds) {
            changed { disconnects += 1 }
            return false
        }
        switch reply.failure {
        case .error(let status, let type, let message)?:
            return writeError(connection, status: status, type: type, message: message, retryAfter: reply.retryAfter)
        case .closeWithoutReply?:
            return false
        case .nonAudio(let contentType, let body)?:
            return connection.write(HTTPResponse(status: .ok, headers: [
                HTTPField("x-amzn-RequestId", UUID().uuidString.lowercased()), HTTPField("Content-Type", contentType),
            ], body: Array(body.utf8)))
        case .truncated, nil:
            break
        }
        let audio = reply.audioBytes()
        var headers = HTTPFields(metadataHeaders(reply, record: record, api: api))
        if case .truncated(let after)? = reply.failure {
            headers.append(name: "Content-Length", value: "\(audio.count)")
            guard connection.write(LoopbackHTTPServer.Connection.head(.ok, headers)) else { return false }
            connection.write(Array(audio.prefix(after)))
            return false
        }
        headers.append(name: "Transfer-Encoding", value: "chunked")
        guard connection.write(LoopbackHTTPServer.Connection.head(.ok, headers)) else {
            changed { disconnects += 1 }
            return false
        }
        var offset = 0
        while offset < audio.count {
            let end = min(audio.count, offset + reply.chunkBytes)
            var chunk = Array(String(end - offset, radix: 16).utf8) + [13, 10]
            chunk += audio[offset..<end]
            chunk += [13, 10]
            guard connection.write(chunk) else {
                changed { disconnects += 1 }
                return false
            }
            offset = end
            if reply.chunkIntervalMilliseconds > 0, offset < audio.count,
                !connection.wait(milliseconds: reply.chunkIntervalMilliseconds)
            {
                changed { disconnects += 1 }
                return false
            }
        }
        return connection.write("0\r\n\r\n")
    }
}
