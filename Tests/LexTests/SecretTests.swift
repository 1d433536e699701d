import Foundation
import Logging
import Testing

@testable import Lex

@Suite("Secrets are redacted")
struct SecretTests {
    static let secretText = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let tokenText = "FQoGZXIvYXdzEXAMPLEsessionTOKEN+abc/def=="

    @Test("description, debugDescription, dump, reflection and interpolation say <redacted>")
    func secretRedacted() {
        let secret = Secret(Self.secretText)
        var dumped = ""
        dump(secret, to: &dumped)
        let renderings = [
            secret.description, secret.debugDescription, "\(secret)", String(describing: secret),
            String(reflecting: secret), dumped, "\([secret])", "\(Optional(secret) as Any)",
        ]
        for r in renderings {
            #expect(!r.contains(Self.secretText), "leaked: \(r)")
            #expect(r.contains("<redacted>"), "\(r)")
        }
        #expect(secret.withRevealedValue { $0 } == Self.secretText)
    }

    @Test("credentials print the key id but neither secret nor token")
    func credentialsRedacted() {
        let creds = AWSCredentials(accessKeyId: "ASIAEXAMPLE", secretAccessKey: Self.secretText, sessionToken: Self.tokenText)
        var dumped = ""
        dump(creds, to: &dumped)
        for r in [creds.description, "\(creds)", String(reflecting: creds), dumped] {
            #expect(!r.contains(Self.secretText) && !r.contains(Self.tokenText), "leaked: \(r)")
            #expect(r.contains("ASIAEXAMPLE"))
        }
    }

    @Test("an AWS error message echoing the canonical request has the token removed")
    func errorMessageRedaction() {
        let message = "The Canonical String for this request should have been\n'x-amz-security-token:\(Self.tokenText)\n'"
        let redacted = LexExchange.redact(message, [Secret(Self.secretText), Secret(Self.tokenText)])
        #expect(!redacted.contains(Self.tokenText))
        #expect(redacted.contains("x-amz-security-token:<redacted>"))
    }
}

/// Captures every log line at every level.
final class CapturingLogHandler: LogHandler, @unchecked Sendable {
    final class Store: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func append(_ line: String) {
            lock.lock()
            lines.append(line)
            lock.unlock()
        }
        var all: [String] {
            lock.lock()
            defer { lock.unlock() }
            return lines
        }
    }

    let store: Store
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    init(store: Store) {
        self.store = store
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        store.append("\(event.level) \(event.message) \(all.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
    }
}
