import Connector
import Foundation
import Glibc
import LexStandIn
import Testing
import WebSocketServer
import WebSocketTestClient

/// Hostile input while a canary call streams: every case must get its documented HTTP status
/// or close code, move the matching counter, leave `/ping` answering, and cost the canary
/// nothing: every reply frame it was due arrives, 640 bytes each, on time, and its socket
/// never closes. Meanwhile 300 idle sockets, a TLS ClientHello and a header trickler sit in
/// the handshake and must be cut off with 408 at the handshake timeout.
@Suite(.serialized) struct HostileInputTests {
    static let idleSockets = 300
    static let handshakeTimeout = 3

    @Test func hostilePeersDoNotDisturbACanaryCall() throws {
        let h = try Harness { config in
            // Short, so the idle flood is cut off within the suite; the cap, so a peer that
            // never reads is cut off after little work.
            config.limits.handshakeTimeout = .seconds(Self.handshakeTimeout)
            config.limits.outputQueueBytes = 256 * 1024
        }
        defer { h.stop() }
        let server = try #require(h.connector.server)
        h.standIn.setDefaultReply(.init(message: "Canary.", audio: .tone(milliseconds: 1000)))
        let canary = try CanaryCall(harness: h, replyFrames: 50)
        canary.start()
        // The attack begins once the canary's first reply is playing.
        #expect(canary.client.wait(timeout: 5) { !$0.frames.isEmpty }, "the canary's first reply frame came")

        let handshakeTimeout = server.configuration.handshakeTimeout.seconds
        #expect(handshakeTimeout == Double(Self.handshakeTimeout), "[limits] handshake_timeout reaches the server")
        let timeoutsBefore = server.counterSnapshot.violations[.handshakeTimeout] ?? 0
        let flood = try IdleFlood(port: h.port, kinds: [.trickle, .notHTTP] + Array(repeating: .silent, count: Self.idleSockets),
                                  giveUpAfter: handshakeTimeout + 10)
        let floodSize = Self.idleSockets + 2
        let floodOpenAtFirstCase = flood.stillOpen

        let bench = HostileBench(harness: h, server: server)
        var timings: [(HostileCase, Double)] = []
        for c in Self.cases { timings.append((c, bench.run(c))) }
        let floodOpenAfterCases = flood.stillOpen

        // The idle flood: every socket got 408 at the handshake timeout, none earlier.
        let outcomes = flood.outcomes(timeout: handshakeTimeout + 10)
        #expect(floodOpenAtFirstCase == floodSize, "the flood was in place when the cases began")
        let wrongStatus = outcomes.filter { $0.status != 408 }
        #expect(wrongStatus.isEmpty, "flood sockets not answered 408: \(wrongStatus.prefix(5))")
        let closedAt = outcomes.compactMap(\.closedAfter)
        #expect(closedAt.count == floodSize, "\(floodSize - closedAt.count) flood sockets never closed")
        // Deadlines are enforced by a 250 ms housekeeping timer.
        #expect(closedAt.allSatisfy { $0 >= handshakeTimeout - 0.05 && $0 <= handshakeTimeout + 2 },
                "cut off after \(closedAt.min() ?? 0)-\(closedAt.max() ?? 0) s; handshake timeout \(handshakeTimeout) s")
        #expect((server.counterSnapshot.violations[.handshakeTimeout] ?? 0) - timeoutsBefore == floodSize)
        #expect(flood.trickledBytes.allSatisfy { $0 > 0 && $0 < IdleFlood.trickleHead.count }, "the trickler kept sending: \(flood.trickledBytes)")

