import Connector
import Testing

/// `x-amz-lex:*` session attributes to the next turn's capture settings.
@Suite struct LexCaptureSettingsTests {
    @Test func noLexAttributesMeansNothingAsked() {
        let s = LexCaptureSettings(sessionAttributes: ["userName": "Bob"], intent: "Order", slot: "Size")
        #expect(s.isEmpty)
        #expect(s.ignored.isEmpty)
    }

    @Test func globalNamesApply() {
        let s = LexCaptureSettings(sessionAttributes: [
            "x-amz-lex:audio:end-timeout-ms": "1500",
            "x-amz-lex:audio:max-length-ms": "8000",
            "x-amz-lex:audio:start-timeout-ms": "4000",
            "x-amz-lex:dtmf:end-character": "*",
            "x-amz-lex:dtmf:deletion-character": "#",
            "x-amz-lex:dtmf:end-timeout-ms": "3000",
            "x-amz-lex:dtmf:max-length": "16",
            "x-amz-lex:allow-interrupt": "false",
        ], intent: nil, slot: nil)
        #expect(s == LexCaptureSettings(endTimeoutMs: 1500, maxLengthMs: 8000, startTimeoutMs: 4000,
                                        dtmfEndCharacter: "*", dtmfDeletionCharacter: "#", dtmfEndTimeoutMs: 3000,
                                        dtmfMaxLength: 16, allowInterrupt: false))
        #expect(!s.isEmpty)
    }

    @Test func theMostSpecificKeyForTheElicitedSlotWins() {
        let a = [
            "x-amz-lex:audio:end-timeout-ms": "100",
            "x-amz-lex:audio:end-timeout-ms:*:*": "200",
            "x-amz-lex:audio:end-timeout-ms:*:Size": "300",
            "x-amz-lex:audio:end-timeout-ms:Order:*": "400",
            "x-amz-lex:audio:end-timeout-ms:Order:Size": "500",
        ]
        #expect(LexCaptureSettings(sessionAttributes: a, intent: "Order", slot: "Size").endTimeoutMs == 500)
        #expect(LexCaptureSettings(sessionAttributes: a, intent: "Order", slot: "Crust").endTimeoutMs == 400)
        #expect(LexCaptureSettings(sessionAttributes: a, intent: "Book", slot: "Size").endTimeoutMs == 300)
        #expect(LexCaptureSettings(sessionAttributes: a, intent: "Book", slot: "Date").endTimeoutMs == 200)
        #expect(LexCaptureSettings(sessionAttributes: a, intent: nil, slot: nil).endTimeoutMs == 200)
        var bare = a
        bare["x-amz-lex:audio:end-timeout-ms:*:*"] = nil
        #expect(LexCaptureSettings(sessionAttributes: bare, intent: "Book", slot: "Date").endTimeoutMs == 100)
    }

    @Test func allowInterruptForTheElicitedSlotOnly() {
        let a = ["x-amz-lex:allow-interrupt:Pay:CardNumber": "false"]
        #expect(LexCaptureSettings(sessionAttributes: a, intent: "Pay", slot: "CardNumber").allowInterrupt == false)
        #expect(LexCaptureSettings(sessionAttributes: a, intent: "Pay", slot: "Expiry").allowInterrupt == nil)
    }

    @Test func maxLengthIsCappedAtLexsLimit() {
        let s = LexCaptureSettings(sessionAttributes: ["x-amz-lex:audio:max-length-ms": "55000"], intent: nil, slot: nil)
        #expect(s.maxLengthMs == 15_000)
    }

    @Test func invalidValuesAreIgnoredAndNamed() {
        let s = LexCaptureSettings(sessionAttributes: [
            "x-amz-lex:audio:end-timeout-ms": "soon",
            "x-amz-lex:audio:start-timeout-ms": "0",
            "x-amz-lex:dtmf:end-character": "##",
            "x-amz-lex:dtmf:deletion-character": "E",
            "x-amz-lex:dtmf:max-length": "2000",
            "x-amz-lex:allow-interrupt:Pay:Card": "maybe",
        ], intent: "Pay", slot: "Card")
        #expect(s.isEmpty)
        #expect(Set(s.ignored) == [
            "x-amz-lex:audio:end-timeout-ms", "x-amz-lex:audio:start-timeout-ms", "x-amz-lex:dtmf:end-character",
            "x-amz-lex:dtmf:deletion-character", "x-amz-lex:dtmf:max-length", "x-amz-lex:allow-interrupt:Pay:Card",
        ])
    }
}
