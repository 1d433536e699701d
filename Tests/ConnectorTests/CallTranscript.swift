import Audio
import Foundation
import Lex
@testable import Connector

/// Drives a `CallStateMachine` in virtual time, no sockets: inputs in, its actions out as
/// short lines (`text ok`, `frame`, `lex text 42`, `event dtmf`, `close 1000 ...`). Logs and
/// counts are left out of the lines (`counts` keeps the counts).
struct CallTranscript {
    var machine: CallStateMachine
    /// The virtual clock: starts at 1000 s, moves only when the test says.
    private(set) var now = Instant(nanoseconds: 1_000_000_000_000)
    /// Every count action, in order.
    private(set) var counts: [CallMetric] = []
    /// Every action, in order (for checks the lines do not show).
    private(set) var all: [CallAction] = []
    let rate: Int

    static let route = CallRoute.v2(botId: "ABCDEFGHIJ", aliasId: "TSTALIASID", localeId: "en_US", sessionId: "caller-1")

    /// A call whose socket just opened; `configure` changes the server's configuration.
    init(rate: Int = 16000, prompt: FallbackPrompt? = nil, route: CallRoute = Self.route,
         configure: (inout LexmoConfiguration) -> Void = { _ in }) {
        var config = LexmoConfiguration()
        configure(&config)
        self.rate = rate
        machine = CallStateMachine(
            context: CallContext(route: route, principal: nil, credentialStore: CredentialStore(), configuration: config,
                                 fallbackPrompt: prompt, recording: false),
            openedAt: Instant(nanoseconds: 1_000_000_000_000))
        _ = take()
    }

