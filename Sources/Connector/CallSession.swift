import Audio
import Dispatch
import Foundation
import Lex
import Logging
import WebSocketServer

/// One phone call's conversation with a Lex bot, confined to its connection's event loop.
///
/// States: waiting for the start message, then listening / waiting for Lex / playing (these
/// overlap: the caller may speak while Lex answers or while a reply plays, and nothing they
/// say is dropped silently). Lex's audio reply is resampled to the call's rate and paced out
/// one exact frame per 20 ms by the loop's `Pacer`, starting with the first bytes.
final class CallSession: WebSocketHandler, PacedSession, @unchecked Sendable {
    let id: String
    let route: CallRoute
    private let env: CallEnvironment
    /// The configuration when the call arrived (SIGHUP changes later calls, not this one).
    private let config: LexmoConfiguration
    private let principal: Principal?
    private let credentialStore: CredentialStore
    private let onEnd: @Sendable () -> Void
    private var logger: Logger
    private weak var connection: WebSocketConnection?
    private var pacerRegistered = false

    private enum Phase {
        /// Before a valid start message; audio is held for up to `start_timeout_ms`.
        case awaitingStart(held: [[UInt8]], heldBytes: Int, deadline: UInt64)
        case active(ActiveCall)
        case ended
    }
    private var phase: Phase

    /// Everything that exists once the call's parameters are known.
    private final class ActiveCall {
        let params: StartParameters
        let segmenter: UtteranceSegmenter
        /// 24 kHz calls are resampled to 16 kHz for the VAD and for Lex.
        let inboundResampler: Resampler?
        /// Lex answers 16 kHz PCM; 8 and 24 kHz calls need it converted.
        let replyResampler: Resampler?
        let lexRate: Int
        let events: EventSink?
        var inboundBytes: [UInt8] = []
        var inboundSamples: [Int16] = []
        var requests: [(input: LexInput, origin: String, queuedAt: UInt64)] = []
        var inFlight: LexRequestHandle?
        var inFlightSentAt: UInt64 = 0
        var inFlightOrigin = ""
        /// For speech sent the moment its utterance ended (nothing in flight or queued before
        /// it): that moment, else 0. The start of the reaction time the server measures.
        var inFlightSpeechEndedAt: UInt64 = 0
        /// When this turn's reply started playing from silence (0: not yet, or it followed
        /// an earlier reply without a pause).
        var turnFirstFrameAt: UInt64 = 0
        /// Set on barge-in: the rest of the current reply is not played.
        var discardReply = false
        /// Reply bytes still to drop: the resampler's filter delay, so a reply keeps its exact length.
        var replySkipBytes = 0
        var sessionAttributes: [String: String]
        var playback: PlaybackBuffer
        var playing = false
        var playbackStart: UInt64 = 0
        var framesSent = 0
        var replyComplete = true
        var closeAfterPlayback = false
        var dtmf = ""
        var dtmfDeadline: UInt64 = 0
        var lastInbound: UInt64
        let startedAt: UInt64
        var pendingFramesPlayed = 0
        var pendingLate = 0
        var pendingReceived = 0
        var stats = (utterances: 0, lexTurns: 0, lexErrors: 0, framesPlayed: 0, bargeIns: 0, dtmf: 0)
        var turnRecord: [UInt8] = []

        init(params: StartParameters, segmenter: UtteranceSegmenter, inbound: Resampler?, reply: Resampler?, lexRate: Int, events: EventSink?, now: UInt64) {
            self.params = params
            self.segmenter = segmenter
            inboundResampler = inbound
            replyResampler = reply
            self.lexRate = lexRate
            self.events = events
            sessionAttributes = params.sessionAttributes
            playback = PlaybackBuffer(frameBytes: params.frameBytes)
            lastInbound = now
            startedAt = now
        }
    }

