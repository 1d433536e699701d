import Audio
import Foundation
import Lex
import Logging
import WebSocketServer

/// The fixed facts of one call, known when its WebSocket opens. A class, so that the machine
/// (stored inline in `CallSession`) holds one reference to them: the configuration alone is
/// several hundred bytes, and every input touches the machine's state, which then shares a
/// cache line or two with the session's other hot fields instead of sitting behind them.
final class CallContext: Sendable {
    let route: CallRoute
    let principal: Principal?
    let credentialStore: CredentialStore
    /// The configuration when the call arrived (a SIGHUP changes later calls, not this one).
    let configuration: LexmoConfiguration
    /// `[call] fallback_prompt`, played when a Lex request fails.
    let fallbackPrompt: FallbackPrompt?
    /// `[debug] record_dir` is set.
    let recording: Bool

    init(route: CallRoute, principal: Principal?, credentialStore: CredentialStore, configuration: LexmoConfiguration,
         fallbackPrompt: FallbackPrompt?, recording: Bool) {
        self.route = route
        self.principal = principal
        self.credentialStore = credentialStore
        self.configuration = configuration
        self.fallbackPrompt = fallbackPrompt
        self.recording = recording
    }
}

/// One phone call's behaviour, as a pure state machine: every input carries its time, and
/// returns what to do as `CallAction`s (in `actions`, in order), which `CallSession` runs.
/// No clock, no I/O: each input's result depends only on the inputs so far. Its active state
/// (`ActiveCall`) and the call's own VAD and resamplers are objects only it holds.
///
///     awaitingStart ──start message ok──▶ active ──close decided / socket closed──▶ ended
///           │ bad start message, start timeout, socket closed                    ▲
///           └────────────────────────────────────────────────────────────────────┘
///
/// `active` has two sides that run at the same time (the caller may speak while Lex answers
/// and while a reply plays), each an enum of its own in `ActiveCall`:
///
///     Lex:      idle ──input──▶ awaiting(turn, queue) ──completed, queue empty──▶ idle
///                                  │  ▲ input: queued (beyond max_queued_utterances the oldest goes)
///                                  └──┘ completed, queue not empty: the next input goes
///     playback: silent ──reply audio──▶ buffering ──a frame's worth──▶ playing(paced, streaming)
///               playing ──frames ran out, reply still streaming──▶ buffering
///               playing ──last frame, reply complete──▶ silent (+ close if the conversation is over)
///               any ──barge-in (the caller speaks, barge_in on)──▶ silent, the open turn's reply discarded
///
/// `nexmo-close` or a final dialog state (with `close_on_final`) marks the conversation over;
/// the call then closes with 1000 once playback is silent and Lex idle. The pacing tick also
/// ends the DTMF pause and checks the idle and maximum-duration timeouts.
///
/// Inputs that cannot happen (Lex input before the start or with no turn open) are a
/// precondition failure; inputs after the end are ignored.
struct CallStateMachine {
    enum State {
        /// Before a valid start message: audio is held (at most `HeldAudio.limit` bytes)
        /// until `deadline` (`[call] start_timeout_ms` after the socket opened).
        case awaitingStart(HeldAudio, deadline: Instant)
        case active(ActiveCall)
        /// A call on the `/conversation` route (`StreamingCall`, README "Streaming calls").
        case streaming(StreamingCall)
        case ended
    }

    let context: CallContext
    var state: State
    /// The actions of the inputs so far, oldest first; the shell runs and clears them.
    var actions: [CallAction] = []
    /// The last pacing tick (the loop's 20 ms grid), nil before the first.
    var lastTick: Instant?

    init(context: CallContext, openedAt now: Instant) {
        self.context = context
        state = .awaitingStart(HeldAudio(), deadline: now + context.configuration.call.startTimeout)
        actions.append(.count(.callStarted))
    }

    /// The actions so far, removed (for tests; the shell reads `actions` and calls `clearActions`).
    mutating func takeActions() -> [CallAction] {
        defer { actions.removeAll(keepingCapacity: true) }
        return actions
    }

    mutating func clearActions() { actions.removeAll(keepingCapacity: true) }

