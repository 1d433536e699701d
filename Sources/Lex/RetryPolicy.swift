/// When to send a failed request again, and after how long. Pure: the caller passes the
/// attempt number, what went wrong, the time left before the request's deadline and a
/// uniform random sample; the policy returns a delay or says to give up. Used by `LexClient`
/// for Lex requests and by the connector's webhook posts alike.
///
/// For failed attempt `n` (1 after the first attempt failed), with `u` uniform in [0, 1]:
///
///     backoff(n)  = u × min(cap, base × 2^(n-1))                   ("full jitter")
///     delay(n)    = max(backoff(n), Retry-After)                    (Retry-After on 429 and 503 only)
///     decision    = giveUp          when the failure is not retryable, or n ≥ maxAttempts,
///                                   or delay(n) ≥ the time left before the deadline;
///                   retry(delay)    otherwise
///
/// `base` and `cap` depend on the kind of failure:
/// - throttling (status 429, or the service error code `ThrottlingException`,
///   `LimitExceededException`, `TooManyRequestsException`, `ThrottledException`,
///   `RequestLimitExceeded`...): `throttlingBaseDelay` 1 s and `throttlingMaxDelay` 20 s, the
///   base and the `MAX_BACKOFF` of the AWS SDKs' standard retry mode (AWS SDKs and Tools
///   Reference Guide, "Retry behavior": `t_i = min(b × 2^i, MAX_BACKOFF)`, `b` random in
///   [0, 1] s, `MAX_BACKOFF` 20 s; its throttling errors get the 1 s base);
/// - other retryable failures (5xx, connection failures, connect timeouts): `baseDelay`
///   0.1 s and `maxDelay` 1 s.
///
/// `Retry-After` (RFC 9110 §10.2.3) is delta-seconds (`"1"`) or an HTTP-date (compared with
/// `now`); it is honoured on 429 and 503 and ignored on other statuses. A wait that would pass
/// the deadline is not started: the caller gives up at once with the last error, so retries
/// never take a request past its deadline and the caller hears of the failure once.
///
/// Delays with the defaults (seconds; "u" is the random sample):
///
///     failed attempt n      1         2         3         4         5         6 and on
///     other retryable       u × 0.1   u × 0.2   u × 0.4   u × 0.8   u × 1     u × 1
///     throttling            u × 1     u × 2     u × 4     u × 8     u × 16    u × 20
///     429 Retry-After: 1    max(1, throttling row)
///     503 Retry-After: 2    max(2, other-retryable row)
///
/// With the default 3 attempts only the columns 1 and 2 are used.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts per request, the first included (1 = never retry).
    public var maxAttempts: Int = 3
    /// Full-jitter base and cap for retryable failures other than throttling, in seconds.
    public var baseDelay: Double = 0.1
    public var maxDelay: Double = 1
    /// Full-jitter base and cap for throttling, in seconds (the AWS SDKs' standard mode).
    public var throttlingBaseDelay: Double = 1
    public var throttlingMaxDelay: Double = 20

    public init() {}

    public init(maxAttempts: Int, baseDelay: Double = 0.1, maxDelay: Double = 1,
                throttlingBaseDelay: Double = 1, throttlingMaxDelay: Double = 20) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.throttlingBaseDelay = throttlingBaseDelay
        self.throttlingMaxDelay = throttlingMaxDelay
    }

    /// What went wrong with one attempt, as far as the policy needs to know.
    public struct Failure: Sendable, Hashable {
        /// Whether sending the same request again may succeed (the caller's classification:
        /// `LexError.isRetryable`, or the webhook's own rule).
        public var isRetryable: Bool
        /// The HTTP status, nil when no response arrived (connection failure, timeout).
        public var status: Int?
        /// The service's error code (`x-amzn-ErrorType` up to `:`), if any.
        public var errorCode: String?
        /// The `Retry-After` header as received, if any.
        public var retryAfter: String?

        public init(isRetryable: Bool, status: Int? = nil, errorCode: String? = nil, retryAfter: String? = nil) {
            self.isRetryable = isRetryable
            self.status = status
            self.errorCode = errorCode
            self.retryAfter = retryAfter
        }

        /// 429, or a throttling error code of the AWS services.
        public var isThrottling: Bool {
            status == 429 || errorCode.map(RetryPolicy.throttlingErrorCodes.contains) == true
        }
    }

    public enum Decision: Sendable, Hashable {
        /// Send the request again after this many seconds.
        case retry(after: Double)
        /// Report the last error now.
        case giveUp(GiveUpReason)
    }

    public enum GiveUpReason: Sendable, Hashable {
        case notRetryable
        case attemptsExhausted
        /// The wait (seconds) would reach or pass the deadline.
        case deadline(wait: Double)
    }

    /// Error codes the AWS services use for throttling (the SDKs' standard-mode list, plus
    /// Lex's `LimitExceededException`).
    public static let throttlingErrorCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
        "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
    ]

    /// The decision after failed attempt `attempt` (1-based). `remaining` is the time left
    /// before the request's deadline and `now` the wall-clock time (for an HTTP-date
    /// `Retry-After`), both in seconds; `random` is a uniform sample in [0, 1].
    public func decide(attempt: Int, failure: Failure, remaining: Double, now: Double, random: Double) -> Decision {
        guard failure.isRetryable else { return .giveUp(.notRetryable) }
        guard attempt < maxAttempts else { return .giveUp(.attemptsExhausted) }
        let throttled = failure.isThrottling
        let base = throttled ? throttlingBaseDelay : baseDelay
        let cap = throttled ? throttlingMaxDelay : maxDelay
        let exponent = Double(1 << min(max(attempt - 1, 0), 30))
        var delay = min(max(random, 0), 1) * max(0, min(cap, base * exponent))
        if let status = failure.status, status == 429 || status == 503,
           let header = failure.retryAfter, let asked = Self.retryAfterSeconds(header, now: now) {
            delay = max(delay, asked)
        }
        guard delay < remaining else { return .giveUp(.deadline(wait: delay)) }
        return .retry(after: delay)
    }

    /// `Retry-After` in seconds from `now` (Unix seconds): delta-seconds, or an HTTP-date
    /// (IMF-fixdate, RFC 850 or asctime, RFC 9110 §5.6.7) less `now`, at least 0. Nil when
    /// the value is neither.
    public static func retryAfterSeconds(_ value: String, now: Double) -> Double? {
        let text = value.trimmingASCIIWhitespace()
        if !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            return Double(text.prefix(10)).map { min($0, 1e9) }
        }
        guard let date = HTTPDate.unixSeconds(text, now: now) else { return nil }
        return max(0, Double(date) - now)
    }
}