    init(id: String, route: CallRoute, env: CallEnvironment, settings: RuntimeSettings, principal: Principal?,
         logger: Logger, onEnd: @escaping @Sendable () -> Void) {
        self.id = id
        self.route = route
        self.env = env
        config = settings.config
        credentialStore = settings.credentials
        self.principal = principal
        self.onEnd = onEnd
        var l = logger
        l[metadataKey: "call"] = "\(id)"
        self.logger = l
        phase = .awaitingStart(held: [], heldBytes: 0, deadline: 0)
    }

    // MARK: - WebSocketHandler

    func webSocketDidOpen(_ connection: WebSocketConnection) {
        self.connection = connection
        connection.setLogMetadata("call", id)
        let now = Self.now()
        phase = .awaitingStart(held: [], heldBytes: 0, deadline: now + UInt64(config.call.startTimeoutMs) * 1_000_000)
        env.pacer.add(self)
        pacerRegistered = true
        env.metrics.callStarted()
        logger.info("call connected", metadata: ["api": "\(route.api)", "session": "\(route.sessionId)", "peer": "\(connection.remoteAddress)"])
    }

    func webSocket(_ connection: WebSocketConnection, didReceiveText text: String) {
        switch phase {
        case .awaitingStart(let held, _, _):
            switch StartParameters.parse(text, defaults: config) {
            case .failure(let error):
                env.metrics.badInput("start_parameters")
                fail(.policyViolation, "invalid start message: \(error.reason)")
            case .success(let params):
                start(params, held: held)
            }
        case .active(let call):
            handleEvent(text, call)
        case .ended:
            return
        }
    }

    func webSocket(_ connection: WebSocketConnection, didReceiveBinary data: [UInt8]) {
        switch phase {
        case .awaitingStart(var held, var heldBytes, let deadline):
            // Held until the start message (at most one second of 24 kHz audio).
            held.append(data)
            heldBytes += data.count
            while heldBytes > 48_000, !held.isEmpty { heldBytes -= held.removeFirst().count }
            phase = .awaitingStart(held: held, heldBytes: heldBytes, deadline: deadline)
        case .active(let call):
            receiveAudio(data, call)
        case .ended:
            return
        }
    }

    func webSocketDidClose(_ connection: WebSocketConnection, code: WebSocketCloseCode, reason: String, byPeer: Bool) {
        end(code: code, reason: reason, byPeer: byPeer)
    }

    // MARK: - Start

    /// Which AWS credentials and region the call uses: its own keys, a server-side profile
    /// bound to its tenant, or the environment's (authenticated calls only).
    private func resolveCredentials(_ params: inout StartParameters) -> String? {
        var profileRegion: String?
        if let name = params.profile {
            switch credentialStore.lookup(profile: name, principal: principal) {
            case .failure(let e): return e.description
            case .success(let entry):
                params.credentials = entry.credentials
                profileRegion = entry.region
            }
        } else if params.credentials == nil {
            guard principal != nil, let fallback = credentialStore.environmentDefault else {
                return "aws_key is missing (give aws_key and aws_secret, or aws_profile)"
            }
            params.credentials = fallback
        }
        params.region = params.requestedRegion ?? profileRegion ?? config.lex.region
        let allowed = config.security.allowedRegions
        if !allowed.isEmpty && !allowed.contains(params.region) {
            return "aws_region \(params.region) is not allowed on this server"
        }
        return nil
    }

