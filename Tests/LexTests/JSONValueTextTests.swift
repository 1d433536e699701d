import Foundation
import Testing
import Lex

/// Attribute values: one JSON value in (as `JSONSerialization` parses it), the string a
/// person expects out.
@Suite("JSON values as attribute strings")
struct JSONValueTextTests {
    /// The value of `"v"` in `{"v": <json>}`, parsed as the connector parses a start message.
    static func parsed(_ json: String) throws -> Any {
        let object = try JSONSerialization.jsonObject(with: Data(#"{"v":\#(json)}"#.utf8)) as? [String: Any]
        return try #require(object?["v"])
    }

    @Test("strings as they are", arguments: ["Bob", "", "caf\u{e9} \"quoted\"", "true", "42"])
    func strings(_ text: String) throws {
        let json = LexHeaderEncoding.jsonString(text)
        #expect(JSONValueText.attribute(try Self.parsed(json)) == text)
    }

    @Test("booleans are true and false, not 1 and 0")
    func booleans() throws {
        #expect(JSONValueText.attribute(try Self.parsed("true")) == "true")
        #expect(JSONValueText.attribute(try Self.parsed("false")) == "false")
        #expect(JSONValueText.attribute(true) == "true", "a Swift Bool too")
    }

    @Test("numbers in their JSON spelling", arguments: [
        ("42", "42"), ("-7", "-7"), ("0", "0"), ("1", "1"), ("0.5", "0.5"), ("-0.25", "-0.25"), ("1.5e300", "1.5e+300"),
        ("12345678901234567890", "12345678901234567890"),
        ("123456789012345678901234567890", "123456789012345678901234567890"),
    ])
    func numbers(_ json: String, _ text: String) throws {
        #expect(JSONValueText.attribute(try Self.parsed(json)) == text)
    }

    @Test("arrays and objects are compact JSON text with sorted keys")
    func containers() throws {
        #expect(JSONValueText.attribute(try Self.parsed(#"[1, true, "x", null, 0.5]"#)) == #"[1,true,"x",null,0.5]"#)
        #expect(JSONValueText.attribute(try Self.parsed(#"{"b": 1, "a": {"d": false, "c": [2]}, "é": "\n"}"#))
            == #"{"a":{"c":[2],"d":false},"b":1,"\u00e9":"\n"}"#)
        #expect(JSONValueText.attribute(try Self.parsed("[]")) == "[]")
        #expect(JSONValueText.attribute(try Self.parsed("{}")) == "{}")
    }

    @Test("null leaves the attribute out")
    func null() throws {
        #expect(JSONValueText.attribute(try Self.parsed("null")) == nil)
        #expect(JSONValueText.json(NSNull()) == "null")
    }

    @Test("a value that is not JSON has no text")
    func notJSON() {
        #expect(JSONValueText.attribute(Date()) == nil)
        #expect(JSONValueText.json([Date()]) == nil)
    }

    @Test("Lex response attributes decode through the same conversion")
    func responseAttributes() {
        let map = LexHeaderEncoding.stringMap(fromJSON: #"{"vip":true,"age":42,"n":null,"tags":["a"]}"#)
        #expect(map == ["vip": "true", "age": "42", "tags": #"["a"]"#])
    }
}