        // Nothing leaked: only the canary's socket is left. Then the abrupt disconnects, each
        // checked against that baseline.
        #expect(eventually(timeout: 5) { server.openSockets == 1 && server.openWebSockets == 1 },
                "open sockets \(server.openSockets), WebSockets \(server.openWebSockets): only the canary should be left")
        for c in Self.disconnectCases { timings.append((c, bench.run(c))) }

        // The canary.
        #expect(canary.stop(), "the canary's threads stopped")
        let r = canary.report
        #expect(r.turnFailures.isEmpty, "canary turns incomplete: \(r.turnFailures)")
        #expect(r.turns >= 3, "the canary talked throughout (\(r.turns) turns)")
        #expect(r.framesReceived == r.turns * canary.replyFrames, "canary reply frames: \(r.framesReceived) of \(r.turns * canary.replyFrames)")
        #expect(r.wrongSizes == 0, "canary frames not 640 bytes: \(r.wrongSizes)")
        #expect(r.closeCode == nil && !r.eof, "the canary was closed: \(r.closeCode.map(String.init) ?? "-") \(canary.client.snapshot.closeReason)")
        // Paced one frame per 20 ms: a reply's 50 frames span 980 ms. Allow for a loaded machine
        // (other test suites run in parallel) but not for bursts or stalls.
        #expect(r.worstGap < 0.25, "worst gap inside a reply: \(Int(r.worstGap * 1000)) ms")
        #expect(r.fastestReply > 0.85 && r.slowestReply < 1.5,
                "replies took \(Int(r.fastestReply * 1000))-\(Int(r.slowestReply * 1000)) ms; 980 ms expected")
        canary.client.sendClose()
        #expect(canary.client.wait { $0.closeCode == 1000 && $0.eof }, "the canary's own close is answered")
        #expect(eventually(timeout: 5) { h.connector.liveState().webSockets == 0 })
        // Inbound: the server counted every frame the canary sent (only the canary sent audio
        // on an active call).
        let received = HostileBench.counter(h.connector.metrics, "lexconnector_frames_received_total")
        #expect(received == r.framesSent, "server received \(received) of the canary's \(r.framesSent) frames")
        let late = HostileBench.counter(h.connector.metrics, "lexconnector_frames_late_total")

        var summary = "hostile input: \(timings.count) cases; \(floodSize) idle sockets cut off after "
            + String(format: "%.2f-%.2f s", closedAt.min() ?? 0, closedAt.max() ?? 0)
            + " (handshake timeout \(handshakeTimeout) s, \(floodSize - floodOpenAfterCases) closed before the cases ended); \(r); frames late \(late)\n"
        for (c, t) in timings { summary += String(format: "  %6.3f s  %@ -> %@\n", t, c.name, c.expected) }
        print(summary, terminator: "")
    }

    static let v2 = Harness.v2Path
    static func upgrade(_ path: String = v2, method: String = "GET", version: String = "HTTP/1.1", drop: Set<String> = [], extra: [String] = []) -> String {
        TestClient.upgradeRequest(path: path, method: method, version: version, drop: drop, extra: extra)
    }

    /// Run while the idle flood is in place.
    static let cases: [HostileCase] = httpCases + frameCases + callCases

    // MARK: - Before the upgrade

    static let httpCases: [HostileCase] = [
        HostileCase("garbage bytes instead of HTTP", expect: "400") { b in
            var junk = Junk(seed: 1)
            try b.expectHTTP(junk.bytes(600, excluding: [10, 13]) + [13, 10], status: 400, violation: "http_400")
        },
        HostileCase("garbage stream without a line end", expect: "414") { b in
            var junk = Junk(seed: 2)
            try b.expectHTTP(junk.bytes(16_384, excluding: [10]), status: 414, violation: "http_414")
        },
        HostileCase("HTTP/2 connection preface", expect: "505") { b in
            try b.expectHTTP("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", status: 505, violation: "http_505")
        },
        HostileCase("oversized request line", expect: "414") { b in
            try b.expectHTTP(upgrade(v2 + "?" + String(repeating: "a", count: 9000)), status: 414, violation: "http_414")
        },
        HostileCase("oversized header section", expect: "431") { b in
            try b.expectHTTP(upgrade(extra: ["X-Big: " + String(repeating: "v", count: 17_000)]), status: 431, violation: "http_431")
        },
        HostileCase("too many header fields", expect: "431") { b in
            try b.expectHTTP(upgrade(extra: (0..<101).map { "X-F\($0): \($0)" }), status: 431, violation: "http_431")
        },
        HostileCase("control character and line folding in headers", expect: "400, 400") { b in
            try b.expectHTTP(upgrade(extra: ["X-Nul: a\u{0}b"]), status: 400)
            try b.expectHTTP(upgrade(extra: ["X-Fold: a", " folded"]), status: 400)
            b.expectViolations("http_400", 2)
        },
        HostileCase("HTTP/1.0 upgrade", expect: "400") { b in
            let r = try b.expectHTTP(upgrade(version: "HTTP/1.0"), status: 400, violation: "http_400")
            #expect(r.text.contains("HTTP/1.1"), "\(b.caseName): \(r.text)")
        },
        HostileCase("upgrade without Sec-WebSocket-Key", expect: "400") { b in
            try b.expectHTTP(upgrade(drop: ["Sec-WebSocket-Key"]), status: 400, violation: "http_400")
        },
        HostileCase("Sec-WebSocket-Key not 16 bytes", expect: "400") { b in
            try b.expectHTTP(upgrade(drop: ["Sec-WebSocket-Key"], extra: ["Sec-WebSocket-Key: c2hvcnQ="]), status: 400, violation: "http_400")
        },
        HostileCase("WebSocket version 8", expect: "426 + Sec-WebSocket-Version: 13") { b in
            let r = try b.expectHTTP(upgrade(drop: ["Sec-WebSocket-Version"], extra: ["Sec-WebSocket-Version: 8"]), status: 426, violation: "http_426")
            #expect(r.headers["sec-websocket-version"] == "13", "\(b.caseName): \(r.headers)")
        },
        HostileCase("POST upgrade", expect: "405 + Allow: GET") { b in
            let r = try b.expectHTTP(upgrade(method: "POST"), status: 405, violation: "http_405")
            #expect(r.headers["allow"] == "GET", "\(b.caseName): \(r.headers)")
        },
        HostileCase("upgrade with a request body", expect: "413") { b in
            try b.expectHTTP(upgrade(extra: ["Content-Length: 5"]) + "hello", status: 413, violation: "http_413")
        },
        HostileCase("unknown path", expect: "404") { b in
            try b.expectHTTP(upgrade("/admin/../../etc/passwd"), status: 404)
            b.expectBadInput("route", 1)
        },
        HostileCase("bad Lex ids in the path", expect: "404 x6 with the reason") { b in
            let paths = [
                "/bots/ABCDEFGHI!/botAliases/TSTALIASID/botLocales/en_US/sessions/caller1/utterance",
                "/bots/ABCDEFGHIJ/botAliases/TSTALIAS/botLocales/en_US/sessions/caller1/utterance",
                "/bots/ABCDEFGHIJ/botAliases/TSTALIASID/botLocales/en_US/sessions/\(String(repeating: "x", count: 101))/utterance",
                "/bots/ABCDEFGHIJ/botAliases/TSTALIASID/botLocales/en_US/sessions/caller%ZZ/utterance",
                "/bots/ABCDEFGHIJ/botAliases/TSTALIASID/botLocales/en_US/sessions/caller%FF%FE/utterance",
                "/bot/Order__Flowers/alias/prod/user/caller1/content",
            ]
            for p in paths {
                let r = try b.expectHTTP(upgrade(p), status: 404)
                #expect(r.text.contains("must") || r.text.contains("percent"), "\(b.caseName): \(p) -> \(r.text)")
            }
            b.expectBadInput("route", paths.count)
        },
        HostileCase("plain GET on a call path", expect: "426") { b in
            try b.expectHTTP("GET \(v2) HTTP/1.1\r\nHost: x\r\n\r\n", status: 426)
            #expect(b.responses(426) == 1, "\(b.caseName)")
        },
    ]

    // MARK: - After the upgrade: the frame layer

    static let frameCases: [HostileCase] = [
        HostileCase("binary junk after a valid upgrade", expect: "1002") { b in
            let p = try b.call()
            var junk = Junk(seed: 3)
            p.send([0xDE] + junk.bytes(4095))
            try b.expectClose(p, code: 1002)
            b.expectViolations("ws_1002", 1)
        },
        HostileCase("junk in the same packet as the upgrade", expect: "1002") { b in
            let p = try b.peer()
            var junk = Junk(seed: 4)
            try p.handshake(path: v2, trailing: [0xF7] + junk.bytes(300))
            try b.expectClose(p, code: 1002)
            b.expectViolations("ws_1002", 1)
        },
        HostileCase("unmasked frame", expect: "1002") { b in
            let p = try b.call()
            p.send(TestClient.handmadeFrame(firstByte: 0x82, payload: [UInt8](repeating: 0, count: 640), masked: false))
            try b.expectClose(p, code: 1002, reasonContains: "masked")
            b.expectViolations("ws_1002", 1)
        },
        HostileCase("reserved opcodes", expect: "1002 x2") { b in
            for opcode: UInt8 in [0x3, 0xB] {
                let p = try b.call()
                p.send(TestClient.handmadeFrame(firstByte: 0x80 | opcode, payload: [1, 2, 3]))
                try b.expectClose(p, code: 1002, reasonContains: "opcode")
            }
            b.expectViolations("ws_1002", 2)
        },
        HostileCase("RSV bits without an extension", expect: "1002") { b in
            let p = try b.call()
            p.send(TestClient.handmadeFrame(firstByte: 0xC2, payload: [UInt8](repeating: 0, count: 640)))
            try b.expectClose(p, code: 1002, reasonContains: "reserved bits")
            b.expectViolations("ws_1002", 1)
        },
        HostileCase("fragmented control frame", expect: "1002") { b in
            let p = try b.call()
            p.send(TestClient.handmadeFrame(firstByte: 0x09, payload: Array("half a ping".utf8)))
            try b.expectClose(p, code: 1002, reasonContains: "fragmented control")
            b.expectViolations("ws_1002", 1)
        },
        HostileCase("control frame over 125 bytes", expect: "1002") { b in
            let p = try b.call()
            p.send(TestClient.handmadeFrame(firstByte: 0x89, payload: [UInt8](repeating: 7, count: 126)))
            try b.expectClose(p, code: 1002, reasonContains: "125")
            b.expectViolations("ws_1002", 1)
        },
        HostileCase("continuation with no message to continue", expect: "1002") { b in
            let p = try b.call()
            p.send(TestClient.handmadeFrame(firstByte: 0x80, payload: [0, 0]))
            try b.expectClose(p, code: 1002, reasonContains: "continuation")
            b.expectViolations("ws_1002", 1)
        },
        HostileCase("new message inside a fragmented one", expect: "1002") { b in
            let p = try b.call()
            p.sendFrame(.binary, [UInt8](repeating: 0, count: 320), fin: false)
            p.sendFrame(.binary, [UInt8](repeating: 0, count: 320))
            try b.expectClose(p, code: 1002, reasonContains: "fragmented")
            b.expectViolations("ws_1002", 1)
        },
        HostileCase("64-bit length with the high bit set", expect: "1002") { b in
            let p = try b.call()
            p.send(TestClient.handmadeFrame(firstByte: 0x82, payload: [], declaredLength: 1 << 63 | 640, lengthForm: 64))
            try b.expectClose(p, code: 1002, reasonContains: "high bit")
            b.expectViolations("ws_1002", 1)
        },
        HostileCase("64-bit length bomb (header only)", expect: "1009") { b in
            let p = try b.call()
            p.send(TestClient.handmadeFrame(firstByte: 0x82, payload: [], declaredLength: 1 << 62, lengthForm: 64))
            try b.expectClose(p, code: 1009)
            b.expectViolations("ws_1009", 1)
        },
        HostileCase("message over max_message_bytes in fragments", expect: "1009") { b in
            let limit = b.harness.connector.configuration.server.maxMessageBytes
            let p = try b.call()
            let piece = [UInt8](repeating: 0x41, count: limit / 2 - 100)
            p.sendFrame(.text, piece, fin: false)
            p.sendFrame(.continuation, piece, fin: false)
            p.sendFrame(.continuation, piece, fin: true)
            try b.expectClose(p, code: 1009, reasonContains: "\(limit)")
            b.expectViolations("ws_1009", 1)
        },
        HostileCase("invalid UTF-8 text", expect: "1007") { b in
            let p = try b.call()
            p.sendFrame(.text, Array("{\"event\":\"".utf8) + [0xC0, 0xAF] + Array("\"}".utf8))
            try b.expectClose(p, code: 1007)
            b.expectViolations("ws_1007", 1)
        },
        HostileCase("invalid UTF-8 across fragments", expect: "1007") { b in
            let p = try b.call()
            p.sendFrame(.text, Array("caf".utf8) + [0xC3], fin: false)
            p.sendFrame(.continuation, [0x28] + Array("more".utf8), fin: true)
            try b.expectClose(p, code: 1007)
            b.expectViolations("ws_1007", 1)
        },
        HostileCase("bad close codes", expect: "1002 x10") { b in
            let codes: [UInt16] = [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]
            for code in codes {
                let p = try b.call()
                p.sendFrame(.close, [UInt8(code >> 8), UInt8(code & 0xFF)] + Array("bye".utf8))
                try b.expectClose(p, code: 1002, reasonContains: "\(code)")
            }
            b.expectViolations("ws_1002", codes.count)
        },
        HostileCase("close frame with a 1-byte payload", expect: "1002") { b in
            let p = try b.call()
            p.sendFrame(.close, [0x03])
            try b.expectClose(p, code: 1002, reasonContains: "1-byte")
            b.expectViolations("ws_1002", 1)
        },
        HostileCase("close reason not UTF-8", expect: "1007") { b in
            let p = try b.call()
            p.sendFrame(.close, [0x03, 0xE8, 0xFF, 0xFE])
            try b.expectClose(p, code: 1007)
            b.expectViolations("ws_1007", 1)
        },
        HostileCase("ping flood", expect: "2000 pongs, same payloads, in order") { b in
            let p = try b.call(start: true)
            let count = 2000
            var wire: [UInt8] = []
            for i in 0..<count {
                wire += FrameEncoder.frame(.ping, withUnsafeBytes(of: UInt32(i).bigEndian, Array.init) + [UInt8](repeating: 0x50, count: 100), maskKey: TestClient.mask)
            }
            #expect(p.send(wire), "\(b.caseName): the server stopped reading")
            var pongs = 0
            while pongs < count, let f = try p.readFrameOrEOF() {
                guard f.opcode == .pong else { continue }
                let n = f.payload.prefix(4).reduce(0) { $0 << 8 | Int($1) }
                if n != pongs || f.payload.count != 104 { break }
                pongs += 1
            }
            #expect(pongs == count, "\(b.caseName): \(pongs) matching pongs of \(count)")
            p.sendFrame(.close, [0x03, 0xE8])
            #expect(try p.readEnding().code == 1000, "\(b.caseName): closed after the flood")
        },
        HostileCase("client that never reads", expect: "cut off at the output queue cap") { b in
            // Pings from a peer with a tiny receive window: the pongs pile up in the server's
            // output queue until the cap closes the socket.
            let p = try b.call(start: true, receiveBufferBytes: 4096)
            let ping = FrameEncoder.frame(.ping, [UInt8](repeating: 0x51, count: 125), maskKey: TestClient.mask)
            let batch = Array([[UInt8]](repeating: ping, count: 500).joined())
            var sent = 0
            while sent < 64 << 20, p.send(batch) { sent += batch.count }
            #expect(sent < 64 << 20, "\(b.caseName): the server kept accepting pings for \(sent) bytes")
            let got = try p.readUntilEOF()
            #expect(got < 16 << 20, "\(b.caseName): \(got) bytes of pongs before the cut")
            b.expectViolations("output_queue_overflow", 1)
        },
    ]

    // MARK: - After the upgrade: the call

    static let callCases: [HostileCase] = [
        HostileCase("audio before parameters, then nothing", expect: "1008 after start_timeout_ms (1 s)") { b in
            let p = try b.call()
            let opened = Date()
            p.sendFrame(.binary, [UInt8](repeating: 0, count: 640))
            let e = try b.expectClose(p, code: 1008, reasonContains: "no valid start message", answer: true)
            let after = Date().timeIntervalSince(opened)
            #expect(after >= 0.95 && after < 3, "\(b.caseName): closed after \(after) s")
            #expect(e.texts.contains { $0.contains("\"event\":\"error\"") }, "\(b.caseName): no error event before the close: \(e.texts)")
            b.expectBadInput("start_timeout", 1)
        },
        HostileCase("invalid start JSON", expect: "1008 + error event") { b in
            let p = try b.call()
            p.sendFrame(.text, Array("{\"event\":\"websocket:connected\",\"content-type\":".utf8))
            let e = try b.expectClose(p, code: 1008, reasonContains: "JSON", answer: true)
            #expect(e.texts.count == 1 && e.texts[0].contains("invalid start message"), "\(b.caseName): \(e.texts)")
            b.expectBadInput("start_parameters", 1)
        },
        HostileCase("deeply nested JSON as the start message", expect: "1008, no crash") { b in
            let p = try b.call()
            let depth = 30_000
            p.sendFrame(.text, [UInt8](repeating: UInt8(ascii: "["), count: depth) + [UInt8](repeating: UInt8(ascii: "]"), count: depth))
            try b.expectClose(p, code: 1008, reasonContains: "JSON", answer: true)
            b.expectBadInput("start_parameters", 1)
        },
        HostileCase("deeply nested JSON mid-call", expect: "ignored; the call stays up") { b in
            let p = try b.call(start: true)
            let depth = 30_000
            p.sendFrame(.text, Array("{\"event\":".utf8) + [UInt8](repeating: UInt8(ascii: "{"), count: depth))
            p.sendFrame(.ping, Array("alive".utf8))
            let pong = try p.readFrameOrEOF()
            #expect(pong?.opcode == .pong && pong?.payload == Array("alive".utf8), "\(b.caseName): \(String(describing: pong))")
            b.expectBadInput("text_message", 1)
            p.sendFrame(.close, [0x03, 0xE8])
            #expect(try p.readEnding().code == 1000, "\(b.caseName)")
        },
        HostileCase("odd-length audio frame", expect: "1003") { b in
            let p = try b.call(start: true)
            p.sendFrame(.binary, [UInt8](repeating: 0, count: 641))
            try b.expectClose(p, code: 1003, reasonContains: "641", answer: true)
            b.expectBadInput("audio_frame_size", 1)
        },
        HostileCase("audio frame over 8 frames' worth", expect: "1003") { b in
            let p = try b.call(start: true)
            p.sendFrame(.binary, [UInt8](repeating: 0, count: 640 * 8 + 2))
            try b.expectClose(p, code: 1003, reasonContains: "5122", answer: true)
            b.expectBadInput("audio_frame_size", 1)
        },
        HostileCase("empty audio frame", expect: "1003") { b in
            let p = try b.call(start: true)
            p.sendFrame(.binary, [])
            try b.expectClose(p, code: 1003, reasonContains: "0 bytes", answer: true)
            b.expectBadInput("audio_frame_size", 1)
        },
        HostileCase("text that is no Vonage event, mid-call", expect: "ignored; the call stays up") { b in
            let p = try b.call(start: true)
            for text in ["not json", "[1,2,3]", "{\"event\":5}", "{\"event\":\"websocket:dtmf\",\"digit\":\"99\"}"] {
                p.sendFrame(.text, Array(text.utf8))
            }
            p.sendFrame(.ping, Array("still there?".utf8))
            let pong = try p.readFrameOrEOF()
            #expect(pong?.opcode == .pong && pong?.payload == Array("still there?".utf8), "\(b.caseName): \(String(describing: pong))")
            b.expectBadInput("text_message", 3)
            b.expectBadInput("dtmf", 1)
            p.sendFrame(.close, [0x03, 0xE8])
            #expect(try p.readEnding().code == 1000, "\(b.caseName)")
        },
    ]

    // MARK: - Peers that vanish (run after the flood, against a baseline of one socket)

    static let disconnectCases: [HostileCase] = [
        HostileCase("abrupt disconnects mid-handshake", expect: "sockets released at once, no 408") { b in
            let heads = ["", "GET", "GET /ping HTTP/1.1\r\nHo", upgrade().replacingOccurrences(of: "\r\n\r\n", with: "\r\n")]
            for head in heads {
                for i in 0..<10 {
                    let p = try b.peer()
                    p.send(head)
                    if i % 2 == 0 { p.reset() } else { p.close() }
                }
            }
            b.expectOnlyTheCanaryLeft()
            #expect(b.violations("handshake_timeout") == 0, "\(b.caseName)")
        },
        HostileCase("abrupt disconnects mid-frame", expect: "calls end (1006) at once") { b in
            let frame = FrameEncoder.frame(.binary, [UInt8](repeating: 1, count: 640), maskKey: TestClient.mask)
            let ping = FrameEncoder.frame(.ping, Array("gone".utf8), maskKey: TestClient.mask)
            for start in [false, true] {
                for i in 0..<10 {
                    let p = try b.call(start: start)
                    // Half an audio frame, or a whole frame then half an audio frame (a ping on
                    // a started call: only the canary's audio may reach an active call).
                    p.send(i % 4 < 2 ? Array(frame.prefix(326)) : (start ? ping : frame) + frame.prefix(100))
                    if i % 2 == 0 { p.reset() } else { p.close() }
                }
            }
            b.expectOnlyTheCanaryLeft()
            #expect(b.harness.connector.liveState().pacedCalls == 1, "\(b.caseName): calls left on the pacers: \(b.harness.connector.liveState())")
        },
        HostileCase("reset with pongs in flight", expect: "closed at once") { b in
            for _ in 0..<5 {
                let p = try b.call(start: true)
                var wire: [UInt8] = []
                for _ in 0..<200 { wire += FrameEncoder.frame(.ping, [UInt8](repeating: 0x52, count: 125), maskKey: TestClient.mask) }
                p.send(wire)
                p.reset()
            }
            b.expectOnlyTheCanaryLeft()
        },
    ]
}