    private func start(_ startParams: StartParameters, held: [[UInt8]]) {
        var params = startParams
        if let problem = resolveCredentials(&params) {
            env.metrics.badInput("credentials")
            fail(.policyViolation, "invalid start message: \(problem)")
            return
        }
        let lexRate = params.sampleRate == 8000 ? 8000 : 16000
        let segmenter: UtteranceSegmenter
        let inbound: Resampler?
        let reply: Resampler?
        do {
            segmenter = try UtteranceSegmenter(sampleRate: lexRate, configuration: .init(
                sensitivity: params.sensitivity, silenceTime: params.silenceTime, clipMin: params.clipMin,
                clipMax: params.clipMax, preRoll: config.vad.preRoll, noiseMargin: Double(config.vad.noiseMargin)))
            inbound = params.sampleRate == 24000 ? try Resampler(from: 24000, to: 16000) : nil
            reply = params.sampleRate != 16000 ? try Resampler(from: 16000, to: params.sampleRate) : nil
        } catch {
            env.metrics.badInput("start_parameters")
            fail(.policyViolation, "invalid start message: \(error)")
            return
        }
        var events: EventSink?
        if let url = params.webhookURL {
            var base: [String: Any] = ["call_id": id, "session_id": route.sessionId, "service": "lex-\(route.api)"]
            if let c = params.clientId { base["client_id"] = c }
            events = EventSink(url: url, secret: config.events.secret, client: env.lexClient, logger: logger, metrics: env.metrics, base: base)
        }
        let call = ActiveCall(params: params, segmenter: segmenter, inbound: inbound, reply: reply, lexRate: lexRate, events: events, now: Self.now())
        phase = .active(call)
        if let c = params.clientId { logger[metadataKey: "client"] = "\(c)" }
        if let p = principal { logger[metadataKey: "tenant"] = "\(p.tenant)" }
        logger.info("call started", metadata: ["params": "\(params)"])
        connection?.sendText("ok")
        call.events?.emit("call_started", ["rate": params.sampleRate, "api": route.api, "region": params.region])
        if let welcome = params.welcomeText { enqueue(.text(welcome), origin: "welcome", call) }
        for chunk in held { receiveAudio(chunk, call) }
    }

    // MARK: - Inbound audio

    private func receiveAudio(_ data: [UInt8], _ call: ActiveCall) {
        guard data.count % 2 == 0, data.count <= call.params.frameBytes * 8, !data.isEmpty else {
            env.metrics.badInput("audio_frame_size")
            fail(.unsupportedData, "invalid audio frame of \(data.count) bytes: expected \(call.params.frameBytes) (16-bit PCM, 20 ms)")
            return
        }
        call.lastInbound = Self.now()
        call.pendingReceived += 1
        let frameBytes = call.params.frameBytes
        // The usual case, one whole frame and nothing carried over, skips the carry buffer.
        let direct = call.inboundBytes.isEmpty && data.count == frameBytes
        if !direct { call.inboundBytes += data }
        var offset = 0
        while (direct ? data.count : call.inboundBytes.count) - offset >= frameBytes {
            let samples = PCM.samples(littleEndian: (direct ? data : call.inboundBytes)[offset..<(offset + frameBytes)])
            offset += frameBytes
            if let r = call.inboundResampler {
                call.inboundSamples += r.process(samples)
                let vadFrame = call.lexRate / 50
                while call.inboundSamples.count >= vadFrame {
                    let f = Array(call.inboundSamples[0..<vadFrame])
                    call.inboundSamples.removeFirst(vadFrame)
                    segment(f, call)
                }
            } else {
                segment(samples, call)
            }
            if case .ended = phase { return }
        }
        if !direct { call.inboundBytes.removeFirst(offset) }
    }

    private func segment(_ frame: [Int16], _ call: ActiveCall) {
        let event: UtteranceSegmenter.Event?
        do { event = try call.segmenter.process(frame: frame) } catch {
            logger.error("segmenter rejected a frame: \(error)")
            return
        }
        switch event {
        case .speechStarted?:
            if call.playing || !call.replyComplete, call.params.bargeIn { bargeIn(call) }
        case .utteranceEnded(let u)?:
            call.stats.utterances += 1
            let reason = u.reason == .maximumLength ? "maximum_length" : "silence"
            env.metrics.utterance(reason)
            logger.info("utterance", metadata: ["ms": "\(u.duration.milliseconds)", "reason": "\(reason)"])
            call.events?.emit("utterance", ["duration_ms": u.duration.milliseconds, "reason": reason])
            env.recorder?.record(samples: u.samples, rate: u.sampleRate, call: id, kind: "utterance")
            enqueue(.audio(pcm: PCM.littleEndianBytes(u.samples), sampleRate: call.lexRate), origin: "speech", call)
        case .utteranceDiscarded(let d)?:
            env.metrics.utterance("discarded")
            logger.debug("utterance too short, discarded", metadata: ["ms": "\(d.milliseconds)"])
        case nil:
            break
        }
    }

