import COpenSSL
import Connector
import Foundation
import Lex
import Testing

/// A Vonage-style HS256 JWT, made here with OpenSSL's HMAC.
func makeJWT(claims: [String: Any], secret: String, alg: String = "HS256") -> String {
    func b64(_ d: Data) -> String {
        d.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
    let header = b64(try! JSONSerialization.data(withJSONObject: ["alg": alg, "typ": "JWT"], options: [.sortedKeys]))
    let payload = b64(try! JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys]))
    let input = Array("\(header).\(payload)".utf8)
    var mac = [UInt8](repeating: 0, count: 32)
    let key = Array(secret.utf8)
    key.withUnsafeBytes { k in input.withUnsafeBytes { i in _ = lc_hmac_sha256(k.baseAddress, k.count, i.baseAddress, i.count, &mac) } }
    return "\(header).\(payload).\(b64(Data(mac)))"
}

struct AuthenticatorTests {
    static let secret = "vonage-signature-secret-0123456789"
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func vonage(_ apps: [String] = []) -> Authenticator {
        var s = LexmoConfiguration.Security()
        s.mode = .vonage
        s.signatureSecret = Secret(Self.secret)
        s.applicationIds = apps
        return Authenticator(security: s)
    }

    @Test func tokensNameTheirTenant() throws {
        var s = LexmoConfiguration.Security()
        s.mode = .token
        s.tokens = ["acme": Secret("acme-token-0123456789"), "globex": Secret("globex-token-0123456789")]
        let a = Authenticator(security: s)
        #expect(try a.authenticate(authorization: "Bearer globex-token-0123456789", now: now).get() == Principal(tenant: "globex"))
        #expect(try a.authenticate(authorization: "bearer acme-token-0123456789", now: now).get() == Principal(tenant: "acme"))
        for bad in [nil, "", "Bearer", "Bearer wrong-token-0123456789", "Basic YWNtZQ==", "Bearer acme-token-012345678"] {
            #expect(throws: AuthenticationFailure.self) { try a.authenticate(authorization: bad, now: now).get() }
        }
    }

    @Test func validVonageJWT() throws {
        let t = now.timeIntervalSince1970
        let jwt = makeJWT(claims: ["iat": t - 5, "exp": t + 300, "application_id": "app-1", "jti": "x"], secret: Self.secret)
        #expect(try vonage(["app-1"]).authenticate(authorization: "Bearer \(jwt)", now: now).get() == Principal(tenant: "app-1"))
        #expect(try vonage().authenticate(authorization: "Bearer \(jwt)", now: now).get() == Principal(tenant: "app-1"))
    }

    @Test(arguments: [
        ("expired", ["iat": -1000.0, "exp": -700.0], "app-1", "expired"),
        ("too old", ["iat": -3600.0], "app-1", "expired"),
        ("future", ["iat": 3600.0], "app-1", "not_yet_valid"),
        ("no iat", [:], "app-1", "bad_claims"),
        ("other app", ["iat": 0.0], "app-2", "bad_application"),
    ])
    func badClaims(name: String, relative: [String: Double], app: String, metric: String) {
        let t = now.timeIntervalSince1970
        var claims: [String: Any] = ["application_id": app]
        for (k, v) in relative { claims[k] = t + v }
        let jwt = makeJWT(claims: claims, secret: Self.secret)
        switch vonage(["app-1"]).authenticate(authorization: "Bearer \(jwt)", now: now) {
        case .success: Issue.record("\(name) accepted")
        case .failure(let f): #expect(f.metric.rawValue == metric, "\(name): \(f.reason)")
        }
    }

    @Test func tamperedWrongKeyAndAlgNone() {
        let t = now.timeIntervalSince1970
        let good = makeJWT(claims: ["iat": t, "application_id": "app-1"], secret: Self.secret)
        let parts = good.split(separator: ".").map(String.init)
        let otherPayload = makeJWT(claims: ["iat": t, "application_id": "app-evil"], secret: Self.secret).split(separator: ".")[1]
        let cases: [(String, String)] = [
            ("tampered payload", "\(parts[0]).\(otherPayload).\(parts[2])"),
            ("wrong key", makeJWT(claims: ["iat": t, "application_id": "app-1"], secret: "another-secret-0123456789")),
            ("alg none", makeJWT(claims: ["iat": t, "application_id": "app-1"], secret: Self.secret, alg: "none")),
            ("truncated signature", "\(parts[0]).\(parts[1]).\(parts[2].dropLast(4))"),
            ("not a JWT", "abc"),
        ]
        for (name, jwt) in cases {
            if case .success = vonage().authenticate(authorization: "Bearer \(jwt)", now: now) { Issue.record("\(name) accepted") }
        }
    }
}

