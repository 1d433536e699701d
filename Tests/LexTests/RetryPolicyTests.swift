import Dispatch
import Foundation
import Testing
@testable import Lex
import LexStandIn
import Logging

/// The retry policy as a table: failed attempt, what failed, time left, random sample in;
/// decision out. Default policy (3 attempts; other failures 0.1 s base, 1 s cap; throttling
/// 1 s base, 20 s cap) unless the row says otherwise.
@Suite("Retry policy")
struct RetryPolicyTests {
    struct Row: CustomTestStringConvertible, Sendable {
        var name: String
        var policy = RetryPolicy()
        var attempt: Int
        var failure: RetryPolicy.Failure
        var remaining: Double = 15
        var random: Double
        var expected: RetryPolicy.Decision
        var testDescription: String { name }
    }

    static let now = 1_700_000_000.0
    static let ten = RetryPolicy(maxAttempts: 10)

    static let rows: [Row] = [
        Row(name: "403 is not retryable", attempt: 1,
            failure: .init(isRetryable: false, status: 403, errorCode: "AccessDeniedException"), random: 1,
            expected: .giveUp(.notRetryable)),
        Row(name: "the third failure of three attempts ends it", attempt: 3,
            failure: .init(isRetryable: true, status: 500), random: 1, expected: .giveUp(.attemptsExhausted)),
        Row(name: "500, first failure, u = 1: 0.1 s", attempt: 1,
            failure: .init(isRetryable: true, status: 500), random: 1, expected: .retry(after: 0.1)),
        Row(name: "500, second failure, u = 0.5: 0.1 s", attempt: 2,
            failure: .init(isRetryable: true, status: 500), random: 0.5, expected: .retry(after: 0.1)),
        Row(name: "connection failure, fifth failure, u = 1: capped at 1 s", policy: ten, attempt: 5,
            failure: .init(isRetryable: true), random: 1, expected: .retry(after: 1)),
        Row(name: "500, u = 0: at once", attempt: 1,
            failure: .init(isRetryable: true, status: 500), random: 0, expected: .retry(after: 0)),
        Row(name: "429, first failure, u = 1: 1 s (SDK standard mode base)", attempt: 1,
            failure: .init(isRetryable: true, status: 429), random: 1, expected: .retry(after: 1)),
        Row(name: "ThrottlingException on a 400, second failure, u = 1: 2 s", attempt: 2,
            failure: .init(isRetryable: true, status: 400, errorCode: "ThrottlingException"), random: 1,
            expected: .retry(after: 2)),
        Row(name: "LimitExceededException, sixth failure, u = 1: capped at 20 s", policy: ten, attempt: 6,
            failure: .init(isRetryable: true, status: 429, errorCode: "LimitExceededException"), remaining: 60,
            random: 1, expected: .retry(after: 20)),
        Row(name: "TooManyRequestsException, fourth failure, u = 0.25: 2 s", policy: ten, attempt: 4,
            failure: .init(isRetryable: true, status: 429, errorCode: "TooManyRequestsException"), random: 0.25,
            expected: .retry(after: 2)),
        Row(name: "429 Retry-After: 1, u = 0: waits the 1 s asked", attempt: 1,
            failure: .init(isRetryable: true, status: 429, errorCode: "LimitExceededException", retryAfter: "1"),
            random: 0, expected: .retry(after: 1)),
        Row(name: "429 Retry-After: 1, second failure, u = 1: the longer backoff, 2 s", attempt: 2,
            failure: .init(isRetryable: true, status: 429, retryAfter: "1"), random: 1, expected: .retry(after: 2)),
        Row(name: "503 Retry-After: 3: 3 s", attempt: 1,
            failure: .init(isRetryable: true, status: 503, retryAfter: "3"), random: 1, expected: .retry(after: 3)),
        Row(name: "500 Retry-After: 3 is ignored (429 and 503 only)", attempt: 1,
            failure: .init(isRetryable: true, status: 500, retryAfter: "3"), random: 1, expected: .retry(after: 0.1)),
        Row(name: "429 Retry-After as an HTTP-date 5 s ahead: 5 s", attempt: 1,
            failure: .init(isRetryable: true, status: 429, retryAfter: "Tue, 14 Nov 2023 22:13:25 GMT"), random: 0,
            expected: .retry(after: 5)),
        Row(name: "429 Retry-After as an HTTP-date in the past: backoff only", attempt: 1,
            failure: .init(isRetryable: true, status: 429, retryAfter: "Tue, 14 Nov 2023 22:00:00 GMT"), random: 0.5,
            expected: .retry(after: 0.5)),
        Row(name: "429 Retry-After that is neither form is ignored", attempt: 1,
            failure: .init(isRetryable: true, status: 429, retryAfter: "soon"), random: 0.5, expected: .retry(after: 0.5)),
        Row(name: "429 Retry-After: 30 with 15 s left: give up now", attempt: 1,
            failure: .init(isRetryable: true, status: 429, retryAfter: "30"), random: 1, expected: .giveUp(.deadline(wait: 30))),
        Row(name: "a backoff of 0.5 s with 0.4 s left: give up now", attempt: 1,
            failure: .init(isRetryable: true, status: 429), remaining: 0.4, random: 0.5,
            expected: .giveUp(.deadline(wait: 0.5))),
        Row(name: "a wait exactly as long as the time left: give up", attempt: 1,
            failure: .init(isRetryable: true, status: 503, retryAfter: "2"), remaining: 2, random: 0,
            expected: .giveUp(.deadline(wait: 2))),
    ]

