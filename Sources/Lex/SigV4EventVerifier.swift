import Foundation

/// Checks a chain of signed event stream messages, as the service does: the
/// other side of `SigV4EventSigner` (used by the Lex stand-in). Given the
/// credentials and the opening request's signature, each outer message must
/// carry exactly `:date` (timestamp) and `:chunk-signature` (32 bytes), and
/// the signature must be the HMAC of the event string to sign chained to the
/// previous one; an empty payload ends the stream and nothing may follow it.
/// Pure: the time to compare `:date` with is a parameter.
public struct SigV4EventVerifier: Sendable {
    /// What one verified message carried.
    public enum Outcome: Sendable, Hashable {
        /// The inner event message, still encoded (decode it with
        /// `EventStreamDecoder`).
        case event([UInt8])
        /// The signed empty message that ends the stream.
        case endOfStream
    }

    public let signer: SigV4Signer
    /// How far `:date` may be from `now` (SigV4 allows 5 minutes).
    public var maxClockSkewSeconds: Int64 = 300
    public private(set) var previousSignature: [UInt8]
    /// Messages verified so far.
    public private(set) var verifiedCount = 0
    public private(set) var ended = false
    private var failure: EventSignatureError?

    /// Nil when `seedSignature` is not 64 hex digits.
    public init?(signer: SigV4Signer, seedSignature: String) {
        guard let seed = Digest.unhex(seedSignature), seed.count == 32 else { return nil }
        self.signer = signer
        self.previousSignature = seed
    }

    /// Verifies the next message of the chain. `now`, when given, bounds the
    /// `:date` to `maxClockSkewSeconds` around it. After a failure the chain
    /// is broken: every later call throws the same error.
    public mutating func verify(_ message: EventStreamMessage, now: SigV4Date? = nil) throws(EventSignatureError) -> Outcome {
        if let failure { throw failure }
        do {
            let outcome = try check(message, now: now)
            verifiedCount += 1
            return outcome
        } catch {
            failure = error
            throw error
        }
    }

    private mutating func check(_ message: EventStreamMessage, now: SigV4Date?) throws(EventSignatureError) -> Outcome {
        let index = verifiedCount
        guard !ended else { throw .afterEndOfStream(index: index) }
        let names = message.headers.map(\.name).sorted()
        guard names == [SigV4EventSigner.signatureHeaderName, SigV4EventSigner.dateHeaderName].sorted() else {
            if case .timestamp = message.header(SigV4EventSigner.dateHeaderName) {} else {
                throw .missingDate(index: index)
            }
            if case .byteArray = message.header(SigV4EventSigner.signatureHeaderName) {} else {
                throw .missingSignature(index: index)
            }
            throw .unexpectedHeaders(index: index, names: message.headers.map(\.name))
        }
        guard case .timestamp(let millis) = message.header(SigV4EventSigner.dateHeaderName) else {
            throw .missingDate(index: index)
        }
        guard case .byteArray(let received) = message.header(SigV4EventSigner.signatureHeaderName),
            received.count == 32
        else { throw .missingSignature(index: index) }
        // The string to sign has whole seconds; the hash covers the header as sent.
        let seconds = millis >= 0 ? millis / 1000 : (millis - 999) / 1000
        let date = SigV4Date(unixSeconds: seconds)
        if let now, abs(now.unixSeconds - seconds) > maxClockSkewSeconds {
            throw .dateOutOfRange(index: index, skewSeconds: seconds - now.unixSeconds)
        }
        var dateHeader: [UInt8] = []
        EventStreamEncoder.appendHeaders([EventStreamHeader(SigV4EventSigner.dateHeaderName, .timestamp(millis))],
                                         to: &dateHeader)
        let expected = SigV4EventSigner.signature(signer: signer, dateHeader: dateHeader, payload: message.payload,
                                                  previousSignature: previousSignature, date: date)
        guard Digest.constantTimeEqual(expected, received) else { throw .signatureMismatch(index: index) }
        previousSignature = received
        if message.payload.isEmpty {
            ended = true
            return .endOfStream
        }
        return .event(message.payload)
    }
}

/// Why a signed event stream message was refused. `index` counts messages
/// from 0 after the opening request.
public enum EventSignatureError: Error, Sendable, Hashable, CustomStringConvertible {
    case missingDate(index: Int)
    case missingSignature(index: Int)
    case unexpectedHeaders(index: Int, names: [String])
    case dateOutOfRange(index: Int, skewSeconds: Int64)
    case signatureMismatch(index: Int)
    case afterEndOfStream(index: Int)

    public var description: String {
        switch self {
        case .missingDate(let i):
            return "signed event \(i) has no :date timestamp header"
        case .missingSignature(let i):
            return "signed event \(i) has no 32-byte :chunk-signature header"
        case .unexpectedHeaders(let i, let names):
            return "signed event \(i) has headers \(names); only :date and :chunk-signature belong on the outer message"
        case .dateOutOfRange(let i, let skew):
            return "signed event \(i) is dated \(skew) s from now, over the allowed skew (check the client's clock)"
        case .signatureMismatch(let i):
            return "signed event \(i) has a wrong signature (credentials, region, seed or chain order differ)"
        case .afterEndOfStream(let i):
            return "signed event \(i) follows the end of the stream"
        }
    }
}