    var hasEnded: Bool {
        if case .ended = state { return true }
        return false
    }

    // MARK: - Inputs

    /// A TEXT message: the start message first, Vonage events after it.
    mutating func receiveText(_ text: String, at now: Instant) {
        switch state {
        case .awaitingStart(let held, _):
            switch StartParameters.parse(text, defaults: context.configuration) {
            case .failure(let error):
                actions.append(.count(.badInput(.startParameters)))
                failBeforeStart(.policyViolation, "invalid start message: \(error.reason)")
            case .success(let parameters):
                start(parameters, held: held, at: now)
            }
        case .active, .streaming, .ended:
            drive(.text(text), at: now)
        }
    }

    /// A BINARY message: 16-bit LE PCM at the call's rate.
    mutating func receiveAudio(_ data: [UInt8], at now: Instant) {
        switch state {
        case .awaitingStart(var held, let deadline):
            state = .ended  // (for a moment: so that `held` is not shared, and appending does not copy it)
            held.append(data)
            state = .awaitingStart(held, deadline: deadline)
        case .active, .streaming, .ended:
            drive(.audio(data), at: now)
        }
    }

    /// The loop's pacing tick, every 20 ms: frames due, the DTMF pause, the timeouts.
    mutating func tick(at now: Instant) {
        lastTick = now
        switch state {
        case .awaitingStart(_, let deadline):
            guard now >= deadline else { return }
            actions.append(.count(.badInput(.startTimeout)))
            failBeforeStart(.policyViolation, "no valid start message within \(context.configuration.call.startTimeout.milliseconds) ms")
        case .active, .streaming, .ended:
            drive(.tick, at: now)
        }
    }

    /// An input both kinds of call take, to the call of either kind, which then goes on or
    /// ends; after the end, nothing. Inlined into each input, so that `input` folds away.
    @inline(__always)
    private mutating func drive(_ input: CallInput, at now: Instant) {
        switch state {
        case .active(let call):
            call.take(input, at: now, &actions)
            settle(call, at: now)
        case .streaming(let call):
            call.take(input, at: now, &actions)
            settle(call, at: now)
        case .awaitingStart, .ended:
            return
        }
    }

    /// The open turn's reply began (Lex's response head: session attributes, intent, slot).
    mutating func lexReplyStarted(_ turn: LexTurn, at now: Instant) {
        switch state {
        case .active(let call):
            call.lexReplyStarted(turn)
            settle(call, at: now)
        case .ended:
            return
        case .awaitingStart, .streaming:
            preconditionFailure("Lex turn reply outside a turn-based call")
        }
    }

    /// The next bytes of the open turn's reply audio (16 kHz 16-bit LE PCM).
    mutating func lexAudio(_ chunk: [UInt8], at now: Instant) {
        switch state {
        case .active(let call):
            call.lexAudio(chunk, at: now, &actions)
            settle(call, at: now)
        case .ended:
            return
        case .awaitingStart, .streaming:
            preconditionFailure("Lex turn audio outside a turn-based call")
        }
    }

    /// The open turn completed: Lex's turn (its audio already came through `lexAudio`) or why not.
    mutating func lexCompleted(_ result: Result<LexTurn, LexError>, at now: Instant) {
        switch state {
        case .active(let call):
            call.lexCompleted(result, at: now, &actions)
            settle(call, at: now)
        case .ended:
            return
        case .awaitingStart, .streaming:
            preconditionFailure("Lex turn completion outside a turn-based call")
        }
    }

    /// The WebSocket closed (by the peer, or by the server: drain, protocol error, overflow).
    /// After a `.close` action this comes too, and is ignored.
    mutating func connectionClosed(code: WebSocketCloseCode, reason: String, byPeer: Bool, at now: Instant) {
        switch state {
        case .awaitingStart:
            endBeforeStart(code, reason)
        case .active(let call): finish(call, CallEnd(code: code, reason: reason, byPeer: byPeer, closeSocket: false), at: now)
        case .streaming(let call): finish(call, CallEnd(code: code, reason: reason, byPeer: byPeer, closeSocket: false), at: now)
        case .ended:
            return
        }
    }