    @Test("decisions", arguments: rows)
    func decision(_ row: Row) {
        let decision = row.policy.decide(attempt: row.attempt, failure: row.failure, remaining: row.remaining,
                                         now: Self.now, random: row.random)
        #expect(decision == row.expected)
    }

    @Test("Retry-After: delta-seconds and the three HTTP-date forms (RFC 9110 §5.6.7)", arguments: [
        ("120", 120.0), (" 7 ", 7), ("0", 0),
        ("Sun, 06 Nov 1994 08:49:37 GMT", 10), ("Sunday, 06-Nov-94 08:49:37 GMT", 10), ("Sun Nov  6 08:49:37 1994", 10),
    ])
    func retryAfter(_ value: String, _ seconds: Double) {
        #expect(RetryPolicy.retryAfterSeconds(value, now: 784_111_777 - 10) == seconds)
    }

    @Test("Retry-After values that are neither form", arguments: ["", "-1", "1.5", "soon", "Sun, 06 Nov 1994 25:49:37 GMT",
                                                               "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 CET"])
    func retryAfterRejected(_ value: String) {
        #expect(RetryPolicy.retryAfterSeconds(value, now: 784_111_777) == nil)
    }

    /// A year or time no clock shows (from a hostile Lex or webhook server) is not a date,
    /// and never overflows the day arithmetic (a trap would end the whole server).
    @Test("Retry-After HTTP-dates with absurd years or times", arguments: [
        "Sun, 06 Nov 9223372036854775807 08:49:37 GMT", "Sun, 06 Nov 99999999999999 08:49:37 GMT",
        "Sun Nov  6 08:49:37 9223372036854775807", "Sunday, 06-Nov-9223372036854775807 08:49:37 GMT",
        "Sun, 06 Nov 10000 08:49:37 GMT", "Sun, 06 Nov 1994 -1:-1:-1 GMT", "Sun, 06 Nov 1994 08:-59:37 GMT",
    ])
    func retryAfterAbsurdDate(_ value: String) {
        #expect(RetryPolicy.retryAfterSeconds(value, now: 784_111_777) == nil)
    }

    @Test("Retry-After in the far future is a wait past any deadline; in the past, none")
    func retryAfterFarDates() {
        let farFuture: Double = 253_402_300_799 - 784_111_777
        #expect(RetryPolicy.retryAfterSeconds("Fri, 31 Dec 9999 23:59:59 GMT", now: 784_111_777) == farFuture)
        #expect(RetryPolicy.retryAfterSeconds("Thu, 01 Jan 1970 00:00:00 GMT", now: 784_111_777) == 0)
        #expect(RetryPolicy.retryAfterSeconds("99999999999999999999", now: 0) == 1e9)
        let failure = RetryPolicy.Failure(isRetryable: true, status: 429, retryAfter: "Fri, 31 Dec 9999 23:59:59 GMT")
        #expect(RetryPolicy().decide(attempt: 1, failure: failure, remaining: 5, now: 784_111_777, random: 0.5)
                == .giveUp(.deadline(wait: farFuture)))
    }

    @Test("an RFC 850 two-digit year is never more than 50 years ahead")
    func twoDigitYears() {
        let in2026 = 1_780_000_000.0
        #expect(HTTPDate.fullYear(twoDigits: 26, now: in2026) == 2026)
        #expect(HTTPDate.fullYear(twoDigits: 76, now: in2026) == 2076)
        #expect(HTTPDate.fullYear(twoDigits: 77, now: in2026) == 1977)
        #expect(HTTPDate.fullYear(twoDigits: 94, now: in2026) == 1994)
    }
}

