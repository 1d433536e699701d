import Foundation
import Testing

@testable import Lex

@Suite("SigV4 signer")
struct SigV4SignerTests {
    let credentials = AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")

    @Test("dates format and parse without a formatter", arguments: [
        (Int64(0), "19700101T000000Z"),
        (Int64(1_440_938_160), "20150830T123600Z"),
        (Int64(951_782_400), "20000229T000000Z"),
        (Int64(4_102_444_799), "20991231T235959Z"),
        (Int64(-1), "19691231T235959Z"),
    ])
    func dates(_ seconds: Int64, _ text: String) {
        #expect(SigV4Date(unixSeconds: seconds).amzDate == text)
        #expect(SigV4Date(amzDate: text)?.unixSeconds == seconds)
    }

    @Test("malformed dates are refused", arguments: ["", "20150830T123600", "20150230T000000Z", "2015083OT123600Z", "20151330T000000Z"])
    func badDates(_ text: String) {
        #expect(SigV4Date(amzDate: text) == nil)
    }

    @Test("fractional seconds round down")
    func fractionalSeconds() {
        #expect(SigV4Date(Date(timeIntervalSince1970: 1_440_938_160.999)).amzDate == "20150830T123600Z")
    }

    @Test("an encoded path segment is encoded again in the canonical request")
    func doubleEncoding() {
        let signer = SigV4Signer(credentials: credentials, region: "eu-west-2")
        let request = SigV4Request(method: "POST", path: "/bot/B/alias/%24LATEST/user/abc%3Adef/content",
                                   headers: [HTTPField("Host", "runtime.lex.eu-west-2.amazonaws.com")])
        let canonical = signer.canonicalRequest(request, payloadHash: "UNSIGNED-PAYLOAD")
        #expect(canonical.split(separator: "\n")[1] == "/bot/B/alias/%2524LATEST/user/abc%253Adef/content")
    }

    @Test("header values are trimmed, inner whitespace collapsed, repeats joined in order")
    func canonicalHeaders() {
        let signer = SigV4Signer(credentials: credentials, region: "us-east-1")
        let (text, signed) = signer.canonicalHeaders([
            HTTPField("Host", "h"), HTTPField("My-Header", "  a   b\t c  "), HTTPField("my-header", "z"),
            HTTPField("User-Agent", "never signed"), HTTPField("Content-Type", "audio/l16;  rate=16000"),
        ])
        #expect(text == "content-type:audio/l16; rate=16000\nhost:h\nmy-header:a b c,z\n")
        #expect(signed == "content-type;host;my-header")
    }

    @Test("query pairs are decoded, re-encoded and sorted by name then value")
    func canonicalQuery() {
        #expect(SigV4Signer.canonicalQuery("b=2&a=%7e&a=1&c") == "a=1&a=~&b=2&c=")
        #expect(SigV4Signer.canonicalQuery("x=a b+c/d") == "x=a%20b%2Bc%2Fd")
        #expect(SigV4Signer.canonicalQuery("") == "")
    }

    @Test("paths lose dot segments and empty segments", arguments: [
        ("", "/"), ("/", "/"), ("//a//b//", "/a/b/"), ("/a/./b/../c", "/a/c"), ("/..", "/"), ("/a/..", "/"),
    ])
    func paths(_ input: String, _ normalized: String) {
        #expect(SigV4Signer.normalizedPath(input) == normalized)
    }

    @Test("signing adds date, token, payload header and Authorization; old Authorization is replaced")
    func signedHeaders() {
        let creds = AWSCredentials(accessKeyId: "ASIA1", secretAccessKey: "s", sessionToken: "tok")
        let signer = SigV4Signer(credentials: creds, region: "eu-west-2", keyCache: SigningKeyCache())
        let request = SigV4Request(method: "POST", path: "/", headers: [HTTPField("Host", "h"), HTTPField("Authorization", "old")])
        let signed = signer.signed(request, payload: .unsigned, date: SigV4Date(unixSeconds: 0))
        #expect(signed.header("X-Amz-Date") == "19700101T000000Z")
        #expect(signed.header("X-Amz-Security-Token") == "tok")
        #expect(signed.header("X-Amz-Content-SHA256") == "UNSIGNED-PAYLOAD")
        let authorization = signed.headers.filter { $0.name == "Authorization" }
        #expect(authorization.count == 1)
        #expect(authorization.first?.value.hasPrefix(
            "AWS4-HMAC-SHA256 Credential=ASIA1/19700101/eu-west-2/lex/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=") == true)
    }

    @Test("one signing key per access key, secret, day, region and service")
    func keyCache() {
        let cache = SigningKeyCache()
        let date = SigV4Date(unixSeconds: 1_700_000_000)
        let nextDay = SigV4Date(unixSeconds: 1_700_000_000 + 86_400)
        let request = SigV4Request(method: "POST", path: "/", headers: [HTTPField("Host", "h")])
        let a = SigV4Signer(credentials: credentials, region: "eu-west-2", keyCache: cache)
        let sig1 = a.signed(request, payload: .unsigned, date: date).header("Authorization")
        let sig2 = a.signed(request, payload: .unsigned, date: date).header("Authorization")
        #expect(sig1 == sig2)
        #expect(cache.statistics.hits == 1 && cache.statistics.misses == 1)
        _ = a.signed(request, payload: .unsigned, date: nextDay)
        _ = SigV4Signer(credentials: credentials, region: "us-east-1", keyCache: cache).signed(request, payload: .unsigned, date: date)
        _ = SigV4Signer(credentials: credentials, region: "eu-west-2", service: "s3", keyCache: cache).signed(request, payload: .unsigned, date: date)
        let rotated = AWSCredentials(accessKeyId: credentials.accessKeyId, secretAccessKey: "another secret")
        let sig3 = SigV4Signer(credentials: rotated, region: "eu-west-2", keyCache: cache).signed(request, payload: .unsigned, date: date).header("Authorization")
        #expect(sig3 != sig1, "a rotated secret under the same key id must not reuse the cached key")
        #expect(cache.count == 5)
        #expect(cache.statistics.misses == 5)
    }

    @Test("the key cache is safe to share between threads")
    func keyCacheConcurrent() async {
        let cache = SigningKeyCache(capacity: 8)
        let request = SigV4Request(method: "POST", path: "/", headers: [HTTPField("Host", "h")])
        let reference = SigV4Signer(credentials: credentials, region: "r0", keyCache: SigningKeyCache())
            .signed(request, payload: .unsigned, date: SigV4Date(unixSeconds: 0)).header("Authorization")
        let creds = credentials
        let results = await withTaskGroup(of: String?.self) { group in
            for i in 0..<64 {
                group.addTask {
                    let signer = SigV4Signer(credentials: creds, region: "r\(i % 16)", keyCache: cache)
                    return i % 16 == 0 ? signer.signed(request, payload: .unsigned, date: SigV4Date(unixSeconds: 0)).header("Authorization") : nil
                }
            }
            var out: [String?] = []
            for await r in group where r != nil { out.append(r) }
            return out
        }
        #expect(results.count == 4)
        #expect(results.allSatisfy { $0 == reference })
        #expect(cache.count <= 8)
    }
}
