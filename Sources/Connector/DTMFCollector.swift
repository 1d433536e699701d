import Audio

/// Collects DTMF digits into one Lex text input (README "What happens during a call"): the
/// digits so far go when the end character comes (`#` unless Lex's
/// `x-amz-lex:dtmf:end-character` names another; it is not sent itself), when `maxLength`
/// digits are in, or when `timeout` passes after the last digit; the deletion character, when
/// Lex names one, clears the digits so far and ends the input with nothing sent (Lex V2
/// `DTMFSpecification`). `apply` sets the rules for the next turn.
struct DTMFCollector: Sendable, Equatable {
    /// `[call] dtmf_timeout_ms`: the pause that ends input when Lex sets none.
    let defaultTimeout: Duration
    /// The pause after the last digit that ends the input.
    private(set) var timeout: Duration
    private(set) var endCharacter: Character = "#"
    private(set) var deletionCharacter: Character?
    /// Digits after which the input ends at once; nil: no limit.
    private(set) var maxLength: Int?
    private(set) var digits = ""
    /// When the collected digits go if no other key comes; nil when none are collected.
    private(set) var deadline: Instant?

    init(timeout: Duration) {
        defaultTimeout = timeout
        self.timeout = timeout
    }

    /// The most digits in one input: Lex's limit for a text input (1024 characters; also the
    /// largest `x-amz-lex:dtmf:max-length`), so a flood of digits never builds a longer one.
    static let maxDigits = 1024

    /// The digits Vonage may send in `websocket:dtmf`.
    static let keys = "0123456789*#ABCD"

    /// Whether a `websocket:dtmf` event's `digit` is one key of `keys`.
    static func isKey(_ digit: String) -> Bool {
        digit.count == 1 && digit.first.map { keys.contains($0) } == true
    }

    /// The rules for the turn that follows a Lex reply (nil: the call's own); digits already
    /// collected stay.
    mutating func apply(_ capture: LexCaptureSettings) {
        endCharacter = capture.dtmfEndCharacter ?? "#"
        deletionCharacter = capture.dtmfDeletionCharacter
        timeout = capture.dtmfEndTimeoutMs.map { .milliseconds($0) } ?? defaultTimeout
        maxLength = capture.dtmfMaxLength
    }

    /// A key pressed at `now`; returns the digits to send when it ends the input (the end
    /// character after at least one digit, or the digit that reaches `maxLength`).
    mutating func press(_ key: Character, at now: Instant) -> String? {
        if key == endCharacter { return flush() }
        if key == deletionCharacter {
            digits = ""
            deadline = nil
            return nil
        }
        digits.append(key)
        if digits.count >= min(maxLength ?? Self.maxDigits, Self.maxDigits) { return flush() }
        deadline = now + timeout
        return nil
    }

    /// The digits to send when the pause after the last one has passed by `now`.
    mutating func expire(at now: Instant) -> String? {
        guard let d = deadline, now >= d else { return nil }
        return flush()
    }

    private mutating func flush() -> String? {
        deadline = nil
        guard !digits.isEmpty else { return nil }
        defer { digits = "" }
        return digits
    }
}