struct SecurityConfigurationTests {
    @Test func publicBindNeedsAnExplicitMode() {
        #expect(throws: ConfigurationError.self) { try LexmoConfiguration.parse("[lexmo]\nhost = 0.0.0.0\n") }
        #expect((try? LexmoConfiguration.parse("[lexmo]\nhost = 0.0.0.0\n[security]\nmode = none\n")) != nil)
        #expect((try? LexmoConfiguration.parse("[lexmo]\nhost = 127.0.0.1\n")) != nil)
    }

    @Test func tokensProfilesAndRedaction() throws {
        let text = """
        [security]
        mode = token
        token.acme = acme-token-0123456789
        [profile.acme-prod]
        tenants = acme
        aws_access_key_id = AKIDPROFILE
        aws_secret_access_key = profile-secret-value
        region = eu-west-2
        """
        let c = try LexmoConfiguration.parse(text)
        #expect(c.security.tokens.keys.sorted() == ["acme"])
        #expect(c.profiles["acme-prod"]?.tenants == ["acme"] && c.profiles["acme-prod"]?.region == "eu-west-2")
        #expect(throws: ConfigurationError.self) { try LexmoConfiguration.parse("[security]\nmode = token\n") }
        #expect(throws: ConfigurationError.self) { try LexmoConfiguration.parse("[profile.x]\naws_access_key_id = AKID\n") }
        #expect {
            try LexmoConfiguration.parse("[profile.p]\ntenants = a\naws_access_key_id = AKID\naws_secret_access_key =\n")
        } throws: { !"\($0)".contains("secret-value") }
    }

    @Test func sharedCredentialsFileAndEnvironment() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lexcreds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("credentials")
        try "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = d\n[profile tenant-b]\naws_access_key_id = AKIDB\naws_secret_access_key = b-secret\naws_session_token = b-token\n"
            .write(to: file, atomically: true, encoding: .utf8)
        let c = try LexmoConfiguration.parse("[credentials]\nfile = \(file.path)\nuse_environment = true\n[profile.tenant-b]\ntenants = b\n")
        let store = try CredentialStore(config: c, environment: ["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "env-secret"])
        let entry = try store.lookup(profile: "tenant-b", principal: Principal(tenant: "b")).get()
        #expect(entry.credentials.accessKeyId == "AKIDB")
        #expect(entry.credentials.sessionToken?.withRevealedValue { $0 } == "b-token")
        #expect(store.environmentDefault?.accessKeyId == "AKIDENV")
        #expect(throws: CredentialStore.LookupError.self) { try store.lookup(profile: "tenant-b", principal: Principal(tenant: "a")).get() }
        #expect(throws: CredentialStore.LookupError.self) { try store.lookup(profile: "tenant-b", principal: nil).get() }
        #expect(throws: ConfigurationError.self) { try CredentialStore(config: c, environment: [:]) }
    }
}

/// Authentication and server-side credentials over the wire.
@Suite(.serialized) struct AuthenticatedCallTests {
    static let token = "acme-token-0123456789"

    func tokenHarness() throws -> Harness {
        try Harness { c in
            c.security.mode = .token
            c.security.tokens = ["acme": Secret(Self.token)]
            var p = LexmoConfiguration.Profile(name: "acme-prod")
            p.tenants = ["acme"]
            p.accessKeyId = Harness.credentials.accessKeyId
            p.secretAccessKey = Harness.credentials.secretAccessKey
            p.sessionToken = Harness.credentials.sessionToken
            c.profiles["acme-prod"] = p
        }
    }

    @Test func missingWrongAndValidTokens() throws {
        let h = try tokenHarness()
        defer { h.stop() }
        #expect(try VonageTestClient(port: h.port, path: Harness.v2Path).httpStatus == 401)
        #expect(try VonageTestClient(port: h.port, path: Harness.v2Path, headers: ["Authorization: Bearer nope-nope-nope-nope"]).httpStatus == 401)
        let c = try VonageTestClient(port: h.port, path: Harness.v2Path, headers: ["Authorization: Bearer \(Self.token)"])
        #expect(c.httpStatus == 101)
        // The profile supplies the credentials: nothing secret in the start message.
        c.sendText("{\"event\":\"websocket:connected\",\"content-type\":\"audio/l16;rate=16000\",\"aws_profile\":\"acme-prod\",\"welcome_text\":\"hi\"}")
        #expect(c.wait { $0.frames.count == 25 }, "the welcome reply plays: the profile's credentials signed the request")
        #expect(h.lexRequests().first?.signature == .valid)
        c.sendClose()
        #expect(!h.logs.all.contains { $0.contains(Self.token) })
    }

