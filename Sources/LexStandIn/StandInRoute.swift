import Foundation
import Lex

/// Which Lex operation a request path names, and HTTP wording (reason phrases, dates).
extension LexStandIn {
    // MARK: Routing

    enum Route {
        case lex(LexAPI, LexTarget)
        case webhook
        case unknown
    }

    static func decode(_ s: Substring) -> String {
        s.removingPercentEncoding ?? String(s)
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 400: return "Bad Request"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 406: return "Not Acceptable"
        case 415: return "Unsupported Media Type"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        default: return "Status"
        }
    }

    /// RFC 7231 IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), without a formatter.
    public static func httpDate(_ date: Date) -> String {
        let stamp = SigV4Date(date)
        let c = Array(stamp.amzDate.utf8)
        func text(_ r: Range<Int>) -> String { String(decoding: c[r], as: UTF8.self) }
        let days = Int((stamp.unixSeconds >= 0 ? stamp.unixSeconds : stamp.unixSeconds - 86_399) / 86_400)
        let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let month = (Int(text(4..<6)) ?? 1) - 1
        return "\(weekdays[((days % 7) + 7) % 7]), \(text(6..<8)) \(months[max(0, min(11, month))]) \(text(0..<4)) "
            + "\(text(9..<11)):\(text(11..<13)):\(text(13..<15)) GMT"
    }
}

extension LexStandIn.Route {
    init(method: String, path: String) {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if parts.first == "events" {
            self = .webhook
            return
        }
        let p = Array(parts)
        guard method == "POST" else {
            self = .unknown
            return
        }
        if p.count == 9, p[0] == "bots", p[2] == "botAliases", p[4] == "botLocales", p[6] == "sessions",
            p[8] == "utterance"
        {
            self = .lex(.v2, .v2(botId: LexStandIn.decode(p[1]), aliasId: LexStandIn.decode(p[3]),
                                 localeId: LexStandIn.decode(p[5]), sessionId: LexStandIn.decode(p[7])))
        } else if p.count == 7, p[0] == "bot", p[2] == "alias", p[4] == "user", p[6] == "content" {
            self = .lex(.v1, .v1(bot: LexStandIn.decode(p[1]), alias: LexStandIn.decode(p[3]),
                                 user: LexStandIn.decode(p[5])))
        } else {
            self = .unknown
        }
    }
}

final class WeakBox: @unchecked Sendable {
    weak var value: LexStandIn?
}
