import Testing
@testable import WebSocketServer

private func feed(_ phase: inout HTTPPhase, _ text: String) -> HTTPPhase.Action {
    Array(text.utf8).withUnsafeBytes { phase.receive($0) }
}

private func feed(_ text: String, limits: HTTPLimits = .default) -> HTTPPhase.Action {
    var p = HTTPPhase(limits: limits)
    return feed(&p, text)
}

private let upgradeHead = "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

@Suite("HTTP phase")
struct HTTPPhaseTests {
    @Test func plainRequestInPieces() {
        var p = HTTPPhase(limits: .default)
        #expect(feed(&p, "GET /ping HTTP/1.1\r\n") == .needMoreBytes)
        #expect(feed(&p, "Host: x\r\n") == .needMoreBytes)
        guard case .respond(let request, let headOnly) = feed(&p, "\r\n") else { Issue.record("no request"); return }
        #expect(request.method == "GET" && request.path == "/ping" && !headOnly)
    }

    @Test func headIsAnsweredWithoutBody() {
        guard case .respond(_, let headOnly) = feed("HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n") else { Issue.record("no request"); return }
        #expect(headOnly)
    }

    @Test func upgradeCarriesAcceptAndLeftover() {
        guard case .upgrade(let request, let accept, let leftover) = feed(upgradeHead + "ab") else { Issue.record("no upgrade"); return }
        #expect(request.path == "/chat")
        #expect(accept == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")  // RFC 6455 section 1.3
        #expect(leftover == Array("ab".utf8))
    }

    @Test func badHeadIsRefusedWithItsStatus() {
        guard case .refuse(let response, let refusal) = feed("GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n") else { Issue.record("not refused"); return }
        #expect(response.status == .badRequest)
        #expect(refusal.violation == .httpStatus(400))
        guard case .refuse(let r2, let f2) = feed("GET /" + String(repeating: "a", count: 100) + " HTTP/1.1\r\n",
                                                  limits: HTTPLimits(requestLineBytes: 50)) else { Issue.record("not refused"); return }
        #expect(r2.status == .uriTooLong && f2.violation == .httpStatus(414))
    }

    @Test func requestBodiesAreRefused() {
        #expect(feed("POST /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n")
            == .refuse(.text(.payloadTooLarge, "request bodies are not accepted\n"), .requestBody))
        #expect(feed("POST /ping HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            == .refuse(.text(.payloadTooLarge, "request bodies are not accepted\n"), .requestBody))
        guard case .respond = feed("GET /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n") else { Issue.record("refused"); return }
    }

    @Test func invalidUpgradeIsRefusedByTheHandshake() {
        let v8 = upgradeHead.replacingOccurrences(of: "Version: 13", with: "Version: 8")
        guard case .refuse(let response, let refusal) = feed(v8) else { Issue.record("not refused"); return }
        #expect(response.status == .upgradeRequired)
        #expect(refusal == .badUpgrade(.upgradeRequired, path: "/chat"))
        #expect(refusal.violation == .httpStatus(426))
    }

    @Test func timeoutAnswers408() {
        guard case .refuse(let response, let refusal) = HTTPPhase.timedOut else { Issue.record("not a refusal"); return }
        #expect(response.status == .requestTimeout)
        #expect(refusal.violation == .handshakeTimeout)
    }
}
