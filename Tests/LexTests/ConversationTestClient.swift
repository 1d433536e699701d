import Foundation
import Lex
import LexStandIn

/// A StartConversation client for tests, built from the codec, the signer and `HTTP2Client`:
/// opens the stream with the streaming SigV4 signature, sends chain-signed input events, and
/// decodes Lex's output events as they arrive. Waits are bounded.
final class ConversationTestClient: @unchecked Sendable {
    static let credentials = AWSCredentials(accessKeyId: "AKIDSTREAMTEST", secretAccessKey: "streaming-secret")
    static let region = "us-east-1"

    let stream: HTTP2Stream
    private let queue = DispatchQueue(label: "conversation-test-client")
    private let condition = NSCondition()
    private var signer: SigV4EventSigner
    private var decoder = EventStreamDecoder()
    private var status = 0
    private var body: [UInt8] = []
    private var outputs: [StartConversation.OutputEvent] = []
    private var endError: HTTP2Error??
    private var decodeFailure: String?
    private var inputCounter = 0

    /// Opens `POST {baseURL}/bots/B1/botAliases/A1/botLocales/en_US/sessions/{sessionId}/conversation`.
    /// `credentials` sign the opening request (other ones than the stand-in's: a refused signature).
    init(client: HTTP2Client, baseURL: String, sessionId: String, credentials: AWSCredentials = credentials,
         contentSHA256: String? = nil) throws {
        let path = "/bots/B1/botAliases/A1/botLocales/en_US/sessions/\(sessionId)/conversation"
        let host = baseURL.split(separator: "/", omittingEmptySubsequences: true)[1]
        let sigv4 = SigV4Signer(credentials: credentials, region: Self.region, service: "lex")
        var request = SigV4Request(method: "POST", path: path, headers: [
            HTTPField("host", String(host)),
            HTTPField("content-type", "application/vnd.amazon.eventstream"),
            HTTPField("x-amz-lex-conversation-mode", "AUDIO"),
        ])
        request = sigv4.signed(request, payload: .streamingEvents, date: SigV4Date(Date()))
        let authorization = request.header("authorization") ?? ""
        signer = SigV4EventSigner(signer: sigv4, seedSignature: SigV4EventSigner.signature(fromAuthorization: authorization) ?? "")!
        var headers = HTTPFields(request.headers.filter { $0.name.lowercased() != "host" }.map { HTTPField($0.name.lowercased(), $0.value) })
        if let contentSHA256 { headers.set("x-amz-content-sha256", contentSHA256) }
        let box = ClientBox()
        // The handlers run on `queue`: held until `box` holds this client, or a stream that ends
        // at once (a GOAWAY at the opening) would report its end to nobody.
        let queue = self.queue
        queue.suspend()
        defer { queue.resume() }
        stream = try client.open(url: baseURL + path, headers: headers, queue: queue, handlers: HTTP2StreamHandlers(
            onResponse: { status, _ in box.value?.changed { $0.status = status } },
            onData: { bytes in box.value?.receive(bytes) },
            onEnd: { error in box.value?.changed { $0.endError = .some(error) } }))
        box.value = self
    }

    // MARK: sending

    /// Signs and sends `event` (eventId `c-N`). `corrupt` flips a bit of the chained signature.
    func send(_ event: StartConversation.InputEvent, corrupt: Bool = false) throws {
        let message = event.message()
        let payload = try EventStreamEncoder.encode(message)
        var outer = signer.sign(payload: payload, date: SigV4Date(Date()))
        if corrupt, case .byteArray(var sig) = outer.headers[1].value {
            sig[0] ^= 1
            outer.headers[1] = EventStreamHeader(SigV4EventSigner.signatureHeaderName, .byteArray(sig))
        }
        try stream.send(EventStreamEncoder.encode(outer))
    }

    /// One audio event by the fast path (`withSignedAudioInputFrame`, as the connector sends
    /// audio): the chain advances only when the stream took the frame.
    func sendAudioFast(_ chunk: [UInt8], date: SigV4Date = SigV4Date(Date())) throws {
        try signer.withSignedAudioInputFrame(chunk, date: date) { frame in try stream.send(frame) }
    }

