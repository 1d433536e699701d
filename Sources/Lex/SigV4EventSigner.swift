import Foundation

/// SigV4 signing of the events of an HTTP/2 event stream (Lex V2
/// StartConversation, Transcribe streaming), each signature chained to the
/// one before.
///
/// The opening request is signed as usual with `SigV4Payload.streamingEvents`;
/// its signature is the seed. Then every event message, already encoded, is
/// the payload of an outer message whose only headers are `:date` (timestamp,
/// whole seconds in milliseconds) and `:chunk-signature` (byte array, the 32
/// raw bytes of the signature), where
///
///     string to sign = AWS4-HMAC-SHA256-PAYLOAD \n
///                      X-Amz-Date of the event (yyyyMMddTHHmmssZ) \n
///                      credential scope (date/region/service/aws4_request) \n
///                      hex(previous signature) \n
///                      hex(SHA-256(the encoded `:date` header)) \n
///                      hex(SHA-256(payload))
///     signature      = HMAC-SHA256(signing key of the event's date, string to sign)
///
/// The stream ends with a signed message whose payload is empty. Sources:
/// Amazon Transcribe developer guide, "Setting up an HTTP/2 stream"; the
/// AWS SDKs agree (aws-sdk-go `aws/signer/v4/stream.go`, Rust `aws-sigv4`
/// `event_stream.rs`, aws-sdk-js-v3 `SignatureV4.signEvent`), and their test
/// vectors are in `SigV4EventSignerTests`. A value type: the chain state is
/// the previous signature; the date is a parameter.
public struct SigV4EventSigner: Sendable {
    public static let algorithm = "AWS4-HMAC-SHA256-PAYLOAD"
    public static let dateHeaderName = ":date"
    public static let signatureHeaderName = ":chunk-signature"

    /// Credentials, region and service (and the signing key cache).
    public let signer: SigV4Signer
    /// The raw signature the next event chains to: the seed, then the last
    /// event's signature.
    public internal(set) var previousSignature: [UInt8]
    /// The fast path's buffers and OpenSSL contexts (`withSignedAudioInputFrame`), made at its
    /// first use; a copy of the signer makes its own.
    var audioFrames: AudioInputFrameWriter?

    /// `seedSignature`: the opening request's signature, lower-case hex (as in
    /// its `Authorization` header). Nil when it is not 64 hex digits.
    public init?(signer: SigV4Signer, seedSignature: String) {
        guard let seed = Digest.unhex(seedSignature), seed.count == 32 else { return nil }
        self.signer = signer
        self.previousSignature = seed
    }

    /// Starts from raw seed bytes (any length, as the SDK vectors use).
    public init(signer: SigV4Signer, seed: [UInt8]) {
        self.signer = signer
        self.previousSignature = seed
    }

    /// The signature in an `Authorization` header
    /// (`AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=<hex>`).
    public static func signature(fromAuthorization value: String) -> String? {
        guard let range = value.range(of: "Signature=") else { return nil }
        let hex = value[range.upperBound...].prefix { $0.isHexDigit }
        return hex.count == 64 ? String(hex) : nil
    }

    /// Signs one encoded event (or, with an empty payload, the end of the
    /// stream) and advances the chain. Returns the outer message, headers
    /// `:date` then `:chunk-signature`.
    public mutating func sign(payload: [UInt8], date: SigV4Date) -> EventStreamMessage {
        let second = perSecond(date)
        let sts = Self.stringToSign(scope: second.scope, dateHeaderHash: second.dateHeaderHash,
                                    payloadHash: Digest.hex(Digest.sha256(payload)),
                                    previousSignature: previousSignature, date: date)
        let signature = Digest.hmacSHA256(key: second.signingKey, string: sts)
        previousSignature = signature
        return EventStreamMessage(
            headers: [EventStreamHeader(Self.dateHeaderName, .timestamp(date.unixSeconds * 1000)),
                      EventStreamHeader(Self.signatureHeaderName, .byteArray(signature))],
            payload: payload)
    }

