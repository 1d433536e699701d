import Audio
import Foundation
import Lex
import Testing
@testable import Connector

/// The small pure parts of a call: the turn queue, the DTMF collector, the statistics, the
/// Vonage events and the settings.
@Suite struct CallPartsTests {
    static let t0 = Instant(nanoseconds: 1_000_000_000)
    func at(_ ms: Int) -> Instant { Self.t0 + .milliseconds(ms) }

    @Test func theTurnQueueDropsTheOldestBeyondItsLimit() {
        var q = TurnQueue(limit: 2)
        func entry(_ s: String, _ ms: Int) -> TurnQueue.Entry { .init(input: .text(s), origin: .dtmf, queuedAt: at(ms)) }
        #expect(q.append(entry("a", 0)) == nil)
        #expect(q.append(entry("b", 1)) == nil)
        #expect(q.append(entry("c", 2)) == entry("a", 0))
        #expect(q.entries.map(\.input) == [.text("b"), .text("c")])
        #expect(q.popFirst() == entry("b", 1))
        #expect(q.count == 1)
        #expect(TurnQueue(limit: 0).limit == 1, "a limit below 1 counts as 1")
    }

    @Test func theDTMFCollectorEndsWithHashOrThePause() {
        var d = DTMFCollector(timeout: .milliseconds(2000))
        #expect(d.press("#", at: at(0)) == nil, "# alone sends nothing")
        #expect(d.press("4", at: at(0)) == nil)
        #expect(d.press("2", at: at(500)) == nil)
        #expect(d.deadline == at(2500), "the pause counts from the last digit")
        #expect(d.expire(at: at(2499)) == nil)
        #expect(d.press("#", at: at(2499)) == "42")
        #expect(d.deadline == nil && d.digits.isEmpty)
        #expect(d.press("*", at: at(3000)) == nil)
        #expect(d.expire(at: at(5000)) == "*")
        #expect(d.expire(at: at(9000)) == nil)
    }

