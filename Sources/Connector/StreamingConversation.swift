import Dispatch
import Foundation
import Lex
import Logging

/// Where a streaming conversation delivers Lex's events, on the call's event loop.
protocol StreamingConversationDelegate: AnyObject {
    func lexStream(_ input: LexStreamInput)
}

/// The Lex side of one streaming call: one Lex V2 StartConversation stream over `HTTP2Client`
/// (reopened on the same session id when the call asks), every event signed in the chain of
/// the opening request's signature. The I/O shell of `StreamingCall`'s `stream*`,
/// `reopenStream` and `endStream` actions; it decides nothing about the call.
///
/// Per stream: the opening request (`StartConversationRequest`), then `ConfigurationEvent`
/// (`responseContentType`, the session attributes, with `x-amz-lex:allow-interrupt:*:*` false
/// when `barge_in` is off, the request attributes, the welcome text as a welcome message on the first
/// stream only), then audio, DTMF and playback-completion events as the call sends them. At the
/// end, a `DisconnectionEvent` and the signed empty message, then up to `endTimeout` for Lex to
/// end its side before the stream is cancelled. Confined to the call's queue; callbacks of a
/// stream that was replaced or ended are dropped.
final class StreamingConversation: @unchecked Sendable {
    /// How long the end of a conversation waits for Lex to end its side.
    static let endTimeout: Duration = .seconds(2)
    /// How long the caller's audio may go on being dropped, every event of it (the send buffer
    /// stays full: Lex reads nothing), before the stream counts as reset. Before the first drop
    /// the 64 KiB buffer already holds about 2.7 s of audio, so Lex has read nothing for about
    /// 5 s by then. The call then reopens the stream once, or ends as for any reset (README,
    /// "Streaming calls").
    static let stallTimeout: Duration = .seconds(2)

    /// Lex V2's session attribute for whether prompts may be interrupted, for every intent and slot.
    static let allowInterruptAttribute = "x-amz-lex:allow-interrupt:*:*"

    /// The `responseContentType` asked for: 16-bit PCM at `rate`. The `sample-rate` parameter
    /// is not documented for StartConversation (the reference documents `audio/pcm` as 16 kHz);
    /// each chunk's own `contentType` decides the rate it is played at, 16000 when it names
    /// none, so the call is right whether Lex honours the parameter or not.
    static func responseContentType(rate: Int) -> String { "audio/pcm; sample-rate=\(rate)" }

    /// The Lex rate asked for a call at `callRate`: 8000 for 8 kHz calls (no resampling if Lex
    /// honours it), else 16000 (Polly's highest PCM rate).
    static func replyRate(callRate: Int) -> Int { callRate == 8000 ? 8000 : 16000 }

    /// The rate of a chunk whose `contentType` is `type`: its `sample-rate` parameter, else 16000.
    static func sampleRate(contentType type: String?) -> Int {
        guard let type, let range = type.range(of: "sample-rate=") else { return 16000 }
        let digits = type[range.upperBound...].prefix { $0.isNumber }
        guard let rate = Int(digits), (8000...48000).contains(rate) else { return 16000 }
        return rate
    }

    private let client: HTTP2Client
    private let target: LexTarget
    private let endpoints: LexEndpoints
    private let settings: CallSettings
    private let queue: DispatchQueue
    private let logger: Logger
    private let metrics: StreamMetrics
    weak var delegate: StreamingConversationDelegate?

    // Confined to `queue`:
    private var stream: HTTP2Stream?
    private var signer: SigV4EventSigner?
    private var decoder = EventStreamDecoder()
    /// Numbers the streams: a replaced stream's late callbacks are dropped.
    private var generation: UInt64 = 0
    private var status = 0
    private var errorBody: [UInt8] = []
    private var ending = false
    private var opened = 0
    private var droppedSends = 0
    /// When the audio events began to be dropped without one sent since (nil: the last went).
    private var droppingSince: DispatchTime?
    /// The events' date, made once per second (50 events a second share it).
    private var date = SigV4Date(unixSeconds: 0)

    init(client: HTTP2Client, target: LexTarget, endpoints: LexEndpoints, settings: CallSettings,
         queue: DispatchQueue, logger: Logger, metrics: StreamMetrics) {
        self.client = client
        self.target = target
        self.endpoints = endpoints
        self.settings = settings
        self.queue = queue
        self.logger = logger
        self.metrics = metrics
    }

    // MARK: - The call's actions

