import Audio
import Lex

/// Caller inputs waiting for Lex while a turn is open: first in, first out, at most `limit`.
/// A new input beyond the limit drops the oldest (README "What happens during a call":
/// nothing is dropped silently; the caller counts, logs and reports what `append` returns).
struct TurnQueue: Sendable {
    /// One caller input and when it was queued.
    struct Entry: Sendable, Equatable {
        var input: LexInput
        var origin: TurnOrigin
        var queuedAt: Instant
    }

    let limit: Int
    private(set) var entries: [Entry] = []

    /// `limit` below 1 counts as 1.
    init(limit: Int) { self.limit = max(1, limit) }

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    /// Queues `entry`; returns the oldest entry when it had to go to make room.
    mutating func append(_ entry: Entry) -> Entry? {
        var dropped: Entry?
        if entries.count >= limit { dropped = entries.removeFirst() }
        entries.append(entry)
        return dropped
    }

    /// The oldest entry, removed.
    mutating func popFirst() -> Entry? {
        entries.isEmpty ? nil : entries.removeFirst()
    }

    mutating func removeAll() { entries.removeAll() }
}

/// Where a Lex input came from (the `lex_turn` event's `input`).
enum TurnOrigin: String, Sendable {
    case speech, dtmf, welcome
    /// `[call] no_input_text`, sent when the caller said nothing after a prompt.
    case noInput = "no_input"
}