    @Test func statisticsBecomeTheCallEndedEvent() {
        var s = CallStatistics()
        s.utterances = 3; s.lexTurns = 2; s.lexErrors = 1; s.framesPlayed = 90; s.bargeIns = 1; s.dtmfDigits = 4
        let e = s.ended(code: 1000, reason: "conversation ended", byCaller: false, duration: .milliseconds(12_500))
        #expect(e == CallEnded(code: 1000, reason: "conversation ended", byCaller: false, durationSeconds: 12.5, utterances: 3,
                               lexTurns: 2, lexErrors: 1, framesPlayed: 90, bargeIns: 1, dtmfDigits: 4))
    }

    @Test func vonageEvents() {
        #expect(VonageEvent.parse(#"{"event":"websocket:dtmf","digit":"5","duration":260}"#) == .dtmf(digit: "5"))
        #expect(VonageEvent.parse(#"{"event":"websocket:dtmf","digit":7}"#) == .dtmf(digit: "7"))
        // Odd types are not key presses (a boolean was "1", a whole float "7").
        #expect(VonageEvent.parse(#"{"event":"websocket:dtmf","digit":true}"#) == .dtmf(digit: "true"))
        #expect(VonageEvent.parse(#"{"event":"websocket:dtmf","digit":false}"#) == .dtmf(digit: "false"))
        #expect(VonageEvent.parse(#"{"event":"websocket:dtmf","digit":["5"]}"#) == .dtmf(digit: #"["5"]"#))
        #expect(VonageEvent.parse(#"{"event":"websocket:dtmf","digit":null}"#) == .dtmf(digit: ""))
        #expect(VonageEvent.parse(#"{"event":"websocket:cleared"}"#) == .cleared)
        #expect(VonageEvent.parse(#"{"event":"websocket:notify","payload":{"x":1}}"#) == .notify)
        #expect(VonageEvent.parse(#"{"event":"websocket:other"}"#) == .other("websocket:other"))
        #expect(VonageEvent.parse("not json") == nil)
        #expect(VonageEvent.parse(#"{"digit":"5"}"#) == nil)
    }

    // MARK: - Settings

    static let ownKeys = AWSCredentials(accessKeyId: "AKIDOWN", secretAccessKey: "own-secret")

    func start(_ extra: String = "") -> StartParameters {
        let text = #"{"content-type":"audio/l16;rate=24000""# + extra + "}"
        guard case .success(let p) = StartParameters.parse(text, defaults: LexmoConfiguration()) else { fatalError("bad test start message") }
        return p
    }

    func store(_ configure: (inout LexmoConfiguration) -> Void = { _ in }, environment: [String: String] = [:]) throws -> (CredentialStore, LexmoConfiguration) {
        var config = LexmoConfiguration()
        configure(&config)
        return (try CredentialStore(config: config, environment: environment), config)
    }

    @Test func settingsFromTheCallsOwnKeys() throws {
        let (credentials, config) = try store()
        let s = try CallSettings.resolve(start(#","aws_key":"AKIDOWN","aws_secret":"own-secret","aws_region":"eu-west-1""#),
                                         principal: nil, credentialStore: credentials, configuration: config)
        #expect(s.credentials.accessKeyId == "AKIDOWN")
        #expect(s.region == "eu-west-1")
        #expect(s.lexRate == 16000 && s.frameBytes == 960)
        #expect(s.resampling == .init(inbound: (24000, 16000), reply: (16000, 24000)))
        #expect(!"\(s)".contains("own-secret"))
    }

    @Test func settingsFromAProfileBoundToTheTenant() throws {
        let (credentials, config) = try store { c in
            var p = LexmoConfiguration.Profile(name: "acme")
            p.tenants = ["acme"]; p.accessKeyId = "AKIDPROFILE"; p.secretAccessKey = Secret("profile-secret"); p.region = "eu-central-1"
            c.profiles["acme"] = p
        }
        let s = try CallSettings.resolve(start(#","aws_profile":"acme""#), principal: Principal(tenant: "acme"),
                                         credentialStore: credentials, configuration: config)
        #expect(s.credentials.accessKeyId == "AKIDPROFILE")
        #expect(s.region == "eu-central-1", "the profile's region when the call names none")
        #expect(throws: CallSettingsError.profile(.unknownOrForbidden("acme"))) {
            try CallSettings.resolve(start(#","aws_profile":"acme""#), principal: Principal(tenant: "other"), credentialStore: credentials, configuration: config)
        }
        #expect(throws: CallSettingsError.profile(.unauthenticated)) {
            try CallSettings.resolve(start(#","aws_profile":"acme""#), principal: nil, credentialStore: credentials, configuration: config)
        }
    }

    @Test func environmentCredentialsOnlyForAuthenticatedCalls() throws {
        let (credentials, config) = try store({ $0.credentials.useEnvironment = true },
                                              environment: ["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "env-secret"])
        #expect(throws: CallSettingsError.missingCredentials) {
            try CallSettings.resolve(start(), principal: nil, credentialStore: credentials, configuration: config)
        }
        let s = try CallSettings.resolve(start(), principal: Principal(tenant: "t"), credentialStore: credentials, configuration: config)
        #expect(s.credentials.accessKeyId == "AKIDENV")
        #expect(s.region == "us-east-1", "[lex] region")
    }

    @Test func aRegionOutsideTheAllowListIsRefused() throws {
        let (credentials, config) = try store { $0.security.allowedRegions = ["eu-west-1"] }
        #expect(throws: CallSettingsError.regionNotAllowed("us-east-1")) {
            try CallSettings.resolve(start(#","aws_key":"AKIDOWN","aws_secret":"s""#), principal: nil, credentialStore: credentials, configuration: config)
        }
        #expect("\(CallSettingsError.missingCredentials)" == "aws_key is missing (give aws_key and aws_secret, or aws_profile)")
    }
}
