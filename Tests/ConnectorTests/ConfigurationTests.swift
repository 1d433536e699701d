import Connector
import Lex
import Testing

struct ConfigurationTests {
    @Test func templateParsesToTheDefaults() throws {
        let path = String(#filePath).replacingOccurrences(of: "Tests/ConnectorTests/ConfigurationTests.swift", with: "lexmo.conf.template")
        let c = try LexmoConfiguration.load(path: path)
        let d = LexmoConfiguration()
        #expect(c.server.port == d.server.port && c.server.host == d.server.host)
        #expect(c.vad.silenceTime == 400 && c.vad.clipMin == 200 && c.vad.clipMax == 10_000 && c.vad.sensitivity == 2)
        #expect(c.vad.noiseMargin == 3 && d.vad.noiseMargin == 3)
        #expect(c.lex.endpointV2 == d.lex.endpointV2 && c.lex.region == "us-east-1")
        #expect(c.lex.streamsPerConnection == 100 && d.lex.streamsPerConnection == 100)
        #expect(c.call.bargeIn && !c.call.closeOnFinal)
        #expect(c.call.noInputTimeout == .zero && c.call.noInputText == "no input" && d.call.noInputText == "no input")
    }

    @Test(arguments: [
        ("[lexmo]\nport = 99999\n", 2, "between 0 and 65535"),
        ("[lexmo]\nprot = 1\n", 2, "unknown key `prot`"),
        ("[nope]\n", 1, "unknown section"),
        ("port = 1\n", 1, "outside any [section]"),
        ("[vad]\nclip_min = 500\nclip_max = 400\n", 0, "clip_min"),
        ("[call]\nbarge_in = maybe\n", 2, "true or false"),
        ("[vad]\nnoise_margin = 31\n", 2, "between 0 and 30"),
        ("[lex]\nstreams_per_connection = 0\n", 2, "between 1 and 1000"),
        ("[lexmo]\nport = 1\nport = 2\n", 3, "set twice"),
        ("[lex]\nregion = US EAST\n", 2, "region"),
        ("[log]\nlevel = loud\n", 2, "use trace, debug, info, notice, warning, error or critical"),
        ("[security]\nmode = open\n", 2, "use none, token or vonage"),
        ("[security]\nsignature_secret = short\n", 2, "too short (at least 16 characters)"),
        ("[profile.p]\nregion = x y\n", 2, "[profile.p] region: not an AWS region name"),
        ("[call]\nno_input_text =\n", 2, "1 to 1024 characters"),
        ("[call]\nno_input_timeout_ms = -1\n", 2, "between 0 and 600000"),
        ("[lexmo]\njust words\n", 2, "key = value"),
    ])
    func invalidFilesNameTheLineAndTheReason(text: String, line: Int, reason: String) {
        #expect {
            _ = try LexmoConfiguration.parse(text, file: "t.conf")
        } throws: { error in
            guard let e = error as? ConfigurationError else { return false }
            return e.line == line && e.reason.contains(reason) && e.file == "t.conf"
        }
    }

    @Test func secretIsRedactedInErrors() {
        #expect {
            _ = try LexmoConfiguration.parse("[events]\nsecret = hunter2\n[events]\nsecret = hunter3\n")
        } throws: { error in
            !"\(error)".contains("hunter")
        }
    }

    @Test func environmentOverridesHostAndPort() throws {
        var c = try LexmoConfiguration.parse("[lexmo]\nport = 8000\n")
        try c.applyEnvironment(["HOST": "0.0.0.0", "PORT": "9000"])
        #expect(c.server.host == "0.0.0.0" && c.server.port == 9000)
        #expect(throws: ConfigurationError.self) { try c.applyEnvironment(["PORT": "http"]) }
    }

    @Test func commentsQuotesAndCase() throws {
        let c = try LexmoConfiguration.parse("# top\n[LEX]\n; comment\nendpoint_v2 = \"http://127.0.0.1:9/x#y\"  # note\n")
        #expect(c.lex.endpointV2 == "http://127.0.0.1:9/x#y")
    }
}

struct RouteTests {
    @Test func v2RouteWithEncodedSessionId() throws {
        let r = try CallRoute.parse(path: "/bots/ABCDEFGHIJ/botAliases/TSTALIASID/botLocales/es_419/sessions/a%3Ab.c_d-e/utterance").get()
        #expect(r == .v2(botId: "ABCDEFGHIJ", aliasId: "TSTALIASID", localeId: "es_419", sessionId: "a:b.c_d-e"))
    }

    @Test func v1Route() throws {
        let r = try CallRoute.parse(path: "/bot/Book_Trip/alias/$LATEST/user/4477:1/content").get()
        #expect(r == .v1(bot: "Book_Trip", alias: "$LATEST", user: "4477:1"))
    }

    @Test(arguments: ["/bot/B/alias/a/user/xx/content", "/bot/Bo/alias/a/user/x/content", "/bot/Bo/alias/a1/user/xx/content",
                      "/bots/ABCDEFGHI!/botAliases/TSTALIASID/botLocales/en_US/sessions/xx/utterance",
                      "/bots/ABCDEFGHIJ/botAliases/TSTALIASID/botLocales/en_US/sessions/x%ZZ/utterance",
                      "/bots/ABCDEFGHIJ/botAliases/TSTALIASID/botLocales/en_US/sessions/\(String(repeating: "a", count: 101))/utterance"])
    func invalidIdsAreRefused(path: String) {
        #expect(throws: RouteError.self) { try CallRoute.parse(path: path).get() }
    }
}

struct StartParameterTests {
    let defaults = LexmoConfiguration()