    static func startMessage(rate: Int = 16000, _ extra: [String: Any] = [:]) -> String {
        var json: [String: Any] = ["event": "websocket:connected", "content-type": "audio/l16;rate=\(rate)",
                                   "aws_key": "AKIDEXAMPLE", "aws_secret": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"]
        for (k, v) in extra { json[k] = v }
        return String(decoding: try! JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]), as: UTF8.self)
    }

    /// Sends the start message (rate, test credentials, `extra` fields).
    mutating func start(_ extra: [String: Any] = [:]) -> [String] {
        text(Self.startMessage(rate: rate, extra))
    }

    mutating func text(_ s: String) -> [String] {
        machine.receiveText(s, at: now)
        return take()
    }

    mutating func dtmf(_ digit: String) -> [String] {
        text(#"{"event":"websocket:dtmf","digit":"\#(digit)","duration":260}"#)
    }

    mutating func audio(_ bytes: [UInt8]) -> [String] {
        machine.receiveAudio(bytes, at: now)
        return take()
    }

    /// Moves the clock on by `ms` in 20 ms steps: a pacing tick at each step, and one frame of
    /// `pcm` (then silence, when `silence`) 5 ms after it, as Vonage sends them.
    mutating func run(ms: Int, pcm: [UInt8] = [], silence: Bool = false) -> [String] {
        var lines: [String] = []
        let frameBytes = rate / 50 * 2
        var offset = 0
        for _ in 0..<(ms / 20) {
            now = now + .milliseconds(20)
            machine.tick(at: now)
            lines += take()
            if offset < pcm.count || silence {
                var frame = offset < pcm.count ? Array(pcm[offset..<min(offset + frameBytes, pcm.count)]) : []
                frame += [UInt8](repeating: 0, count: frameBytes - frame.count)
                offset += frameBytes
                now = now + .milliseconds(5)
                machine.receiveAudio(frame, at: now)
                lines += take()
                now = now - .milliseconds(5)
            }
        }
        return lines
    }

    /// Moves the clock on without a tick (time between ticks, or a stalled loop).
    mutating func advance(ms: Int) {
        now = now + .milliseconds(ms)
    }

    /// A pacing tick now.
    mutating func tick() -> [String] {
        machine.tick(at: now)
        return take()
    }

    /// Lex's response head arriving (the turn's metadata, before its audio).
    mutating func lexStarted(_ turn: LexTurn) -> [String] {
        machine.lexReplyStarted(turn, at: now)
        return take()
    }

    /// Lex's reply audio arriving (16 kHz PCM).
    mutating func lexAudio(_ bytes: [UInt8]) -> [String] {
        machine.lexAudio(bytes, at: now)
        return take()
    }

    mutating func lexCompleted(_ result: Result<LexTurn, LexError>) -> [String] {
        machine.lexCompleted(result, at: now)
        return take()
    }

    /// A whole reply at once: `ms` of tone, then the turn.
    mutating func lexReply(ms: Int, _ turn: LexTurn = CallTranscript.turn()) -> [String] {
        lexAudio(Self.tone(ms: ms)) + lexCompleted(.success(turn))
    }

    /// An event of a streaming call's Lex stream.
    mutating func lexStream(_ input: LexStreamInput) -> [String] {
        machine.lexStream(input, at: now)
        return take()
    }

    mutating func peerCloses() -> [String] {
        machine.connectionClosed(code: .normal, reason: "", byPeer: true, at: now)
        return take()
    }

    static func turn(_ message: String = "OK.", sessionAttributes: [String: String] = [:], final: Bool = false) -> LexTurn {
        var t = LexTurn(api: .v2)
        t.messages = [LexMessage(content: message)]
        t.sessionAttributes = sessionAttributes
        t.isFinal = final
        t.dialogState = final ? "Close" : "ElicitIntent"
        return t
    }

    /// `ms` of a 440 Hz tone, 16 kHz 16-bit LE (Lex's reply format).
    static func tone(ms: Int) -> [UInt8] {
        PCM.littleEndianBytes((0..<(16 * ms)).map { Int16(8000 * sin(Double($0) * 2 * .pi * 440 / 16000)) })
    }

    /// The events emitted so far, by name.
    var eventNames: [String] {
        all.compactMap { if case .emit(let e) = $0 { e.name } else { nil } }
    }

    private mutating func take() -> [String] {
        let actions = machine.takeActions()
        all += actions
        return actions.compactMap { action in
            switch action {
            case .started: return "started"
            case .sendText(let t): return "text \(t)"
            case .sendFrame: return "frame"
            case .sendToLex(.text(let s), _): return "lex text \(s)"
            case .sendToLex(.audio(_, let rate), _): return "lex audio \(rate)"
            case .cancelLex: return "cancel lex"
            case .streamAudio(let pcm): return "stream audio \(pcm.count)"
            case .streamDTMF(let d): return "stream dtmf \(d)"
            case .streamPlaybackCompleted: return "stream playback completed"
            case .reopenStream: return "stream reopen"
            case .endStream: return "stream end"
            case .emit(let e): return "event \(e.name)"
            case .count(let m): counts.append(m); return nil
            case .record(_, _, let kind): return "record \(kind.rawValue)"
            case .log: return nil
            case .close(let code, let reason): return "close \(code.rawValue) \(reason)"
            case .release: return "release"
            }
        }
    }
}

extension Array where Element == String {
    /// Runs of `frame` as one `frame×N` line: a transcript that reads.
    var compacted: [String] {
        var out: [String] = []
        var run = 0
        func flush() { if run > 0 { out.append(run == 1 ? "frame" : "frame×\(run)"); run = 0 } }
        for line in self {
            if line == "frame" { run += 1 } else { flush(); out.append(line) }
        }
        flush()
        return out
    }

    var frames: Int { filter { $0 == "frame" }.count }
}

enum Speech {
    /// "yes" from the clean 16 kHz fixture, with 300 ms before it and 500 ms after.
    static func yes() throws -> [UInt8] { try Fixture.slice("speech16-clean.wav", from: 16000 - 4800, to: 22560 + 8000) }
    /// "yes" with 200 ms before it and 100 ms after: the utterance has not ended yet.
    static func yesCut() throws -> [UInt8] { try Fixture.slice("speech16-clean.wav", from: 16000 - 3200, to: 22560 + 1600) }
}
