import Foundation
import Testing

@testable import Lex

/// The AWS Signature Version 4 test suite, as shipped in botocore 1.43.11's
/// source distribution (tests/unit/auth/aws4_testsuite), fetched by
/// `scripts/fixtures/fetch-sigv4-suite.sh .cache` (run by `make test`).
///
/// Every case runs; none is skipped. (botocore itself skips four: get-space,
/// which Python's HTTP parser cannot read, and three with repeated query
/// keys, which its dict-based params cannot express; our parser and
/// canonical query handle all four.) As in botocore's runner, the session
/// token of a case is the one its canonical request shows: so
/// post-sts-header-after (token added unsigned after signing) is checked as
/// a request signed without a token; Lex requires the token to be signed,
/// which is the only mode the signer offers.
enum SigV4Suite {
    static let expectedCaseCount = 34
    static let skipped: [String: String] = [:]

    static let accessKey = "AKIDEXAMPLE"
    static let secretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let date = SigV4Date(unixSeconds: 1_440_938_160)  // 2015-08-30T12:36:00Z

    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static var directory: URL { packageRoot.appendingPathComponent(".cache/aws4_testsuite") }

    static var skipRequested: Bool { ProcessInfo.processInfo.environment["LEX_SKIP_SIGV4_SUITE"] == "1" }

    /// Case paths relative to the suite folder ("normalize-path/get-slash").
    static func caseNames() -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: directory.path) else { return [] }
        var names: [String] = []
        while let item = walker.nextObject() as? String {
            if item.hasSuffix(".req") { names.append((item as NSString).deletingLastPathComponent) }
        }
        return names.sorted()
    }

    struct Case {
        var request: SigV4Request
        var body: [UInt8]
        var canonicalRequest: String
        var stringToSign: String
        var authorization: String
        var token: String?
    }

    static func load(_ name: String) throws -> Case {
        let base = directory.appendingPathComponent(name).appendingPathComponent((name as NSString).lastPathComponent)
        func read(_ ext: String) throws -> String {
            try String(contentsOf: base.appendingPathExtension(ext), encoding: .utf8).replacingOccurrences(of: "\r", with: "")
        }
        let raw = try read("req")
        let creq = try read("creq")
        let (request, body) = try parseRawRequest(raw)
        let token = creq.split(separator: "\n").first { $0.hasPrefix("x-amz-security-token:") }
            .map { String($0.dropFirst("x-amz-security-token:".count)) }
        return Case(request: request, body: body, canonicalRequest: creq, stringToSign: try read("sts"),
                    authorization: try read("authz"), token: token)
    }

    struct BadRequestFile: Error, CustomStringConvertible {
        var description: String
    }

    /// `METHOD SP target SP HTTP/1.1`, header lines (continuation lines start
    /// with whitespace), blank line, body. The target may contain spaces.
    static func parseRawRequest(_ raw: String) throws -> (SigV4Request, [UInt8]) {
        let (head, body): (Substring, Substring)
        if let range = raw.range(of: "\n\n") {
            head = raw[..<range.lowerBound]
            body = raw[range.upperBound...]
        } else {
            head = Substring(raw)
            body = ""
        }
        var lines = head.split(separator: "\n", omittingEmptySubsequences: false)
        let requestLine = lines.removeFirst()
        guard let firstSpace = requestLine.firstIndex(of: " "),
            let lastSpace = requestLine.lastIndex(of: " "), firstSpace < lastSpace
        else { throw BadRequestFile(description: "request line: \(requestLine)") }
        let method = String(requestLine[..<firstSpace])
        let target = requestLine[requestLine.index(after: firstSpace)..<lastSpace]
        var headers: HTTPFields = []
        for line in lines where !line.isEmpty {
            if let first = line.first, first == " " || first == "\t", !headers.isEmpty {
                headers[headers.count - 1].value += " " + line.trimmingCharacters(in: .whitespaces)
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { throw BadRequestFile(description: "header: \(line)") }
            headers.append(HTTPField(String(line[..<colon]), String(line[line.index(after: colon)...])))
        }
        let path: String, query: String
        if let q = target.firstIndex(of: "?") {
            path = String(target[..<q])
            query = String(target[target.index(after: q)...])
        } else {
            path = String(target)
            query = ""
        }
        return (SigV4Request(method: method, path: path, query: query, headers: headers), Array(body.utf8))
    }
}

@Suite("AWS SigV4 test suite (botocore 1.43.11)")
struct SigV4SuiteTests {
    @Test("suite is present (run `make test`, or scripts/fixtures/fetch-sigv4-suite.sh .cache)")
    func suiteIsPresent() throws {
        if SigV4Suite.skipRequested { return }
        let names = SigV4Suite.caseNames()
        #expect(
            !names.isEmpty,
            "The SigV4 test suite is missing at \(SigV4Suite.directory.path): run `make test` (or scripts/fixtures/fetch-sigv4-suite.sh .cache), or set LEX_SKIP_SIGV4_SUITE=1 to skip it knowingly.")
        if !names.isEmpty {
            #expect(names.count == SigV4Suite.expectedCaseCount, "found \(names.count) cases: \(names)")
        }
    }

    @Test("suite case", arguments: SigV4Suite.caseNames())
    func suiteCase(_ name: String) throws {
        if let reason = SigV4Suite.skipped[name] {
            Issue.record("case \(name) is listed as skipped (\(reason)) yet was run")
            return
        }
        let testCase = try SigV4Suite.load(name)
        let credentials = AWSCredentials(
            accessKeyId: SigV4Suite.accessKey, secretAccessKey: SigV4Suite.secretKey, sessionToken: testCase.token)
        let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "service", keyCache: SigningKeyCache())
        let payload = SigV4Payload.bytes(testCase.body)
        let prepared = signer.prepared(testCase.request, payload: payload, date: SigV4Suite.date)
        let canonical = signer.canonicalRequest(prepared, payloadHash: payload.hexHash)
        #expect(canonical == testCase.canonicalRequest, "canonical request of \(name)")
        let sts = signer.stringToSign(canonicalRequest: canonical, date: SigV4Suite.date)
        #expect(sts == testCase.stringToSign, "string to sign of \(name)")
        let signed = signer.signed(testCase.request, payload: payload, date: SigV4Suite.date)
        #expect(signed.header("Authorization") == testCase.authorization, "Authorization of \(name)")
    }
}
