/// Why a Lex request (or a webhook post) did not produce a turn.
///
/// Each case says what was wrong; `isRetryable` says whether the same request
/// may succeed when sent again (throttling, 5xx and connection failures), which
/// the client uses for its bounded retries.
public enum LexError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The request could not be built (bad id, region, sample rate...). Fix the
    /// caller's parameters; never retried.
    case invalidRequest(String)
    /// Lex answered with a non-2xx status. `type` is Lex's error type
    /// (`x-amzn-ErrorType` up to `:`, or `__type`/`code` from the body),
    /// `message` its message.
    case service(status: Int, type: String, message: String)
    /// A 2xx reply that cannot be used: a body that is not `audio/pcm`, or
    /// metadata headers that do not decode. Never handed on as audio.
    case unexpectedResponse(status: Int, contentType: String?, reason: String)
    /// No usable connection: DNS, connect, TLS, reset, truncated body.
    /// `code` is libcurl's CURLcode.
    case connection(code: Int, message: String)
    /// The connect timeout or the request's overall deadline passed.
    case timeout(String)
    /// `cancel()` was called.
    case cancelled
    /// The client was shut down before the request finished.
    case shutdown

    public var isRetryable: Bool {
        switch self {
        case .service(let status, let type, _):
            if status == 429 || (status >= 500 && status != 501) { return true }
            return ["ThrottlingException", "LimitExceededException", "InternalFailureException",
                    "ServiceUnavailableException"].contains(type)
        case .connection:
            return true
        case .timeout(let what):
            return what.hasPrefix("connect")
        case .invalidRequest, .unexpectedResponse, .cancelled, .shutdown:
            return false
        }
    }

    public var description: String {
        switch self {
        case .invalidRequest(let why):
            return "invalid Lex request: \(why)"
        case .service(let status, let type, let message):
            return "Lex replied \(status) \(type): \(message)" + Self.hint(status: status, type: type)
        case .unexpectedResponse(let status, let contentType, let reason):
            return "unusable Lex reply (status \(status), content type \(contentType ?? "none")): \(reason)"
        case .connection(let code, let message):
            return "could not reach Lex (curl error \(code)): \(message); check the endpoint, DNS and network"
        case .timeout(let what):
            return "Lex request timed out: \(what)"
        case .cancelled:
            return "Lex request cancelled"
        case .shutdown:
            return "Lex client shut down before the request finished"
        }
    }

    private static func hint(status: Int, type: String) -> String {
        switch status {
        case 403: return " (check aws_key, aws_secret, the session token and the clock)"
        case 404: return " (check the bot, alias, locale and region)"
        case 429: return " (throttled: lower the call rate or raise the Lex quota)"
        case 415: return " (the audio content type is not one Lex accepts)"
        default: return status >= 500 ? " (Lex-side failure; retried when possible)" : ""
        }
    }
}