    /// Opens a stream (the first, or a new one on the same session id) and configures it.
    func open(sessionAttributes: [String: String]) {
        closeCurrent()
        generation &+= 1
        let current = generation
        status = 0
        errorBody = []
        droppedSends = 0
        droppingSince = nil
        decoder = EventStreamDecoder()
        let request: StartConversationRequest
        do {
            request = try StartConversationRequest(target: target, region: settings.region, credentials: settings.credentials,
                                                   endpoints: endpoints, date: SigV4Date(Date()))
        } catch {
            return deliverLater(current, .failed(.exception(.validation("\(error)"))))
        }
        signer = request.eventSigner
        let handlers = HTTP2StreamHandlers(
            onResponse: { [self] status, headers in
                guard current == generation else { return }
                self.status = status
                if status != 200 { errorType = headers.first { $0.name == "x-amzn-errortype" }?.value }
            },
            onData: { [self] bytes in
                guard current == generation else { return }
                received(bytes)
            },
            onEnd: { [self] error in
                guard current == generation else { return }
                streamEnded(error)
            })
        do {
            stream = try client.open(url: request.url, headers: request.headers, queue: queue, handlers: handlers)
        } catch {
            return deliverLater(current, .failed(.reset("\(error)")))
        }
        metrics.streamOpened()
        opened += 1
        var attributes = sessionAttributes
        // `barge_in` false: no prompt may be interrupted, unless the call's own attributes say
        // otherwise. True (the default): nothing is set, so the bot's per-prompt setting holds.
        if !settings.bargeIn, attributes.keys.allSatisfy({ !$0.hasPrefix("x-amz-lex:allow-interrupt:") }) {
            attributes[Self.allowInterruptAttribute] = "false"
        }
        var state = StartConversation.SessionState(sessionAttributes: attributes)
        var welcome: [StartConversation.Message]?
        if opened == 1, let text = settings.welcomeText {
            welcome = [StartConversation.Message(content: text)]
            state.dialogAction = StartConversation.DialogAction(type: "ElicitIntent")
        }
        send(.configuration(StartConversation.ConfigurationEvent(
            responseContentType: Self.responseContentType(rate: Self.replyRate(callRate: settings.sampleRate)),
            sessionState: state, welcomeMessages: welcome,
            requestAttributes: settings.requestAttributes.isEmpty ? nil : settings.requestAttributes)))
        logger.debug("lex stream opened", metadata: ["stream": "\(opened)"])
    }

    /// The audio event's fast path (50 a second): the same bytes as `send(.audioInput(...))`,
    /// written and signed in the signer's buffer and copied once, into the stream's.
    func sendAudio(_ pcm8k: [UInt8]) {
        guard let stream, signer != nil else { return }
        let date = currentDate()
        do {
            try signer!.withSignedAudioInputFrame(pcm8k, date: date) { frame in try stream.send(frame) }
            metrics.audioInputOut.increment()
            droppingSince = nil
        } catch {
            dropped("AudioInputEvent", error)
            audioDropped()
        }
    }

    /// Lex that reads nothing for `stallTimeout` of the caller's audio is a reset stream: without
    /// this, the call would go on, deaf, for as long as the caller stays.
    private func audioDropped() {
        let now = DispatchTime.now()
        guard let since = droppingSince else {
            droppingSince = now
            return
        }
        guard now.uptimeNanoseconds - since.uptimeNanoseconds >= UInt64(Self.stallTimeout.wholeNanoseconds) else { return }
        let seconds = Self.stallTimeout.milliseconds / 1000
        closeCurrent()
        deliverLater(generation, .failed(.reset("Lex read none of the caller's audio for \(seconds) s (the send buffer stayed full)")))
    }

    func sendDTMF(_ digit: String) {
        send(.dtmfInput(StartConversation.DTMFInputEvent(inputCharacter: digit)))
    }

    func sendPlaybackCompletion() {
        send(.playbackCompletion(StartConversation.PlaybackCompletionEvent()))
    }

    /// The call is over: disconnection, the signed end of stream, then a bounded wait.
    func end() {
        guard let stream, !ending else { return }
        ending = true
        send(.disconnection(StartConversation.DisconnectionEvent()))
        if var s = signer {
            do {
                try stream.send(s.endOfStreamFrame(date: currentDate()))
                signer = s
            } catch {
                dropped("end of stream", error)
            }
        }
        stream.finish()
        let current = generation
        queue.asyncAfter(deadline: .now() + .nanoseconds(Int(Self.endTimeout.wholeNanoseconds))) { [self] in
            guard current == generation, self.stream != nil else { return }
            logger.info("lex stream did not end in time; cancelled", metadata: ["ms": "\(Self.endTimeout.milliseconds)"])
            closeCurrent()
        }
    }

    // MARK: - The stream