    private func bargeIn(_ call: ActiveCall) {
        call.stats.bargeIns += 1
        call.discardReply = call.inFlight != nil
        let queuedMs = call.playback.queuedBytes * 1000 / (call.params.sampleRate * 2)
        call.playback.clear()
        call.playing = false
        call.replyComplete = true
        call.closeAfterPlayback = false
        connection?.sendText("{\"action\":\"clear\"}")
        logger.info("barge-in: playback stopped", metadata: ["dropped_ms": "\(queuedMs)"])
        call.events?.emit("playback_interrupted", ["remaining_ms": queuedMs])
    }

    // MARK: - Text events from Vonage

    private func handleEvent(_ text: String, _ call: ActiveCall) {
        guard let data = text.data(using: .utf8), let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let event = json["event"] as? String else {
            env.metrics.badInput("text_message")
            logger.info("ignored a text message that is not a Vonage event")
            return
        }
        switch event {
        case "websocket:dtmf":
            let digit = (json["digit"] as? String) ?? (json["digit"] as? NSNumber)?.stringValue ?? ""
            guard digit.count == 1, "0123456789*#ABCD".contains(digit) else {
                env.metrics.badInput("dtmf")
                logger.info("ignored an invalid DTMF event")
                return
            }
            call.stats.dtmf += 1
            call.events?.emit("dtmf", ["digit": digit])
            if digit == "#" {
                flushDTMF(call)
            } else {
                call.dtmf += digit
                call.dtmfDeadline = Self.now() + UInt64(config.call.dtmfTimeoutMs) * 1_000_000
            }
        case "websocket:cleared", "websocket:notify":
            logger.debug("vonage event", metadata: ["event": "\(event)"])
        default:
            logger.debug("unknown vonage event ignored", metadata: ["event": "\(event)"])
        }
    }

    private func flushDTMF(_ call: ActiveCall) {
        call.dtmfDeadline = 0
        guard !call.dtmf.isEmpty else { return }
        let digits = call.dtmf
        call.dtmf = ""
        logger.info("dtmf input", metadata: ["digits": "\(digits.count)"])
        enqueue(.text(digits), origin: "dtmf", call)
    }

    // MARK: - Lex

    private func enqueue(_ input: LexInput, origin: String, _ call: ActiveCall) {
        let limit = max(1, config.call.maxQueuedUtterances)
        if call.requests.count >= limit {
            let dropped = call.requests.removeFirst()
            env.metrics.utterance("dropped")
            logger.warning("Lex is busy and \(limit) inputs are queued; the oldest (\(dropped.origin)) was dropped")
            call.events?.emit("error", ["kind": "queue_overflow", "message": "an input was dropped because Lex was busy"])
        }
        call.requests.append((input, origin, Self.now()))
        sendNextRequest(call)
    }

    private func sendNextRequest(_ call: ActiveCall) {
        guard call.inFlight == nil, !call.requests.isEmpty, case .active = phase else { return }
        let next = call.requests.removeFirst()
        let request = LexRequest(target: route.target, region: call.params.region, input: next.input,
                                 sessionAttributes: call.sessionAttributes, requestAttributes: call.params.requestAttributes)
        call.inFlightSentAt = Self.now()
        call.inFlightSpeechEndedAt = next.origin == "speech" && call.inFlightSentAt &- next.queuedAt < 1_000_000 ? next.queuedAt : 0
        call.turnFirstFrameAt = 0
        call.inFlightOrigin = next.origin
        call.discardReply = false
        call.turnRecord = []
        if let r = call.replyResampler {
            r.reset()
            call.replySkipBytes = r.outputLatency * 2
        }
        let queue = env.pacer.loop.queue
        let api = route.api
        logger.debug("lex request", metadata: ["origin": "\(next.origin)", "queued_ms": "\((call.inFlightSentAt - next.queuedAt) / 1_000_000)"])
        call.inFlight = env.lexClient.send(
            request, credentials: call.params.credentials ?? AWSCredentials(accessKeyId: "", secretAccessKey: ""), callbackQueue: queue,
            onAudio: { [weak self] chunk in self?.lexAudio(chunk) },
            logger: logger,
            onComplete: { [weak self] result in self?.lexCompleted(result, api: api) })
    }