/// RFC 9110 §5.6.7 HTTP-date parsing: `Sun, 06 Nov 1994 08:49:37 GMT` (IMF-fixdate),
/// `Sunday, 06-Nov-94 08:49:37 GMT` (RFC 850) and `Sun Nov  6 08:49:37 1994` (asctime).
enum HTTPDate {
    static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// Unix seconds, or nil when `text` is not an HTTP-date. `now` (Unix seconds) places an
    /// RFC 850 two-digit year: not more than 50 years ahead of now (RFC 9110 §5.6.7).
    static func unixSeconds(_ text: String, now: Double) -> Int64? {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "," }).map { $0.lowercased() }
        var day: Int64?, month: Int64?, year: Int64?, time: [Int64]?
        switch words.count {
        case 6 where words[5] == "gmt":
            // IMF-fixdate: weekday, day month year time GMT
            day = Int64(words[1])
            month = months.firstIndex(of: words[2]).map { Int64($0) + 1 }
            year = Int64(words[3])
            time = clock(words[4])
        case 5:
            // asctime: weekday month day time year
            month = months.firstIndex(of: words[1]).map { Int64($0) + 1 }
            day = Int64(words[2])
            time = clock(words[3])
            year = Int64(words[4])
        case 4 where words[3] == "gmt":
            // RFC 850: weekday, dd-mon-yy time GMT
            let parts = words[1].split(separator: "-")
            guard parts.count == 3 else { return nil }
            day = Int64(parts[0])
            month = months.firstIndex(of: String(parts[1])).map { Int64($0) + 1 }
            year = Int64(parts[2]).map { $0 < 100 ? fullYear(twoDigits: $0, now: now) : $0 }
            time = clock(words[2])
        default:
            return nil
        }
        // Four-digit years only (RFC 9110's `year = 4DIGIT`): a longer one from a hostile peer
        // would overflow the day arithmetic.
        guard let d = day, let m = month, let y = year, let t = time, (1...31).contains(d), (1970...9999).contains(y) else { return nil }
        return SigV4Date.days(fromCivil: y, m, d) * 86_400 + t[0] * 3600 + t[1] * 60 + t[2]
    }

    /// The year ending in `yy` that is not more than 50 years after now's year.
    static func fullYear(twoDigits yy: Int64, now: Double) -> Int64 {
        let nowYear = Int64(SigV4Date(unixSeconds: Int64(now)).amzDate.prefix(4)) ?? 2000
        let year = nowYear - nowYear % 100 + yy
        return year > nowYear + 50 ? year - 100 : year
    }

    private static func clock(_ word: String) -> [Int64]? {
        let parts = word.split(separator: ":").compactMap { Int64($0) }
        guard parts.count == 3, (0..<24).contains(parts[0]), (0..<60).contains(parts[1]), (0..<61).contains(parts[2]) else { return nil }
        return parts
    }
}
