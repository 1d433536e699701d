import Foundation
import Lex

/// One open StartConversation stream on the stand-in: the thin shell around `ConversationCore`.
/// Request DATA is decoded (event stream framing), each outer message's chained signature
/// verified, the inner event decoded and handed to the core; the core's actions are carried
/// out (events encoded and sent, replies picked from the script, faults, timers). Everything
/// runs under the stream's connection lock: the request callbacks arrive there (on the
/// connection's thread, no hop per event), and timers enter it through `perform`.
final class ConversationStream: @unchecked Sendable {
    /// Strong: timers and delayed answers may run after the stand-in stopped; `stop` ends them.
    private let owner: ConversationStandIn
    private let stream: HTTP2ServerStream
    private let index: Int
    /// The bot/alias/locale/session this stream holds (nil: it conflicted, it holds none, or
    /// it ended its side and let go).
    private var sessionKey: String?
    private let timerLock = NSLock()
    // Under the connection's lock:
    private var decoder = EventStreamDecoder(maxMessageBytes: 1 << 20)
    private var verifier: SigV4EventVerifier?
    private var core: ConversationCore
    private var done = false
    private var clientEnded = false
    private var pendingAnswers = 0
    private var heartbeat: DispatchSourceTimer?

    init(owner: ConversationStandIn, stream: HTTP2ServerStream, index: Int, sessionKey: String?, sessionId: String,
         seed: String?) {
        self.owner = owner
        self.stream = stream
        self.index = index
        self.sessionKey = sessionKey
        let c = owner.configuration
        core = ConversationCore(settings: .init(rmsThreshold: c.rmsThreshold, endSilenceMilliseconds: c.endSilenceMilliseconds,
                                                dtmfEndMilliseconds: c.dtmfEndMilliseconds,
                                                welcomeAudioMilliseconds: c.welcomeAudioMilliseconds),
                                sessionId: sessionId)
        if owner.verifySignatures, let seed, let parsed = Self.signer(seed: seed, stream: stream, owner: owner) {
            verifier = parsed
        }
    }

    /// Wires the stream's callbacks (on the connection thread, in the request's HEADERS callback).
    func start(failure: ConversationFault?) {
        // The request callbacks run on the connection's thread under its lock: handled in place.
        stream.onData = { [self] bytes in received(bytes) }
        stream.onEnd = { [self] in clientEnd() }
        stream.onClose = { [self] code in streamClosed(code) }
        if let failure { return fail(failure) }
        let c = owner.configuration
        if c.heartbeatIntervalSeconds > 0 {
            let timer = DispatchSource.makeTimerSource(queue: .global())
            timer.schedule(deadline: .now() + c.heartbeatIntervalSeconds, repeating: c.heartbeatIntervalSeconds)
            timer.setEventHandler { [weak self] in self?.perform { $0.send(.heartbeat(.init(eventId: UUID().uuidString))) } }
            timer.resume()
            timerLock.withLock { heartbeat = timer }
        }
        if let lifetime = c.maxStreamLifetimeSeconds {
            after(seconds: lifetime) { me in
                me.owner.update(me.index) { $0.lifetimeExpired = true }
                me.end()
            }
        }
    }

    /// Runs `body` under the connection's lock unless the stream is over (or its connection gone).
    private func perform(_ body: @escaping (ConversationStream) -> Void) {
        stream.connection?.withSession { [self] _ in
            if !done { body(self) }
        }
    }

