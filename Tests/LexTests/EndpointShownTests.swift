import Testing
@testable import Lex

/// An endpoint URL in an error message (which reaches log lines) shows no token it carries.
@Suite struct EndpointShownTests {
    @Test(arguments: [
        ("http://user:PASSWORD@host:1/hook?token=BEARER", "http://host:1/hook"),
        ("ftp://u:PASSWORD@host/x?token=BEARER", "ftp://host/x"),
        ("no-scheme/PASSWORD@x?token=BEARER", "x"),
        ("https://host/x#frag", "https://host/x"),
        ("https://host/" + String(repeating: "p", count: 200), "https://host/" + String(repeating: "p", count: 87) + "…"),
    ])
    func shown(url: String, expected: String) {
        #expect(BaseURL.shown(url) == expected)
    }

    @Test func theErrorNamesTheProblemWithoutTheSecret() {
        #expect(throws: LexError.invalidRequest("endpoint \"http://host:1/hook\" has user info (user:password@), which is not supported")) {
            try BaseURL("http://user:PASSWORD@host:1/hook?token=BEARER")
        }
        #expect(throws: LexError.invalidRequest("endpoint \"ftp://host/x\" must use http or https")) {
            try BaseURL("ftp://u:PASSWORD@host/x?token=BEARER")
        }
    }
}