    @Test func the2017FormWithStringNumbersAndAttributes() throws {
        let json = #"{"content-type":"audio/l16;rate=8000","aws_key":"AKID","aws_secret":"s","sensitivity":"3","silence_time":600,"barge_in":"false","session_attributes":"{\"a\":1}","request_attributes":{"b":"x"}}"#
        let p = try StartParameters.parse(json, defaults: defaults).get()
        #expect(p.sampleRate == 8000 && p.frameBytes == 320)
        #expect(p.sensitivity == 3 && p.silenceTime == 600 && !p.bargeIn)
        #expect(p.sessionAttributes == ["a": "1"] && p.requestAttributes == ["b": "x"])
        #expect(p.region == "us-east-1")
        #expect(!"\(p)".contains("\"s\"") && !p.description.contains("aws_secret"))
    }

    /// Issue 12: booleans reached Lex as "1" and "0". Start message in, V1 headers and V2
    /// session state decoded back out.
    @Test func attributeValuesReachLexAsAPersonExpects() throws {
        let json = #"{"content-type":"audio/l16;rate=16000","aws_key":"AKID","aws_secret":"s","client_id":true,"#
            + #""session_attributes":{"userName":"Bob","vip":true,"optOut":false,"age":42,"score":0.5,"#
            + #""big":12345678901234567890,"tags":["a",1],"prefs":{"b":2,"a":null},"gone":null},"#
            + #""request_attributes":{"trusted":true}}"#
        let p = try StartParameters.parse(json, defaults: defaults).get()
        let expected = ["userName": "Bob", "vip": "true", "optOut": "false", "age": "42", "score": "0.5",
                        "big": "12345678901234567890", "tags": #"["a",1]"#, "prefs": #"{"a":null,"b":2}"#]
        #expect(p.sessionAttributes == expected)
        #expect(p.requestAttributes == ["trusted": "true"])
        #expect(p.clientId == "true")

        let v1 = try LexRequest(target: .v1(bot: "Bot", alias: "live", user: "caller-1"), region: "eu-west-2",
                                input: .text("hi"), sessionAttributes: p.sessionAttributes,
                                requestAttributes: p.requestAttributes).httpRequest()
        let v1Session = try #require(v1.header("x-amz-lex-session-attributes").flatMap(LexHeaderEncoding.unbase64))
        #expect(LexHeaderEncoding.stringMap(fromJSON: v1Session) == expected)
        let v1Request = try #require(v1.header("x-amz-lex-request-attributes").flatMap(LexHeaderEncoding.unbase64))
        #expect(LexHeaderEncoding.stringMap(fromJSON: v1Request) == ["trusted": "true"])

        let v2 = try LexRequest(target: .v2(botId: "ABCDEFGHIJ", aliasId: "TSTALIASID", localeId: "en_GB", sessionId: "caller-1"),
                                region: "eu-west-2", input: .text("hi"), sessionAttributes: p.sessionAttributes,
                                requestAttributes: p.requestAttributes).httpRequest()
        let state = try #require(v2.header("x-amz-lex-session-state").flatMap(LexHeaderEncoding.gunzipBase64))
        #expect(LexHeaderEncoding.stringMap(fromJSON: state, key: "sessionAttributes") == expected)
        #expect(state.contains(#""vip":"true""#) && state.contains(#""optOut":"false""#) && state.contains(#""age":"42""#))
        let v2Request = try #require(v2.header("x-amz-lex-request-attributes").flatMap(LexHeaderEncoding.gunzipBase64))
        #expect(v2Request == #"{"trusted":"true"}"#)
    }

    @Test func numericAndBooleanParametersShareTheConversion() throws {
        let json = #"{"content-type":"audio/l16;rate=16000","aws_key":"AKID","aws_secret":"s","sensitivity":1,"silence_time":600.0,"barge_in":0}"#
        let p = try StartParameters.parse(json, defaults: defaults).get()
        #expect(p.sensitivity == 1 && p.silenceTime == 600 && !p.bargeIn)
        let notANumber = #"{"content-type":"audio/l16;rate=16000","aws_key":"AKID","aws_secret":"s","sensitivity":true}"#
        #expect(throws: StartParametersError.self) { try StartParameters.parse(notANumber, defaults: defaults).get() }
    }

    @Test(arguments: [
        ("not json", "JSON object"),
        (#"{"event":"websocket:dtmf"}"#, "websocket:connected"),
        (#"{"content-type":"audio/l16;rate=16000","aws_key":"AKID"}"#, "aws_secret"),
        (#"{"content-type":"audio/l16;rate=16000","aws_key":"AK ID","aws_secret":"s"}"#, "aws_key"),
        (#"{"content-type":"audio/l16;rate=16000","aws_key":"AKID","aws_secret":"s","sensitivity":7}"#, "sensitivity"),
        (#"{"content-type":"audio/l16;rate=16000","aws_key":"AKID","aws_secret":"s","clip_min":900,"clip_max":800}"#, "clip_min"),
        (#"{"content-type":"audio/l16;rate=16000","aws_key":"AKID","aws_secret":"s","webhook_url":"ftp://x"}"#, "webhook_url"),
        (#"{"content-type":"audio/l16;rate=16000","aws_key":"AKID","aws_secret":"s","session_attributes":[1]}"#, "session_attributes"),
    ])
    func invalidStartMessagesSayWhy(json: String, mention: String) {
        switch StartParameters.parse(json, defaults: defaults) {
        case .success: Issue.record("accepted \(json)")
        case .failure(let e): #expect(e.reason.contains(mention), "\(e.reason)")
        }
    }
}
