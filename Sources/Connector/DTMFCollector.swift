import Audio

/// Collects DTMF digits into one Lex text input (README "What happens during a call"): the
/// digits so far go when `#` comes (the `#` itself is not sent) or when `timeout` passes
/// after the last digit.
struct DTMFCollector: Sendable, Equatable {
    let timeout: Duration
    private(set) var digits = ""
    /// When the collected digits go if no other key comes; nil when none are collected.
    private(set) var deadline: Instant?

    init(timeout: Duration) { self.timeout = timeout }

    /// The digits Vonage may send in `websocket:dtmf`.
    static let keys = "0123456789*#ABCD"

    /// A key pressed at `now`; returns the digits to send when it ends the input (`#` after
    /// at least one digit).
    mutating func press(_ key: Character, at now: Instant) -> String? {
        if key == "#" { return flush() }
        digits.append(key)
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