    // MARK: - Start and end

    private mutating func start(_ parameters: StartParameters, held: HeldAudio, at now: Instant) {
        let settings: CallSettings
        do {
            settings = try CallSettings.resolve(parameters, principal: context.principal, credentialStore: context.credentialStore,
                                                configuration: context.configuration, recording: context.recording)
        } catch {
            actions.append(.count(.badInput(.credentials)))
            return failBeforeStart(.policyViolation, "invalid start message: \(error)")
        }
        if context.route.isStreaming {
            begin(StreamingCall.self, settings, held: held, at: now)
        } else {
            begin(ActiveCall.self, settings, held: held, at: now)
        }
    }

    /// Starts the call of the route's kind; the audio that came before the start message goes first.
    private mutating func begin<Call: LiveCall>(_: Call.Type, _ settings: CallSettings, held: HeldAudio, at now: Instant) {
        let call: Call
        do {
            call = try Call(settings: settings, api: context.route.api, startedAt: now, lastTick: lastTick,
                            fallbackPrompt: context.fallbackPrompt?.pcm(rate: settings.sampleRate))
        } catch {
            actions.append(.count(.badInput(.startParameters)))
            return failBeforeStart(.policyViolation, "invalid start message: \(error)")
        }
        actions.append(.started(settings))
        actions.append(.log(.info, "call started", Call.startedMetadata.merging(["params": "\(settings)"]) { _, new in new }))
        actions.append(.sendText("ok"))
        actions.append(.emit(.callStarted(CallStarted(rate: settings.sampleRate, api: context.route.api.rawValue, region: settings.region))))
        call.begin(at: now, &actions)
        for chunk in held.chunks where call.ending == nil {
            call.receiveAudio(chunk, at: now, &actions)
        }
        settle(call, at: now)
    }

    /// After an input: the call goes on, or ends as it decided.
    mutating func settle<Call: LiveCall>(_ call: Call, at now: Instant) {
        if let end = call.ending {
            finish(call, end, at: now)
        } else {
            state = call.state
        }
    }

    private mutating func finish<Call: LiveCall>(_ call: Call, _ end: CallEnd, at now: Instant) {
        if end.closeSocket { actions.append(.close(end.code, reason: end.reason)) }
        call.end(end, at: now, &actions)
        actions.append(.release)
        state = .ended
    }

    /// Sends an error event as text, then closes with `code`.
    mutating func failBeforeStart(_ code: WebSocketCloseCode, _ reason: String) {
        actions.append(.log(.warning, "closing call: \(reason)", ["code": "\(code.rawValue)"]))
        actions.append(.sendText(CallEnd.errorMessage(reason)))
        actions.append(.close(code, reason: reason))
        endBeforeStart(code, reason)
    }

    private mutating func endBeforeStart(_ code: WebSocketCloseCode, _ reason: String) {
        actions.append(.log(.info, "call ended before it started", ["code": "\(code.rawValue)", "reason": "\(reason)"]))
        actions.append(.release)
        state = .ended
    }
}

/// Audio that came before the start message: kept, oldest dropped beyond `limit` bytes.
struct HeldAudio: Sendable {
    /// One second of 24 kHz audio.
    static let limit = 48_000
    private(set) var chunks: [[UInt8]] = []
    private(set) var bytes = 0

    mutating func append(_ chunk: [UInt8]) {
        chunks.append(chunk)
        bytes += chunk.count
        while bytes > Self.limit, !chunks.isEmpty { bytes -= chunks.removeFirst().count }
    }
}

/// How and why a call ends.
struct CallEnd: Sendable, Equatable {
    var code: WebSocketCloseCode
    var reason: String
    /// The caller's side closed the socket.
    var byPeer: Bool
    /// The server closes the socket (a `.close` action); false when it is closed already.
    var closeSocket: Bool

    /// `{"event":"error","reason":...}`, the TEXT message sent before a close for bad input.
    static func errorMessage(_ reason: String) -> String {
        struct Message: Encodable { var event = "error"; var reason: String }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(Message(reason: reason))).map { String(decoding: $0, as: UTF8.self) } ?? #"{"event":"error"}"#
    }
}