    private var activeCall: ActiveCall? {
        if case .active(let c) = phase { return c }
        return nil
    }

    private func lexAudio(_ chunk: [UInt8]) {
        guard let call = activeCall, !call.discardReply else { return }
        if env.recorder != nil { call.turnRecord += chunk }
        if let r = call.replyResampler {
            appendReply(r.process(littleEndian: chunk), call)
        } else {
            call.playback.append(chunk)
        }
        call.replyComplete = false
        startPlaybackIfReady(call)
    }

    /// Resampled reply audio, less the filter's leading delay.
    private func appendReply(_ bytes: [UInt8], _ call: ActiveCall) {
        if call.replySkipBytes >= bytes.count {
            call.replySkipBytes -= bytes.count
            return
        }
        call.playback.append(bytes[call.replySkipBytes...])
        call.replySkipBytes = 0
    }

    private func startPlaybackIfReady(_ call: ActiveCall) {
        guard !call.playing, call.playback.availableFrames > 0 else { return }
        call.playing = true
        let now = Self.now()
        if call.turnFirstFrameAt == 0 { call.turnFirstFrameAt = now }
        // The first frame goes out now; the rest on the pacer's ticks. Frame k is due at the
        // last tick + k × 20 ms, so frame 1 goes with the next tick: a first gap under 20 ms
        // instead of up to 40 (when playback started just after a tick).
        let tick = env.pacer.lastTick
        call.playbackStart = tick > 0 && now >= tick && now - tick < Pacer.frameNanoseconds ? tick : now
        call.framesSent = 0
        call.events?.emit("playback_started", [:])
        sendDueFrames(call, now: call.playbackStart)
    }

    /// The connector's own share of a turn's reaction times, on this process's clock: from the
    /// end of an utterance (queued at once, nothing in flight) to libcurl starting to send the
    /// request, and from the reply body's first bytes at the client thread to the first frame
    /// written to the caller (when the reply started from silence).
    private func recordReactionTimes(_ t: LexTransferStats, _ call: ActiveCall) {
        let speechEnd = call.inFlightSpeechEndedAt
        if t.attempts == 1, t.attemptStartedAt > 0, speechEnd > 0 {
            let requestAt = t.attemptStartedAt + UInt64(t.timeToRequest * 1e9)
            if requestAt >= speechEnd { env.metrics.speechToRequest.recordNanoseconds(Int64(requestAt - speechEnd)) }
        }
        if t.firstBodyBytesAt > 0, call.turnFirstFrameAt >= t.firstBodyBytesAt {
            env.metrics.replyToFirstFrame.recordNanoseconds(Int64(call.turnFirstFrameAt - t.firstBodyBytesAt))
        }
    }

