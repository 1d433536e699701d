import Foundation

/// What a stand-in answers, turn by turn: the replies queued by the test in order, else the rule
/// for what the caller said (text compared without case and surrounding whitespace), else the
/// default. The turn-based stand-in (`LexStandIn.Reply`) and the StartConversation one
/// (`ConversationReply`) each hold one, under their lock.
struct ReplyScript<Reply> {
    var defaultReply: Reply
    private var queued: [Reply] = []
    private var rules: [String: Reply] = [:]

    init(defaultReply: Reply) { self.defaultReply = defaultReply }

    /// `reply` for input equal to `text` (case and surrounding whitespace ignored).
    mutating func setRule(forText text: String, _ reply: Reply) { rules[Self.key(text)] = reply }

    /// Replies used in order, one per turn, before the rules and the default.
    mutating func enqueue(_ replies: [Reply]) { queued.append(contentsOf: replies) }

    /// The reply for a turn whose input was `text` (nil: none a rule can match): the first
    /// queued one (taken), else the rule for `text`, else the default.
    mutating func next(forText text: String?) -> Reply {
        if !queued.isEmpty { return queued.removeFirst() }
        if let text, let rule = rules[Self.key(text)] { return rule }
        return defaultReply
    }

    static func key(_ text: String) -> String {
        text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }
}