/// The policy at work against the stand-in: a Lex that answers `429 LimitExceededException`
/// with `Retry-After`.
@Suite("Retry-After end to end")
struct RetryAfterEndToEndTests {
    static func client(_ standIn: LexStandIn, attempts: Int, timeout: Double,
                       logs: CapturingLogHandler.Store = CapturingLogHandler.Store()) -> LexClient {
        var configuration = LexClientConfiguration(endpoints: standIn.endpoints)
        configuration.retry.maxAttempts = attempts
        configuration.requestTimeout = .seconds(timeout)
        configuration.signingKeyCache = SigningKeyCache()
        configuration.logger = Logger(label: "lex.test") { _ in CapturingLogHandler(store: logs) }
        return LexClient(configuration: configuration)
    }

    @Test("429 with Retry-After: 1: the second attempt comes at least 1 s after the first, within the deadline")
    func honoured() async throws {
        let standIn = try LexStandIn(credentials: [LexClientTests.credentials])
        standIn.setDefaultReply(.limitExceeded(retryAfter: "1"))
        let timeout = 5.0
        let client = Self.client(standIn, attempts: 2, timeout: timeout)
        let probe = Probe()
        probe.send(client, LexClientTests.v2(.text("hi")), LexClientTests.credentials)
        let error = try #require(await probe.result()?.error)
        #expect(error == .service(status: 429, type: "LimitExceededException", message: "Rate exceeded"))
        #expect(probe.completions == 1, "the caller hears of the failure once")
        let requests = standIn.requests
        try #require(requests.count == 2)
        let gap = Double(requests[1].receivedAt - requests[0].receivedAt) / 1e9
        #expect(gap >= 1, "second attempt \(gap) s after the first")
        #expect(gap < timeout, "within the \(timeout) s deadline")
    }

    @Test("a Retry-After longer than the time left: no second attempt, the 429 reported at once")
    func pastTheDeadline() async throws {
        let standIn = try LexStandIn(credentials: [LexClientTests.credentials])
        standIn.setDefaultReply(.limitExceeded(retryAfter: "30"))
        let client = Self.client(standIn, attempts: 3, timeout: 10)
        let probe = Probe()
        probe.send(client, LexClientTests.v2(.text("hi")), LexClientTests.credentials)
        // The bound is well under the 30 s asked: an answer within it means no wait was started.
        let error = try #require(await probe.result(timeout: 8)?.error)
        guard case .service(429, "LimitExceededException", _) = error else {
            Issue.record("got \(error)")
            return
        }
        #expect(standIn.requestCount == 1)
        #expect(probe.completions == 1)
    }

    @Test("cancel during the Retry-After wait: .cancelled, no second attempt")
    func cancelWhileWaiting() async throws {
        let standIn = try LexStandIn(credentials: [LexClientTests.credentials])
        standIn.setDefaultReply(.limitExceeded(retryAfter: "5"))
        let logs = CapturingLogHandler.Store()
        let client = Self.client(standIn, attempts: 2, timeout: 10, logs: logs)
        let probe = Probe()
        let handle = probe.send(client, LexClientTests.v2(.text("hi")), LexClientTests.credentials)
        // The client decided to wait (its debug line says so), bounded by the stand-in's wait.
        #expect(standIn.waitUntil(timeout: 5) { _ in logs.all.contains { $0.contains("lex request retry") } })
        handle.cancel()
        #expect(await probe.result(timeout: 4)?.error == .cancelled)
        #expect(standIn.requestCount == 1)
    }

    @Test("webhook posts follow the same rules: 503 with Retry-After: 1, then 200")
    func webhook() async throws {
        let standIn = try LexStandIn(credentials: [LexClientTests.credentials])
        var unavailable = LexStandIn.Reply.failing(.error(status: 503, type: "ServiceUnavailable", message: "busy"))
        unavailable.retryAfter = "1"
        standIn.enqueueWebhookReplies(unavailable)
        let http = HTTPClient()
        let result: Result<HTTPClientResponse, HTTPClientError> = await withCheckedContinuation { continuation in
            http.post(url: standIn.baseURL + "/events/calls", headers: [], body: Array("{}".utf8), timeout: .seconds(5),
                      retry: RetryPolicy(), logger: Logger(label: "test"), callbackQueue: DispatchQueue(label: "post")) {
                continuation.resume(returning: $0)
            }
        }
        let response = try result.get()
        #expect(response.response.status.code == 200 && response.transfer.attempts == 2)
        let requests = standIn.requests
        try #require(requests.count == 2)
        #expect(requests.map(\.replyStatus) == [503, 200])
        #expect(Double(requests[1].receivedAt - requests[0].receivedAt) / 1e9 >= 1)
    }
}