    private func lexCompleted(_ result: Result<LexTurn, LexError>, api: String) {
        guard let call = activeCall else { return }
        call.inFlight = nil
        let elapsed = Self.now() - call.inFlightSentAt
        env.metrics.lexLatency.recordNanoseconds(Int64(elapsed))
        switch result {
        case .success(let turn):
            env.metrics.lexRequest(api: api, status: "\(turn.statusCode)")
            call.stats.lexTurns += 1
            if !turn.sessionAttributes.isEmpty { call.sessionAttributes = turn.sessionAttributes }
            logger.info("lex turn", metadata: [
                "transcript": "\(turn.inputTranscript ?? "")", "intent": "\(turn.intentName ?? "")",
                "dialog_state": "\(turn.dialogState ?? "")", "ms": "\(elapsed / 1_000_000)", "audio_bytes": "\(turn.audioByteCount)",
            ])
            var fields: [String: Any] = [
                "customer_transcript": turn.inputTranscript ?? "", "bot_transcript": turn.messageText,
                "intent": turn.intentName ?? "", "slots": turn.slots, "dialog_state": turn.dialogState ?? "",
                "latency_ms": elapsed / 1_000_000, "input": call.inFlightOrigin,
            ]
            if let mode = turn.inputMode { fields["input_mode"] = mode }
            call.events?.emit("lex_turn", fields)
            if env.recorder != nil, !call.turnRecord.isEmpty {
                env.recorder?.record(samples: PCM.samples(littleEndian: call.turnRecord), rate: 16000, call: id, kind: "reply")
            }
            if !call.discardReply {
                if let r = call.replyResampler { appendReply(PCM.littleEndianBytes(r.flush()), call) }
                call.playback.finish()
                call.replyComplete = true
                startPlaybackIfReady(call)
            }
            recordReactionTimes(turn.transfer, call)
            let close = turn.sessionAttributes["nexmo-close"].map { !["", "false", "0", "no"].contains($0.lowercased()) } ?? false
            if close || (config.call.closeOnFinal && turn.isFinal) {
                call.closeAfterPlayback = true
                logger.info("conversation over; closing after playback", metadata: ["by": "\(close ? "nexmo-close" : "final dialog state")"])
            }
        case .failure(.cancelled):
            return
        case .failure(let error):
            call.stats.lexErrors += 1
            let status: String
            if case .service(let s, _, _) = error { status = "\(s)" } else { status = "error" }
            env.metrics.lexRequest(api: api, status: status)
            env.metrics.error("lex")
            logger.error("lex request failed: \(error)")
            call.events?.emit("error", ["kind": "lex", "message": "\(error)", "retryable": error.isRetryable])
            if let prompt = env.fallbackPrompt(rate: call.params.sampleRate), !call.playing {
                call.playback.append(prompt)
                call.playback.finish()
                call.replyComplete = true
                startPlaybackIfReady(call)
            }
        }
        if call.replyComplete && !call.playing && call.playback.availableFrames == 0 { playbackFinished(call) }
        sendNextRequest(call)
    }

    // MARK: - Pacing (every 20 ms, from the loop's Pacer)

    func tick(now: UInt64) {
        switch phase {
        case .awaitingStart(_, _, let deadline):
            if now >= deadline {
                env.metrics.badInput("start_timeout")
                fail(.policyViolation, "no valid start message within \(config.call.startTimeoutMs) ms")
            }
        case .active(let call):
            if call.playing { sendDueFrames(call, now: now) }
            if call.dtmfDeadline != 0 && now >= call.dtmfDeadline { flushDTMF(call) }
            flushCounters(call)
            let idle = UInt64(config.call.idleTimeout) * 1_000_000_000
            if idle > 0 && now - call.lastInbound > idle {
                env.metrics.error("idle_timeout")
                close(.normal, "idle timeout: no audio for \(config.call.idleTimeout) s")
                return
            }
            let maxDuration = UInt64(config.call.maxDuration) * 1_000_000_000
            if maxDuration > 0 && now - call.startedAt > maxDuration {
                close(.normal, "maximum call duration reached")
            }
        case .ended:
            return
        }
    }

