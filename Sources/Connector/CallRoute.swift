import Lex

/// The bot a WebSocket path names. Ids are checked against Lex's own patterns so a bad
/// path is refused at the upgrade (404 with the reason), not at the first Lex request.
public enum CallRoute: Sendable, Equatable {
    /// `/bot/{bot}/alias/{alias}/user/{user}/content` (Lex V1 PostContent, as before).
    case v1(bot: String, alias: String, user: String)
    /// `/bots/{botId}/botAliases/{aliasId}/botLocales/{localeId}/sessions/{sessionId}/utterance`
    /// (Lex V2 RecognizeUtterance).
    case v2(botId: String, aliasId: String, localeId: String, sessionId: String)
    /// `/bots/{botId}/botAliases/{aliasId}/botLocales/{localeId}/sessions/{sessionId}/conversation`
    /// (Lex V2 StartConversation: a streaming call, one event stream for the whole call).
    case v2Conversation(botId: String, aliasId: String, localeId: String, sessionId: String)

    public var target: LexTarget {
        switch self {
        case .v1(let b, let a, let u): return .v1(bot: b, alias: a, user: u)
        case .v2(let b, let a, let l, let s), .v2Conversation(let b, let a, let l, let s):
            return .v2(botId: b, aliasId: a, localeId: l, sessionId: s)
        }
    }

    public var api: LexAPI {
        switch self {
        case .v1: return .v1
        case .v2, .v2Conversation: return .v2
        }
    }

    /// The call streams to Lex (StartConversation) rather than sending one request per turn.
    public var isStreaming: Bool {
        if case .v2Conversation = self { return true }
        return false
    }

    /// The user (V1) or session (V2) id: the conversation's id at Lex.
    public var sessionId: String {
        switch self {
        case .v1(_, _, let u): return u
        case .v2(_, _, _, let s), .v2Conversation(_, _, _, let s): return s
        }
    }

    /// Parses a request path (query string already removed). The error says what is wrong.
    public static func parse<S: StringProtocol>(path: S) -> Result<CallRoute, RouteError> {
        let raw = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        var parts: [String] = []
        for p in raw {
            guard let decoded = percentDecode(p) else { return .failure(RouteError("path segment `\(p)` has invalid percent-encoding")) }
            parts.append(decoded)
        }
        if parts.count == 7, parts[0] == "bot", parts[2] == "alias", parts[4] == "user", parts[6] == "content" {
            let (bot, alias, user) = (parts[1], parts[3], parts[5])
            guard isV1Name(bot, length: 2...50) else {
                return .failure(RouteError("bot name must be 2-50 letters, single underscores between them"))
            }
            guard alias == "$LATEST" || isV1Name(alias, length: 1...100) else {
                return .failure(RouteError("bot alias must be 1-100 letters, single underscores between them, or $LATEST"))
            }
            guard isConversationId(user) else {
                return .failure(RouteError("user id must be 2-100 characters of [0-9a-zA-Z._:-]"))
            }
            return .success(.v1(bot: bot, alias: alias, user: user))
        }
        if parts.count == 9, parts[0] == "bots", parts[2] == "botAliases", parts[4] == "botLocales",
           parts[6] == "sessions", parts[8] == "utterance" || parts[8] == "conversation" {
            let (bot, alias, locale, session) = (parts[1], parts[3], parts[5], parts[7])
            guard bot.count == 10, bot.allSatisfy(isAlphanumeric) else {
                return .failure(RouteError("bot id must be 10 letters or digits"))
            }
            guard alias.count == 10, alias.allSatisfy(isAlphanumeric) else {
                return .failure(RouteError("bot alias id must be 10 letters or digits (TSTALIASID for the draft)"))
            }
            guard isLocale(locale) else {
                return .failure(RouteError("locale id must look like en_US or es_419"))
            }
            guard isConversationId(session) else {
                return .failure(RouteError("session id must be 2-100 characters of [0-9a-zA-Z._:-]"))
            }
            if parts[8] == "conversation" {
                return .success(.v2Conversation(botId: bot, aliasId: alias, localeId: locale, sessionId: session))
            }
            return .success(.v2(botId: bot, aliasId: alias, localeId: locale, sessionId: session))
        }
        return .failure(RouteError("no route: use /bots/{botId}/botAliases/{aliasId}/botLocales/{localeId}/sessions/{sessionId}/utterance (Lex V2, one request per turn), .../sessions/{sessionId}/conversation (Lex V2 streaming) or /bot/{bot}/alias/{alias}/user/{user}/content (Lex V1)"))
    }

    static func isAlphanumeric(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber) }

    static func isConversationId(_ s: String) -> Bool {
        (2...100).contains(s.count) && s.allSatisfy { isAlphanumeric($0) || $0 == "." || $0 == "_" || $0 == ":" || $0 == "-" }
    }

    /// `^([A-Za-z]_?)+$`: letters, each optionally followed by one underscore.
    static func isV1Name(_ s: String, length: ClosedRange<Int>) -> Bool {
        guard length.contains(s.count), let first = s.first, first.isASCII, first.isLetter else { return false }
        var previousUnderscore = false
        for c in s {
            if c == "_" {
                if previousUnderscore { return false }
                previousUnderscore = true
            } else if c.isASCII && c.isLetter {
                previousUnderscore = false
            } else {
                return false
            }
        }
        return true
    }

    static func isLocale(_ s: String) -> Bool {
        let p = s.split(separator: "_", omittingEmptySubsequences: false)
        guard p.count == 2 else { return false }
        return (2...3).contains(p[0].count) && p[0].allSatisfy { $0.isASCII && $0.isLowercase }
            && (2...3).contains(p[1].count) && p[1].allSatisfy { $0.isASCII && ($0.isUppercase || $0.isNumber) }
    }

    static func percentDecode<S: StringProtocol>(_ s: S) -> String? {
        guard s.contains("%") else { return String(s) }
        var out: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%") {
                guard it.count >= 2, let h = hex(it[it.startIndex]), let l = hex(it[it.startIndex + 1]) else { return nil }
                out.append(h << 4 | l)
                it = it.dropFirst(2)
            } else {
                out.append(b)
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case 48...57: return b - 48
        case 65...70: return b - 55
        case 97...102: return b - 87
        default: return nil
        }
    }
}

public struct RouteError: Error, Equatable, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
