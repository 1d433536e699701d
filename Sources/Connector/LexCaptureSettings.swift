import Foundation

/// How the next turn captures the caller's input, as the bot asks for it in its session
/// attributes (the `x-amz-lex` namespace that Amazon Connect and the Lex V2 streaming API
/// honour), so a bot built for Amazon Connect behaves the same on a Vonage number.
///
/// Source: Amazon Lex V2 Developer Guide, "Configuring timeouts for capturing user input"
/// (`session-attribs-speech`). A key is `x-amz-lex:<input type>:<behaviour>`, optionally
/// followed by `:<intent>:<slot>`, where either may be `*`. For the slot being elicited, the
/// most specific key wins:
///
///     name:<intent>:<slot>  >  name:<intent>:*  >  name:*:<slot>  >  name:*:*  >  name
///
/// | attribute | replaces | value |
/// |---|---|---|
/// | `x-amz-lex:audio:end-timeout-ms` | `silence_time` | ms of non-speech that end an utterance, 1 or more |
/// | `x-amz-lex:audio:max-length-ms` | `clip_max` | longest utterance, ms; above 15,000 (Lex's limit for one request) it is 15,000 |
/// | `x-amz-lex:audio:start-timeout-ms` | `[call] no_input_timeout_ms` | ms after a prompt has played with no speech before the no-input text goes to Lex (the call raises it to 1,000: `TurnCapture.minimumNoInputTimeout`) |
/// | `x-amz-lex:dtmf:end-character` | `#` | one of `0-9 * # A-D`: ends DTMF input at once |
/// | `x-amz-lex:dtmf:deletion-character` | none | one of `0-9 * # A-D`: clears the digits collected so far and ends the input (nothing is sent) |
/// | `x-amz-lex:dtmf:end-timeout-ms` | `[call] dtmf_timeout_ms` | ms of pause after the last digit that end DTMF input |
/// | `x-amz-lex:dtmf:max-length` | none | digits (1-1024) after which DTMF input ends at once |
/// | `x-amz-lex:allow-interrupt` | `barge_in` | `false` keeps the prompt playing whole while the caller speaks |
///
/// A value that does not parse (or is out of range) is ignored and named in `ignored`, so the
/// connector can log it once; the call's own setting then stays in force.
public struct LexCaptureSettings: Sendable, Equatable {
    public var endTimeoutMs: Int?
    public var maxLengthMs: Int?
    public var startTimeoutMs: Int?
    public var dtmfEndCharacter: Character?
    public var dtmfDeletionCharacter: Character?
    public var dtmfEndTimeoutMs: Int?
    public var dtmfMaxLength: Int?
    public var allowInterrupt: Bool?
    /// Attribute keys whose values were not valid, for one log line.
    public var ignored: [String] = []

    /// Lex accepts at most 15 s of speech in one RecognizeUtterance/PostContent request.
    public static let maxLengthLimitMs = 15_000
    static let dtmfCharacters = Set("0123456789*#ABCD")

    public init(endTimeoutMs: Int? = nil, maxLengthMs: Int? = nil, startTimeoutMs: Int? = nil,
                dtmfEndCharacter: Character? = nil, dtmfDeletionCharacter: Character? = nil,
                dtmfEndTimeoutMs: Int? = nil, dtmfMaxLength: Int? = nil, allowInterrupt: Bool? = nil) {
        self.endTimeoutMs = endTimeoutMs
        self.maxLengthMs = maxLengthMs
        self.startTimeoutMs = startTimeoutMs
        self.dtmfEndCharacter = dtmfEndCharacter
        self.dtmfDeletionCharacter = dtmfDeletionCharacter
        self.dtmfEndTimeoutMs = dtmfEndTimeoutMs
        self.dtmfMaxLength = dtmfMaxLength
        self.allowInterrupt = allowInterrupt
    }

    /// The settings for the next turn, from the session attributes of Lex's last response and
    /// the intent and slot it elicits (either may be nil: then only `*` and the bare name match).
    public init(sessionAttributes a: [String: String], intent: String?, slot: String?) {
        self.init()
        guard a.keys.contains(where: { $0.hasPrefix("x-amz-lex:") }) else { return }
        func lookup(_ name: String) -> (key: String, value: String)? {
            var keys: [String] = []
            if let intent, let slot { keys.append("\(name):\(intent):\(slot)") }
            if let intent { keys.append("\(name):\(intent):*") }
            if let slot { keys.append("\(name):*:\(slot)") }
            keys += ["\(name):*:*", name]
            for k in keys { if let v = a[k] { return (k, v.trimmingCharacters(in: .whitespaces)) } }
            return nil
        }
        var ignored: [String] = []
        func milliseconds(_ name: String, max: Int = Int(Int32.max)) -> Int? {
            guard let (key, value) = lookup(name) else { return nil }
            guard let n = Int(value), n >= 1 else { ignored.append(key); return nil }
            return min(n, max)
        }
        func character(_ name: String) -> Character? {
            guard let (key, value) = lookup(name) else { return nil }
            guard value.count == 1, let c = value.first, Self.dtmfCharacters.contains(c) else { ignored.append(key); return nil }
            return c
        }
        endTimeoutMs = milliseconds("x-amz-lex:audio:end-timeout-ms")
        maxLengthMs = milliseconds("x-amz-lex:audio:max-length-ms", max: Self.maxLengthLimitMs)
        startTimeoutMs = milliseconds("x-amz-lex:audio:start-timeout-ms")
        dtmfEndCharacter = character("x-amz-lex:dtmf:end-character")
        dtmfDeletionCharacter = character("x-amz-lex:dtmf:deletion-character")
        dtmfEndTimeoutMs = milliseconds("x-amz-lex:dtmf:end-timeout-ms")
        if let (key, value) = lookup("x-amz-lex:dtmf:max-length") {
            if let n = Int(value), (1...1024).contains(n) { dtmfMaxLength = n } else { ignored.append(key) }
        }
        if let (key, value) = lookup("x-amz-lex:allow-interrupt") {
            switch value.lowercased() {
            case "true": allowInterrupt = true
            case "false": allowInterrupt = false
            default: ignored.append(key)
            }
        }
        self.ignored = ignored
    }

    /// True when Lex asked for nothing (no valid `x-amz-lex` setting).
    public var isEmpty: Bool { self == LexCaptureSettings(ignored: ignored) }

    private init(ignored: [String]) {
        self.init()
        self.ignored = ignored
    }
}