    /// Sends every frame due by `now`: frame k is due at playbackStart + k * 20 ms. Ticks come
    /// a little late or early against that grid (timer jitter); rounding to the nearest
    /// 20 ms keeps one frame per tick instead of none at one tick and two at the next.
    private func sendDueFrames(_ call: ActiveCall, now: UInt64) {
        guard let connection else { return }
        let due = Int((now - call.playbackStart + Pacer.frameNanoseconds / 2) / Pacer.frameNanoseconds) + 1
        var behind = due - call.framesSent
        if behind > 3 {
            // More than three frames late (a stalled loop): count them late and resume from now
            // instead of bursting.
            call.pendingLate += behind - 1
            call.playbackStart = now - UInt64(call.framesSent) * Pacer.frameNanoseconds
            behind = 1
        } else if behind > 1 {
            call.pendingLate += behind - 1
        }
        while behind > 0 {
            guard let frame = call.playback.nextFrame() else {
                if call.replyComplete {
                    playbackFinished(call)
                } else {
                    // Lex is slower than real time: restart the clock when more audio comes.
                    call.playing = false
                }
                return
            }
            connection.sendBinary(frame)
            call.framesSent += 1
            call.pendingFramesPlayed += 1
            behind -= 1
        }
        if call.playback.availableFrames == 0 && call.replyComplete && call.playback.queuedBytes == 0 {
            playbackFinished(call)
        }
    }

    private func playbackFinished(_ call: ActiveCall) {
        if call.playing {
            call.playing = false
            call.stats.framesPlayed += call.framesSent
            call.events?.emit("playback_finished", ["frames": call.framesSent])
        }
        if call.closeAfterPlayback && call.inFlight == nil && call.requests.isEmpty {
            close(.normal, "conversation ended")
        }
    }

    private func flushCounters(_ call: ActiveCall) {
        if call.pendingFramesPlayed > 0 { env.metrics.framesPlayed.increment(by: call.pendingFramesPlayed); call.pendingFramesPlayed = 0 }
        if call.pendingLate > 0 { env.metrics.framesLate.increment(by: call.pendingLate); call.pendingLate = 0 }
        if call.pendingReceived > 0 { env.metrics.framesReceived.increment(by: call.pendingReceived); call.pendingReceived = 0 }
    }

    // MARK: - Ending

    /// Sends an error text message, then closes with `code`.
    private func fail(_ code: WebSocketCloseCode, _ reason: String) {
        logger.warning("closing call: \(reason)", metadata: ["code": "\(code.rawValue)"])
        let json = (try? JSONSerialization.data(withJSONObject: ["event": "error", "reason": reason])).map { String(decoding: $0, as: UTF8.self) }
        if let json { connection?.sendText(json) }
        close(code, reason)
    }

    private func close(_ code: WebSocketCloseCode, _ reason: String) {
        connection?.close(code: code, reason: reason)
        // webSocketDidClose follows synchronously from close(); end() is idempotent.
        end(code: code, reason: reason, byPeer: false)
    }

    private func end(code: WebSocketCloseCode, reason: String, byPeer: Bool) {
        let previous = phase
        if case .ended = previous { return }
        phase = .ended
        if pacerRegistered { env.pacer.remove(self); pacerRegistered = false }
        env.metrics.callEnded()
        onEnd()
        if case .active(let call) = previous {
            call.inFlight?.cancel()
            call.inFlight = nil
            call.requests = []
            flushCounters(call)
            if call.playing { call.stats.framesPlayed += call.framesSent }
            let seconds = Double(Self.now() - call.startedAt) / 1e9
            logger.info("call ended", metadata: ["code": "\(code.rawValue)", "reason": "\(reason)", "by_peer": "\(byPeer)",
                                                 "seconds": "\(Int(seconds))", "utterances": "\(call.stats.utterances)",
                                                 "lex_turns": "\(call.stats.lexTurns)", "lex_errors": "\(call.stats.lexErrors)"])
            call.events?.emit("call_ended", [
                "code": Int(code.rawValue), "reason": reason, "by_caller": byPeer, "duration_s": seconds,
                "utterances": call.stats.utterances, "lex_turns": call.stats.lexTurns, "lex_errors": call.stats.lexErrors,
                "frames_played": call.stats.framesPlayed, "barge_ins": call.stats.bargeIns, "dtmf_digits": call.stats.dtmf,
            ])
        } else {
            logger.info("call ended before it started", metadata: ["code": "\(code.rawValue)", "reason": "\(reason)"])
        }
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
}

extension Duration {
    var milliseconds: Int {
        let (s, a) = components
        return Int(s) * 1000 + Int(a / 1_000_000_000_000_000)
    }
}