    /// What every event signed within one second shares: scope, signing key
    /// and the hash of the `:date` header (events come every few tens of
    /// milliseconds, so this is computed about once a second).
    private struct PerSecond: Sendable {
        var unixSeconds: Int64
        var scope: String
        var signingKey: [UInt8]
        var dateHeaderHash: String
    }
    private var lastSecond: PerSecond?

    private mutating func perSecond(_ date: SigV4Date) -> PerSecond {
        if let last = lastSecond, last.unixSeconds == date.unixSeconds { return last }
        let fresh = PerSecond(unixSeconds: date.unixSeconds, scope: signer.credentialScope(date: date),
                              signingKey: signer.signingKey(date: date),
                              dateHeaderHash: Digest.hex(Digest.sha256(Self.dateHeader(date))))
        lastSecond = fresh
        return fresh
    }

    /// `sign(payload:date:)` with the event encoded first and the outer
    /// message encoded after: the bytes for the wire. Throws only when the
    /// event itself cannot be encoded (see `EventStreamEncoder.encode`) or is
    /// too large to be a payload; then the chain does not advance.
    public mutating func signedFrame(_ event: EventStreamMessage, date: SigV4Date) throws(EventStreamError) -> [UInt8] {
        let payload = try EventStreamEncoder.encode(event)
        // Refused before signing, so the chain does not advance over a frame never made.
        guard payload.count <= EventStreamLimits.maxPayloadBytes else {
            throw .messageTooLarge(bytes: payload.count, limit: EventStreamLimits.maxPayloadBytes)
        }
        return try EventStreamEncoder.encode(sign(payload: payload, date: date))
    }

    /// The signed empty message that ends the stream, encoded.
    public mutating func endOfStreamFrame(date: SigV4Date) -> [UInt8] {
        do {
            return try EventStreamEncoder.encode(sign(payload: [], date: date))
        } catch {
            preconditionFailure("an empty payload with :date and :chunk-signature always encodes: \(error)")
        }
    }

    /// The encoded `:date` header alone: name length, `:date`, type 8, the
    /// 8-byte milliseconds of the whole second.
    public static func dateHeader(_ date: SigV4Date) -> [UInt8] {
        var out: [UInt8] = [UInt8(dateHeaderName.utf8.count)]
        out += dateHeaderName.utf8
        out.append(8)
        EventStreamEncoder.appendBigEndian(UInt64(bitPattern: date.unixSeconds * 1000), to: &out)
        return out
    }

    /// The string to sign of one event (see the type's comment).
    public static func stringToSign(scope: String, dateHeader: [UInt8], payload: [UInt8],
                                    previousSignature: [UInt8], date: SigV4Date) -> String {
        stringToSign(scope: scope, dateHeaderHash: Digest.hex(Digest.sha256(dateHeader)),
                     payloadHash: Digest.hex(Digest.sha256(payload)), previousSignature: previousSignature, date: date)
    }

    static func stringToSign(scope: String, dateHeaderHash: String, payloadHash: String,
                             previousSignature: [UInt8], date: SigV4Date) -> String {
        algorithm + "\n" + date.amzDate + "\n" + scope + "\n" + Digest.hex(previousSignature) + "\n"
            + dateHeaderHash + "\n" + payloadHash
    }

    /// The raw 32-byte signature of one event, with `signer`'s signing key.
    public static func signature(signer: SigV4Signer, dateHeader: [UInt8], payload: [UInt8],
                                 previousSignature: [UInt8], date: SigV4Date) -> [UInt8] {
        let sts = stringToSign(scope: signer.credentialScope(date: date), dateHeader: dateHeader, payload: payload,
                               previousSignature: previousSignature, date: date)
        return Digest.hmacSHA256(key: signer.signingKey(date: date), string: sts)
    }
}