    private var errorType: String?

    private func send(_ event: StartConversation.InputEvent) {
        guard let stream, var s = signer else { return }
        do {
            let frame = try s.signedFrame(event.message(), date: currentDate())
            try stream.send(frame)
            signer = s  // the chain advances only over a frame sent
            metrics.eventOut(event.eventType)
        } catch {
            dropped(event.eventType, error)
        }
    }

    /// The send buffer is full (Lex is not reading: `HTTP2ClientConfiguration.sendBufferLimit`)
    /// or the stream is closing: the event is dropped, counted, and said once per stream.
    private func dropped(_ eventType: String, _ error: any Error) {
        metrics.eventDropped(eventType)
        droppedSends += 1
        if droppedSends == 1 { logger.warning("lex stream event dropped: \(error)", metadata: ["event": "\(eventType)"]) }
    }

    private func currentDate() -> SigV4Date {
        let seconds = Int64(Date().timeIntervalSince1970)
        if seconds != date.unixSeconds { date = SigV4Date(unixSeconds: seconds) }
        return date
    }

    private func received(_ bytes: [UInt8]) {
        if status != 200 {
            if errorBody.count < 4096 { errorBody += bytes.prefix(4096 - errorBody.count) }
            return
        }
        let messages: [EventStreamMessage]
        do {
            messages = try decoder.feed(bytes)
        } catch {
            return fail(.reset("Lex sent bytes that are not an event stream: \(error)"))
        }
        for message in messages where stream != nil {
            let event: StartConversation.OutputEvent
            do {
                event = try StartConversation.OutputEvent(message: message)
            } catch {
                return fail(.reset("Lex sent an event that does not decode: \(error)"))
            }
            deliver(event)
        }
    }

    private func deliver(_ event: StartConversation.OutputEvent) {
        switch event {
        case .heartbeat:
            metrics.eventIn(event.eventType)
        case .transcript(let e):
            metrics.eventIn(event.eventType)
            delegate?.lexStream(.transcript(e.transcript ?? ""))
        case .intentResult(let e):
            metrics.eventIn(event.eventType)
            delegate?.lexStream(.intent(e))
        case .textResponse(let e):
            metrics.eventIn(event.eventType)
            delegate?.lexStream(.text(e.messages ?? []))
        case .audioResponse(let e):
            metrics.eventIn(event.eventType)
            delegate?.lexStream(.audio(e.audioChunk, sampleRate: Self.sampleRate(contentType: e.contentType)))
        case .playbackInterruption(let e):
            metrics.eventIn(event.eventType)
            delegate?.lexStream(.interrupted(reason: e.eventReason ?? ""))
        case .exception(let e):
            fail(.exception(e))
        case .unknown(let name):
            metrics.eventIn(name)
            logger.debug("unknown lex stream event ignored", metadata: ["event": "\(name)"])
        }
    }

    private func streamEnded(_ error: HTTP2Error?) {
        let wasEnding = ending
        let failedStatus = status != 200 && status != 0 ? status : nil
        closeCurrent()
        if wasEnding { return }
        if let failedStatus {
            let type = errorType.map { String($0.prefix { $0 != ":" }) } ?? Self.exceptionType(status: failedStatus)
            let message = String(decoding: errorBody, as: UTF8.self)
            return delegate?.lexStream(.failed(.exception(StartConversation.Exception(type: type, message: message)))) ?? ()
        }
        if let error { return delegate?.lexStream(.failed(.reset("\(error)"))) ?? () }
        delegate?.lexStream(.ended)
    }

    private func fail(_ fault: LexStreamFault) {
        closeCurrent()
        delegate?.lexStream(.failed(fault))
    }

    /// Cancels the stream, if any, and forgets it (its callbacks are dropped from now on).
    private func closeCurrent() {
        guard let s = stream else { return }
        stream = nil
        signer = nil
        generation &+= 1
        s.cancel()
        metrics.streamClosed()
    }

    private func deliverLater(_ current: UInt64, _ input: LexStreamInput) {
        queue.async { [self] in
            guard current == generation else { return }
            delegate?.lexStream(input)
        }
    }

    /// The exception an HTTP status stands for when Lex sends no `x-amzn-errortype`.
    static func exceptionType(status: Int) -> String {
        switch status {
        case 400: "ValidationException"
        case 403: "AccessDeniedException"
        case 404: "ResourceNotFoundException"
        case 409: "ConflictException"
        case 424: "DependencyFailedException"
        case 429: "ThrottlingException"
        case 502: "BadGatewayException"
        default: status >= 500 ? "InternalServerException" : "HTTP\(status)"
        }
    }
}
