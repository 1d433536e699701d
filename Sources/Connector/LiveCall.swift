import Audio
import Lex
import Logging

/// A call once its settings are known, of either kind: turn-based (`ActiveCall`) or streaming
/// (`StreamingCall`). What `CallStateMachine` needs of it to start it, hand it the inputs
/// both kinds take (the caller's audio and text, the pacing tick), and end it. The machine
/// calls these through generic functions on the concrete class (specialized: no existential,
/// no dynamic dispatch on the audio path).
protocol LiveCall: AnyObject {
    init(settings: CallSettings, api: LexAPI, startedAt: Instant, lastTick: Instant?, fallbackPrompt: [UInt8]?) throws(CallAudioError)
    /// Set when an input ends the call (`CallCore.ending`).
    var ending: CallEnd? { get }
    /// The machine's state while this call runs.
    var state: CallStateMachine.State { get }
    /// Added to the `call started` line's fields.
    static var startedMetadata: Logger.Metadata { get }

    /// The call just started, before the audio that came ahead of the start message.
    func begin(at now: Instant, _ actions: inout [CallAction])
    /// A BINARY message: 16-bit LE PCM at the call's rate.
    func receiveAudio(_ data: [UInt8], at now: Instant, _ actions: inout [CallAction])
    /// A TEXT message after the start: a Vonage event.
    func receiveText(_ text: String, at now: Instant, _ actions: inout [CallAction])
    /// The loop's pacing tick, every 20 ms.
    func tick(at now: Instant, _ actions: inout [CallAction])
    /// The call is over: let go of Lex, count, log and report it.
    func end(_ end: CallEnd, at now: Instant, _ actions: inout [CallAction])
}

/// An input both kinds of call take, as a value: `CallStateMachine` then chooses the kind of
/// call in one place (`drive`) for all of them. Built and taken apart within one inlined
/// input, so the audio path pays nothing for it.
enum CallInput {
    case audio([UInt8])
    case text(String)
    case tick
}

extension LiveCall {
    /// `input`, handed to the call's own method for it.
    @inline(__always)
    func take(_ input: CallInput, at now: Instant, _ actions: inout [CallAction]) {
        switch input {
        case .audio(let data): receiveAudio(data, at: now, &actions)
        case .text(let text): receiveText(text, at: now, &actions)
        case .tick: tick(at: now, &actions)
        }
    }
}

extension ActiveCall: LiveCall {
    var state: CallStateMachine.State { .active(self) }
    static var startedMetadata: Logger.Metadata { [:] }
}

extension StreamingCall: LiveCall {
    var state: CallStateMachine.State { .streaming(self) }
    static var startedMetadata: Logger.Metadata { ["mode": "streaming"] }

    /// Nothing to do: the welcome text is part of the stream's configuration event.
    func begin(at now: Instant, _ actions: inout [CallAction]) {}
}
