import Audio
import Lex

/// Streaming calls (the `/conversation` route): the machine's input that only a `StreamingCall`
/// takes (it starts in `CallStateMachine.begin`). The route chooses the kind of call; the
/// machine never sees the transport.
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
}
