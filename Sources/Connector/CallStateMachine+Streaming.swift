import Audio
import Lex

/// Streaming calls (the `/conversation` route): the machine's inputs and start for a
/// `StreamingCall`. The route chooses the kind of call; the machine never sees the transport.
///
///     awaitingStart ──start message ok, /conversation──▶ streaming ──close decided / socket closed──▶ ended
extension CallStateMachine {
    /// An event of the call's StartConversation stream (`LexStreamInput`), on the call's loop.
    mutating func lexStream(_ input: LexStreamInput, at now: Instant) {
        switch state {
        case .streaming(let call):
            call.lexStream(input, at: now, &actions)
            settle(call, at: now)
        case .ended:
            return
        case .awaitingStart, .active:
            preconditionFailure("Lex stream input outside a streaming call")
        }
    }

    mutating func startStreaming(_ settings: CallSettings, held: HeldAudio, at now: Instant) {
        let call: StreamingCall
        do {
            call = try StreamingCall(settings: settings, api: context.route.api, startedAt: now, lastTick: lastTick,
                                     fallbackPrompt: context.fallbackPrompt?.pcm(rate: settings.sampleRate))
        } catch {
            actions.append(.count(.badInput(.startParameters)))
            return failBeforeStart(.policyViolation, "invalid start message: \(error)")
        }
        actions.append(.started(settings))
        actions.append(.log(.info, "call started", ["params": "\(settings)", "mode": "streaming"]))
        actions.append(.sendText("ok"))
        actions.append(.emit(.callStarted(CallStarted(rate: settings.sampleRate, api: context.route.api.rawValue, region: settings.region))))
        for chunk in held.chunks where call.ending == nil {
            call.receiveAudio(chunk, at: now, &actions)
        }
        settle(call, at: now)
    }

    mutating func settle(_ call: StreamingCall, at now: Instant) {
        if let end = call.ending {
            finish(call, end, at: now)
        } else {
            state = .streaming(call)
        }
    }

    mutating func finish(_ call: StreamingCall, _ end: CallEnd, at now: Instant) {
        if end.closeSocket { actions.append(.close(end.code, reason: end.reason)) }
        call.end(end, at: now, &actions)
        actions.append(.release)
        state = .ended
    }
}