    func nextEventId() -> String {
        inputCounter += 1
        return "c-\(inputCounter)"
    }

    func configure(responseContentType: String = "audio/pcm", welcome: String? = nil,
                   sessionAttributes: [String: String]? = nil) throws {
        try send(.configuration(.init(responseContentType: responseContentType,
                                      sessionState: sessionAttributes.map { .init(sessionAttributes: $0) },
                                      welcomeMessages: welcome.map { [.init(content: $0)] })))
    }

    /// `milliseconds` of 8 kHz audio in 20 ms events: a 440 Hz tone (speech) or zeros (silence).
    func sendAudio(milliseconds: Int, tone: Bool) throws {
        let frame = tone ? ConversationReply.tone(milliseconds: 20, sampleRate: 8000) : [UInt8](repeating: 0, count: 320)
        for _ in 0..<(milliseconds / 20) {
            try send(.audioInput(.init(audioChunk: frame, eventId: nextEventId())))
        }
    }

    /// The caller's utterance: speech then enough silence for the stand-in's energy rule.
    func speak(milliseconds: Int = 300, silence: Int = 500) throws {
        try sendAudio(milliseconds: milliseconds, tone: true)
        try sendAudio(milliseconds: silence, tone: false)
    }

    func dtmf(_ digits: String) throws {
        for d in digits { try send(.dtmfInput(.init(inputCharacter: String(d), eventId: nextEventId()))) }
    }

    /// Disconnection event, the signed empty message, END_STREAM.
    func hangUp() throws {
        try send(.disconnection(.init(eventId: nextEventId())))
        try stream.send(signer.endOfStreamFrame(date: SigV4Date(Date())))
        stream.finish()
    }

    // MARK: receiving

    var events: [StartConversation.OutputEvent] { condition.withLock { outputs } }
    var responseStatus: Int { condition.withLock { status } }
    var responseBody: [UInt8] { condition.withLock { body } }
    /// nil while the stream runs; `.some(nil)` for a clean end; `.some(error)` otherwise.
    var end: HTTP2Error?? { condition.withLock { endError } }
    var failure: String? { condition.withLock { decodeFailure } }

    /// Events of one type (`"AudioResponseEvent"`...).
    func events(_ type: String) -> [StartConversation.OutputEvent] { events.filter { $0.eventType == type } }

    /// Audio bytes received, and prompts ended (empty chunks).
    var audio: (bytes: Int, prompts: Int) {
        events.reduce(into: (0, 0)) { acc, e in
            if case .audioResponse(let a) = e { a.audioChunk.isEmpty ? (acc.1 += 1) : (acc.0 += a.audioChunk.count) }
        }
    }

    /// Waits (at most `seconds`) until `predicate` holds over this client.
    @discardableResult
    func wait(seconds: Double = 10, _ predicate: (ConversationTestClient) -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while !predicate(self) {
            condition.lock()
            let signalled = condition.wait(until: min(deadline, Date(timeIntervalSinceNow: 0.05)))
            condition.unlock()
            if !signalled && Date() >= deadline { return predicate(self) }
        }
        return true
    }

    /// Waits for the `count`th prompt end (an empty audio chunk).
    @discardableResult
    func waitForPrompts(_ count: Int, seconds: Double = 10) -> Bool { wait(seconds: seconds) { $0.audio.prompts >= count } }

    @discardableResult
    func waitForEnd(seconds: Double = 10) -> Bool { wait(seconds: seconds) { $0.end != nil } }

    private func changed(_ body: (ConversationTestClient) -> Void) {
        condition.lock()
        body(self)
        condition.broadcast()
        condition.unlock()
    }

    private func receive(_ bytes: [UInt8]) {
        changed { me in
            me.body += bytes.prefix(4096 - min(4096, me.body.count))
            guard me.status == 200 else { return }
            do {
                for message in try me.decoder.feed(bytes) {
                    me.outputs.append(try StartConversation.OutputEvent(message: message))
                }
            } catch {
                me.decodeFailure = "\(error)"
            }
        }
    }
}

private final class ClientBox: @unchecked Sendable {
    weak var value: ConversationTestClient?
}
