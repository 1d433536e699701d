// libFuzzer target over the HTTP request parser and the WebSocket handshake.
//
// Input layout: byte 0 picks the limits (default, or tiny ones so short inputs reach every
// limit branch), byte 1 seeds the chunking; the rest is the request stream. The stream is
// parsed twice, whole and in pseudo-random chunks, and both runs must agree exactly.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size >= 2 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let control = bytes[0]
    let limits: HTTPLimits = control & 0x80 == 0
        ? .default
        : HTTPLimits(requestLineBytes: 8 + Int(control & 0x0F) * 4,
                     headerBytes: 16 + Int((control >> 4) & 0x07) * 16,
                     headerCount: 1 + Int(control & 0x07))
    let stream = Array(bytes[2...])

    let whole = parse(stream, limits: limits, chunks: nil)
    let chunked = parse(stream, limits: limits, chunks: bytes[1])
    guard whole == chunked else {
        fatalError("whole and chunked parses disagree: \(whole) vs \(chunked)")
    }

    if case .request(let request, let remainder) = whole {
        // The remainder is a suffix of the stream.
        precondition(stream.count >= remainder.count && Array(stream.suffix(remainder.count)) == remainder)
        precondition(request.target.utf8.count <= limits.requestLineBytes)
        precondition(request.headers.count <= limits.headerCount)
        precondition(request.versionMajor == 1)
        // Every handshake outcome is a well-formed response.
        switch WebSocketHandshake.validate(request) {
        case .accept(let accept):
            precondition(Base64.decode(accept)?.count == 20)
            let wire = WebSocketHandshake.switchingProtocols(accept: accept).serialized()
            precondition(wire.starts(with: Array("HTTP/1.1 101 ".utf8)))
        case .refuse(let response):
            precondition([400, 405, 426].contains(response.status.code))
            precondition(response.serialized().starts(with: Array("HTTP/1.1 \(response.status.code) ".utf8)))
        }
    }

    // Base64: decoding never traps, and what decodes re-encodes to something that decodes the same.
    let text = String(decoding: stream.prefix(64), as: UTF8.self)
    if let decoded = Base64.decode(text) {
        precondition(Base64.decode(Base64.encode(decoded)) == decoded)
    }
    precondition(Base64.decode(Base64.encode(stream.prefix(48))) == Array(stream.prefix(48)))
    return 0
}

enum ParseResult: Equatable {
    case incomplete
    case request(HTTPRequest, remainder: [UInt8])
    case failure(HTTPParseError)
}

func parse(_ stream: [UInt8], limits: HTTPLimits, chunks seed: UInt8?) -> ParseResult {
    var parser = HTTPRequestParser(limits: limits)
    var rng = UInt32(seed ?? 0) &* 2_654_435_761 | 1
    var i = 0
    do {
        while i < stream.count {
            var n = stream.count - i
            if seed != nil {
                rng = rng &* 1_103_515_245 &+ 12_345
                n = min(n, 1 + Int((rng >> 16) % 17))
            }
            if let request = try parser.append(stream[i..<(i + n)]) {
                // The remainder must be exactly what followed, so count it from the stream.
                return .request(request, remainder: Array(parser.remainder) + Array(stream[(i + n)...]))
            }
            i += n
        }
    } catch {
        return .failure(error)
    }
    return .incomplete
}
