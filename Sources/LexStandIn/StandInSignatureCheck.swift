import COpenSSL
import Foundation
import Lex

/// SigV4 verification as AWS does it, with AWS's wording in the refusals.
extension LexStandIn {
    // MARK: SigV4 verification

    func verifySignature(_ request: ReceivedHTTPRequest) -> RecordedRequest.SignatureCheck {
        Self.verifySignature(request, credentials: configuration.credentials,
                             allowedClockSkewSeconds: configuration.allowedClockSkewSeconds, now: configuration.now())
    }

    /// The SigV4 check of `request` against `credentials` (by access key id), `now` for the skew.
    static func verifySignature(_ request: ReceivedHTTPRequest, credentials known: [AWSCredentials],
                                allowedClockSkewSeconds: Double, now: Date) -> RecordedRequest.SignatureCheck {
        guard let authorization = request.header("authorization") else { return .missing }
        guard let parsed = ParsedAuthorization(authorization) else {
            return .invalid("Authorization header requires Credential, SignedHeaders and Signature: \(authorization)")
        }
        guard let credentials = known.first(where: { $0.accessKeyId == parsed.accessKeyId }) else {
            return .invalid("UnrecognizedClient: unknown access key \(parsed.accessKeyId)")
        }
        guard parsed.service == "lex" else {
            return .invalid("Credential should be scoped to correct service: 'lex'.")
        }
        guard let amzDate = request.header("x-amz-date"), let date = SigV4Date(amzDate: amzDate) else {
            return .invalid("X-Amz-Date is missing or malformed")
        }
        guard date.dateStamp == parsed.dateStamp else {
            return .invalid("Credential date \(parsed.dateStamp) does not match X-Amz-Date \(amzDate)")
        }
        let skew = abs(date.date.timeIntervalSince(now))
        guard skew <= allowedClockSkewSeconds else {
            return .invalid("Signature expired: \(amzDate) is now earlier or later than allowed")
        }
        let signed = Set(parsed.signedHeaders)
        for required in ["host", "x-amz-date"] where !signed.contains(required) {
            return .invalid("\(required) must be a signed header")
        }
        if let token = credentials.sessionToken {
            let sent = request.header("x-amz-security-token")
            let matches = token.withRevealedValue { $0 == sent }
            guard matches, signed.contains("x-amz-security-token") else {
                return .invalid("UnrecognizedClient: session token missing, wrong or unsigned")
            }
        }
        let payloadHash = request.header("x-amz-content-sha256")
        if let payloadHash, payloadHash != SigV4Payload.unsignedPayloadLiteral,
            payloadHash != SigV4Payload.streamingEventsLiteral
        {
            let actual = SigV4Signer.hexSHA256(request.body)
            guard actual == payloadHash.lowercased() else {
                return .invalid("The provided 'x-amz-content-sha256' header does not match what was computed.")
            }
        }
        let headers = HTTPFields(request.headers.filter { signed.contains($0.name.lowercased()) })
        for name in signed where !headers.contains(where: { $0.name.lowercased() == name }) {
            return .invalid("signed header \(name) is not in the request")
        }
        let signer = SigV4Signer(credentials: credentials, region: parsed.region, service: parsed.service)
        let sigRequest = SigV4Request(method: request.method, path: request.path, query: request.query, headers: headers)
        let canonical = signer.canonicalRequest(sigRequest, payloadHash: payloadHash ?? SigV4Signer.hexSHA256(request.body))
        let stringToSign = signer.stringToSign(canonicalRequest: canonical, date: date)
        let expected = signer.signature(stringToSign: stringToSign, date: date)
        let equal = expected.utf8.count == parsed.signature.utf8.count
            && Array(expected.utf8).withUnsafeBytes { a in
                Array(parsed.signature.utf8).withUnsafeBytes { b in lc_const_time_equal(a.baseAddress, b.baseAddress, a.count) == 1 }
            }
        if equal { return .valid }
        // Worded like AWS, which also echoes what it computed.
        return .invalid("The request signature we calculated does not match the signature you provided. "
            + "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\n"
            + "The Canonical String for this request should have been\n'\(canonical)'\n\n"
            + "The String-to-Sign should have been\n'\(stringToSign)'\n")
    }

    struct ParsedAuthorization {
        var accessKeyId: String
        var dateStamp: String
        var region: String
        var service: String
        var signedHeaders: [String]
        var signature: String

        init?(_ header: String) {
            guard header.hasPrefix(SigV4Signer.algorithm + " ") else { return nil }
            var fields: [String: String] = [:]
            for part in header.dropFirst(SigV4Signer.algorithm.count + 1).split(separator: ",") {
                let kv = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if kv.count == 2 { fields[String(kv[0])] = String(kv[1]) }
            }
            guard let credential = fields["Credential"], let signed = fields["SignedHeaders"],
                let signature = fields["Signature"]
            else { return nil }
            let scope = credential.split(separator: "/", omittingEmptySubsequences: false)
            guard scope.count == 5, scope[4] == "aws4_request" else { return nil }
            accessKeyId = String(scope[0])
            dateStamp = String(scope[1])
            region = String(scope[2])
            service = String(scope[3])
            signedHeaders = signed.split(separator: ";").map(String.init)
            self.signature = signature
        }
    }
}
