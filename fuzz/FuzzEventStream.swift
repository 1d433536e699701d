// libFuzzer target over the event stream decoder and what reads its messages: the
// StartConversation event mapping (both directions) and the chained signature verifier.
//
// Input layout: byte 0 picks the message limit (bits 0-2) and, with bit 6, rewrites every
// prelude and message CRC the stream declares so mutations reach the header parser; byte 1
// seeds the chunking; the rest is the stream. The stream is decoded twice, whole and in
// pseudo-random chunks, and both runs must agree exactly. Every decoded message lies within
// the limit, re-encodes to exactly its own bytes (when its values fit the encoder's limits),
// and maps to an event, an exception or a typed error without trapping. With bit 7 of byte 0,
// the stream taken as an audio chunk gets the same signed frame from the audio event's fast
// path as from the generic path.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEventStream(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size >= 2 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let limits = [16, 17, 64, 300, 1024, 4096, 65_536, EventStreamLimits.maxMessageBytes]
    let maxMessage = limits[Int(bytes[0] & 0x07)]
    var stream = Array(bytes[2...])
    if bytes[0] & 0x40 != 0 { fixChecksums(&stream) }

    let whole = decode(stream, maxMessage: maxMessage, seed: nil)
    let chunked = decode(stream, maxMessage: maxMessage, seed: bytes[1])
    guard whole == chunked else { fatalError("whole and chunked decodes disagree:\n\(whole)\n\(chunked)") }

    let signer = SigV4Signer(credentials: AWSCredentials(accessKeyId: "AKID", secretAccessKey: "secret"),
                             region: "us-east-1", keyCache: SigningKeyCache(capacity: 4))
    var verifier = SigV4EventVerifier(signer: signer, seedSignature: String(repeating: "0f", count: 32))!

    // With bit 7 of byte 0: the audio event's fast path writes the generic path's bytes, the
    // stream as the chunk.
    if bytes[0] & 0x80 != 0 {
        var generic = SigV4EventSigner(signer: signer, seed: Array(bytes.prefix(2)))
        var fast = generic
        let date = SigV4Date(unixSeconds: Int64(bytes[1]) * 86_399)
        let event = StartConversation.InputEvent.audioInput(.init(audioChunk: stream))
        let expected = try? generic.signedFrame(event.message(), date: date)
        let frame = try? fast.withSignedAudioInputFrame(stream, date: date) { Array($0) }
        precondition(frame == expected && fast.previousSignature == generic.previousSignature,
                     "the audio fast path's frame differs from the generic path's")
    }
    var offset = 0
    for message in whole.messages {
        let total = Int(EventStreamDecoder.readUInt32(stream, offset))
        precondition(total <= maxMessage && offset + total <= stream.count, "a message past the limit or the stream")
        if let encoded = try? message.encoded() {
            precondition(encoded[...] == stream[offset..<(offset + total)], "re-encoding changed the bytes")
        }
        offset += total

        // The audio fast path reads what JSONDecoder reads, or declines.
        if let fast = StartConversation.AudioResponseEvent(flatJSON: message.payload) {
            let slow: StartConversation.AudioResponseEvent? = try? decodeJSON(message.payload, event: "AudioResponseEvent")
            precondition(slow == fast, "the flat JSON reader disagrees with JSONDecoder")
        }
        if let event = try? StartConversation.OutputEvent(message: message) {
            if case .unknown = event {} else {
                // What maps re-maps to the same value.
                precondition((try? StartConversation.OutputEvent(message: event.message())) == event)
            }
        }
        if let event = try? StartConversation.InputEvent(message: message) {
            precondition((try? StartConversation.InputEvent(message: event.message())) == event)
        }
        if case .event(let inner) = (try? verifier.verify(message)) ?? .endOfStream {
            _ = try? EventStreamDecoder.decodeAll(inner)
        }
    }
    return 0
}

struct Outcome: Equatable, CustomStringConvertible {
    var messages: [EventStreamMessage] = []
    var error: EventStreamError?
    var description: String { "\(messages.count) messages, error \(error.map { "\($0)" } ?? "none")" }
}

func decode(_ stream: [UInt8], maxMessage: Int, seed: UInt8?) -> Outcome {
    var decoder = EventStreamDecoder(maxMessageBytes: maxMessage)
    var outcome = Outcome()
    var rng = UInt32(seed ?? 0) &* 2_654_435_761 | 1
    var i = 0
    do throws(EventStreamError) {
        while i < stream.count {
            var n = stream.count - i
            if seed != nil {
                rng = rng &* 1_103_515_245 &+ 12_345
                n = min(n, 1 + Int((rng >> 16) % 61))
            }
            outcome.messages += try decoder.feed(stream[i..<(i + n)])
            precondition(decoder.bufferedByteCount < max(maxMessage, 12), "the decoder holds a whole message or more")
            i += n
        }
        try decoder.finish()
    } catch {
        outcome.error = error
        // A decoding error is kept (the decoder stays failed); `.truncated` comes from finish() alone.
        if case .truncated = error {
            precondition(decoder.error == nil && decoder.bufferedByteCount > 0, "truncated without bytes held")
        } else {
            precondition(decoder.error == error, "the decoder did not keep its error")
        }
    }
    return outcome
}

/// Rewrites the prelude and message CRCs of every message the stream declares.
func fixChecksums(_ s: inout [UInt8]) {
    func put(_ v: UInt32, at i: Int) {
        s[i] = UInt8(v >> 24); s[i + 1] = UInt8(v >> 16 & 0xFF); s[i + 2] = UInt8(v >> 8 & 0xFF); s[i + 3] = UInt8(v & 0xFF)
    }
    var i = 0
    while s.count - i >= 12 {
        put(EventStreamCRC.checksum(s[i..<(i + 8)]), at: i + 8)
        let total = Int(EventStreamDecoder.readUInt32(s, i))
        guard total >= 16, s.count - i >= total else { return }
        put(EventStreamCRC.checksum(s[i..<(i + total - 4)]), at: i + total - 4)
        i += total
    }
}