    @Test func vonageJWT() throws {
        let secret = "vonage-signature-secret-0123456789"
        let h = try Harness { c in
            c.security.mode = .vonage
            c.security.signatureSecret = Secret(secret)
            c.security.applicationIds = ["app-1"]
        }
        defer { h.stop() }
        let now = Date().timeIntervalSince1970
        let good = makeJWT(claims: ["iat": now, "exp": now + 60, "application_id": "app-1"], secret: secret)
        let expired = makeJWT(claims: ["iat": now - 7200, "exp": now - 3600, "application_id": "app-1"], secret: secret)
        let tampered = good.dropLast(2) + (good.hasSuffix("AA") ? "BB" : "AA")
        for bad in [expired, String(tampered), makeJWT(claims: ["iat": now, "application_id": "app-2"], secret: secret)] {
            #expect(try VonageTestClient(port: h.port, path: Harness.v2Path, headers: ["Authorization: Bearer \(bad)"]).httpStatus == 401)
        }
        let c = try VonageTestClient(port: h.port, path: Harness.v2Path, headers: ["Authorization: Bearer \(good)"])
        #expect(c.httpStatus == 101)
        c.sendStart(rate: 16000, secret: ConversationTests.secret, extra: ["welcome_text": "hi"])
        #expect(c.wait { $0.frames.count == 25 })
        c.sendClose()
    }

    @Test func profileRefusedWithoutAuthenticationOrForAnotherTenant() throws {
        let open = try Harness { c in
            var p = LexmoConfiguration.Profile(name: "acme-prod")
            p.tenants = ["acme"]
            p.accessKeyId = "AKIDX"
            p.secretAccessKey = Secret("x")
            c.profiles["acme-prod"] = p
        }
        defer { open.stop() }
        let c = try open.client()
        c.sendText("{\"event\":\"websocket:connected\",\"content-type\":\"audio/l16;rate=16000\",\"aws_profile\":\"acme-prod\"}")
        #expect(c.wait { $0.closeCode != nil })
        #expect(c.snapshot.closeCode == 1008)
        #expect(c.snapshot.closeReason.contains("authenticated"))

        let h = try Harness { c in
            c.security.mode = .token
            c.security.tokens = ["acme": Secret(Self.token), "globex": Secret("globex-token-0123456789")]
            var p = LexmoConfiguration.Profile(name: "acme-prod")
            p.tenants = ["acme"]
            p.accessKeyId = "AKIDX"
            p.secretAccessKey = Secret("x")
            c.profiles["acme-prod"] = p
        }
        defer { h.stop() }
        let g = try VonageTestClient(port: h.port, path: Harness.v2Path, headers: ["Authorization: Bearer globex-token-0123456789"])
        g.sendText("{\"event\":\"websocket:connected\",\"content-type\":\"audio/l16;rate=16000\",\"aws_profile\":\"acme-prod\"}")
        #expect(g.wait { $0.closeCode == 1008 })
    }

    @Test func allowListsOfBotsAndRegions() throws {
        let h = try Harness { c in
            c.security.allowedBots = ["ABCDEFGHIJ"]
            c.security.allowedRegions = ["us-east-1"]
        }
        defer { h.stop() }
        #expect(try VonageTestClient(port: h.port, path: Harness.v2Path.replacingOccurrences(of: "ABCDEFGHIJ", with: "ZZZZZZZZZZ")).httpStatus == 403)
        let c = try h.client()
        c.sendStart(rate: 16000, secret: ConversationTests.secret, extra: ["aws_region": "eu-west-1"])
        #expect(c.wait { $0.closeCode == 1008 })
        #expect(c.snapshot.closeReason.contains("not allowed"))
    }

    @Test func callsPerClientLimit() throws {
        let h = try Harness { $0.limits.callsPerClient = 1 }
        defer { h.stop() }
        let first = try h.client()
        #expect(first.httpStatus == 101)
        #expect(try h.client().httpStatus == 429)
        first.sendClose()
        #expect(first.wait { $0.eof })
        #expect(h.standIn.waitUntil(timeout: 5) { _ in (try? h.client().httpStatus) == 101 }, "the slot is free again after the call ended")
    }
}