    private func after(seconds: Double, _ body: @escaping @Sendable (ConversationStream) -> Void) {
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [weak self] in self?.perform(body) }
    }

    /// The stand-in is stopping: no more events, no timers.
    func stop() {
        cancelHeartbeat()
        perform { $0.done = true }
    }

    private func cancelHeartbeat() {
        timerLock.withLock {
            heartbeat?.cancel()
            heartbeat = nil
        }
    }

    // MARK: input

    private func received(_ bytes: [UInt8]) {
        guard !done else { return }
        let messages: [EventStreamMessage]
        do {
            messages = try decoder.feed(bytes)
        } catch {
            return fail(.exception(.validation("Malformed event stream: \(error)")))
        }
        for message in messages where !done {
            receive(message)
        }
    }

    private func receive(_ outer: EventStreamMessage) {
        var payload = outer.payload
        if var v = verifier {
            defer { verifier = v }
            do {
                switch try v.verify(outer, now: SigV4Date(owner.now())) {
                case .event(let inner): payload = inner
                case .endOfStream:
                    owner.update(index) { $0.verifiedSignatures += 1; $0.endOfStream = true }
                    return
                }
            } catch {
                owner.update(index) { $0.signatureFailure = error.description }
                return fail(.exception(.accessDenied("The event signature is not valid: \(error.description)")))
            }
            owner.update(index) { $0.verifiedSignatures += 1 }
        } else if outer.header(SigV4EventSigner.signatureHeaderName) != nil {
            if payload.isEmpty {
                owner.update(index) { $0.endOfStream = true }
                return
            }
        } else {
            payload = (try? EventStreamEncoder.encode(outer)) ?? []  // unsigned: the event itself
        }
        let event: StartConversation.InputEvent
        do {
            let inner = try EventStreamDecoder.decodeAll(payload)
            guard inner.count == 1 else { throw StartConversation.DecodingError.missingHeader(":event-type") }
            event = try StartConversation.InputEvent(message: inner[0])
        } catch {
            return fail(.exception(.validation("Malformed input event: \(error)")))
        }
        record(event)
        perform(core.receive(event))
    }

    private func record(_ event: StartConversation.InputEvent) {
        let keep = owner.configuration.recordsEvents
        owner.update(index) { r in
            switch event {
            case .configuration(let c): r.configuration = c
            case .audioInput(let a):
                r.audioEvents += 1
                r.audioBytes += a.audioChunk.count
                r.largestAudioChunk = max(r.largestAudioChunk, a.audioChunk.count)
            case .dtmfInput(let d): r.dtmf += d.inputCharacter
            case .textInput(let t): r.texts.append(t.text)
            case .playbackCompletion: r.playbackCompletions += 1
            case .disconnection: r.disconnected = true
            }
            guard keep else { return }
            if case .audioInput(var a) = event {
                a.audioChunk = []
                r.events.append(.audioInput(a))
            } else {
                r.events.append(event)
            }
        }
    }

    private func clientEnd() {
        clientEnded = true
        owner.update(index) { $0.clientEnded = true }
        if !done && pendingAnswers == 0 { end() }
    }

    private func streamClosed(_ code: HTTP2ErrorCode) {
        done = true
        cancelHeartbeat()
        owner.closed(index, sessionKey: sessionKey, code: code)
    }

    // MARK: output

    private func perform(_ actions: [ConversationAction]) {
        for action in actions where !done {
            switch action {
            case .send(let event): send(event)
            case .fail(let fault): fail(fault)
            case .scheduleDTMFEnd(let generation, let ms):
                after(seconds: Double(ms) / 1000) { me in me.perform(me.core.dtmfTimerFired(generation: generation)) }
            case .turn(let turn):
                let reply = owner.nextReply(for: turn)
                owner.update(index) { $0.turns.append(reply.transcript ?? turn.heard) }
                guard reply.delayMilliseconds > 0 else {
                    if let failure = reply.failure { return fail(failure) }
                    answer(reply, turn)
                    continue
                }
                pendingAnswers += 1
                after(seconds: Double(reply.delayMilliseconds) / 1000) { me in
                    me.pendingAnswers -= 1
                    if let failure = reply.failure { return me.fail(failure) }
                    me.answer(reply, turn)
                    if me.clientEnded && me.pendingAnswers == 0 { me.end() }
                }
            }
        }
    }

    private func answer(_ reply: ConversationReply, _ turn: ConversationTurn) {
        let at = LexStandIn.monotonicNanoseconds()
        owner.update(index) { $0.answeredAt.append(at) }
        perform(core.answer(reply, turn: turn))
    }

    private func send(_ event: StartConversation.OutputEvent) {
        guard !done, let bytes = try? EventStreamEncoder.encode(event.message()) else { return }
        stream.send(bytes)
        owner.update(index) { r in
            r.sent[event.eventType, default: 0] += 1
            if case .playbackInterruption(let p) = event { r.interruptions.append(p.eventReason ?? "") }
        }
    }

    private func fail(_ fault: ConversationFault) {
        guard !done else { return }
        owner.update(index) { $0.fault = fault }
        releaseSession()  // before the client can hear of it
        switch fault {
        case .exception(let e):
            send(.exception(e))
            end()
        case .reset(let code):
            done = true
            stream.reset(code)
        case .status:  // the response is already 200: too late for a status
            done = true
            stream.reset(.internalError)
        case .goAway(let code):
            done = true
            stream.goAway(code)
        }
    }

    /// END_STREAM on the response; nothing more is sent.
    private func releaseSession() {
        if let sessionKey { owner.sessionEnded(sessionKey) }
        sessionKey = nil
    }

    private func end() {
        releaseSession()
        done = true
        cancelHeartbeat()
        stream.finish()
    }

    /// The verifier of the stream's chain: the credentials and scope named by its Authorization.
    private static func signer(seed: String, stream: HTTP2ServerStream, owner: ConversationStandIn) -> SigV4EventVerifier? {
        guard let authorization = stream.header("authorization"),
            let parsed = LexStandIn.ParsedAuthorization(authorization),
            let credentials = owner.credentials.first(where: { $0.accessKeyId == parsed.accessKeyId })
        else { return nil }
        let signer = SigV4Signer(credentials: credentials, region: parsed.region, service: parsed.service)
        return SigV4EventVerifier(signer: signer, seedSignature: seed)
    }
}
