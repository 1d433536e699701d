/// lexcall's command line, parsed without side effects (tests feed it argument lists).
public struct LexcallOptions: Equatable, Sendable {
    /// `ws://host:port/path`; `{call}` in it becomes the call's number (1, 2, ...).
    public var url = "ws://127.0.0.1:8000/bots/ABCDEFGHIJ/botAliases/TSTALIASID/botLocales/en_US/sessions/lexcall-{call}/utterance"
    public var wav: String?
    /// Seconds of the WAV to keep, `start..<end`.
    public var trim: ClosedRange<Double>?
    /// Start-message fields, in the order given.
    public var params: [(key: String, value: String)] = []
    public var rate = 16000
    public var dtmf: [DTMFEvent] = []
    public var out: String?
    /// Seconds of silence streamed after the WAV (single call); nil: until the replies are over.
    public var silenceAfter: Double?
    /// Load mode when set.
    public var calls: Int?
    public var ramp = 0.0
    public var duration = 30.0
    /// Seconds after the ramp before figures count (load mode).
    public var warmup = 2.0
    /// Silence between a reply's end (or the reply timeout) and the next utterance (load mode).
    public var pauseMs = 0
    /// A pause in the reply frames this long ends the reply.
    public var quietMs = 600
    /// Seconds to wait for a reply to an utterance before speaking again (load mode).
    public var replyTimeout = 10.0
    /// Port for the embedded Lex stand-in (0: any free port).
    public var lexStandinPort: UInt16?
    /// Length of the stand-in's spoken reply, in ms.
    public var replyMs = 1000
    public var serverPID: Int32?
    /// Read the server's /metrics (lexconnector) before and after the run.
    public var serverMetrics = false
    public var jsonPath: String?
    public var quiet = false
    /// Load mode: the share of calls (0...1, spread evenly) made as streaming calls: their path's
    /// last segment `/utterance` becomes `/conversation`.
    public var streamingShare = 0.0

    public init() {}

    /// Whether call `n` (1, 2, ...) is one of the `streamingShare` (evenly spread).
    public func isStreaming(call n: Int) -> Bool {
        guard streamingShare > 0 else { return false }
        return Int((Double(n) * streamingShare).rounded(.down)) > Int((Double(n - 1) * streamingShare).rounded(.down))
    }

    /// Call `n`'s path from the URL's (`{call}` replaced), made a streaming call when `isStreaming(call:)`.
    public func path(_ urlPath: String, call n: Int) -> String {
        guard isStreaming(call: n), urlPath.hasSuffix("/utterance") else { return urlPath }
        return String(urlPath.dropLast("/utterance".count)) + "/conversation"
    }

    public var isLoad: Bool { calls != nil }

    public static func == (a: LexcallOptions, b: LexcallOptions) -> Bool {
        a.url == b.url && a.wav == b.wav && a.trim == b.trim && a.params.map { "\($0.key)=\($0.value)" } == b.params.map { "\($0.key)=\($0.value)" }
            && a.rate == b.rate && a.dtmf == b.dtmf && a.out == b.out && a.silenceAfter == b.silenceAfter && a.calls == b.calls
            && a.ramp == b.ramp && a.duration == b.duration && a.warmup == b.warmup && a.pauseMs == b.pauseMs && a.quietMs == b.quietMs
            && a.replyTimeout == b.replyTimeout && a.lexStandinPort == b.lexStandinPort && a.replyMs == b.replyMs
            && a.serverPID == b.serverPID && a.serverMetrics == b.serverMetrics && a.jsonPath == b.jsonPath && a.quiet == b.quiet
            && a.streamingShare == b.streamingShare
    }

    /// The value of a start parameter given with `--param`.
    public func param(_ key: String) -> String? { params.last { $0.key == key }?.value }

    public static let usage = """
        usage: lexcall [--url ws://HOST:PORT/PATH] [--wav FILE] [--trim START:END] [--param KEY=VALUE]...
                       [--rate 8000|16000|24000] [--dtmf SECONDS:DIGIT,...] [--out reply.wav] [--silence-after SECONDS]
                       [--calls N --ramp SECONDS --duration SECONDS [--warmup SECONDS] [--pause-ms MS] [--reply-timeout SECONDS]]
                       [--quiet-ms MS] [--lex-standin PORT [--reply-ms MS]] [--server-pid PID] [--server-metrics] [--json FILE] [--quiet]
                       [--streaming-share FRACTION]

        One call (default): streams FILE (any rate, resampled) to the connector in real time as Vonage does
        (start message, 20 ms binary frames, then silence), prints what the server sends, writes the bot's
        audio to --out. Load (--calls N): N concurrent calls from one thread, started evenly over --ramp,
        kept up --duration seconds after the ramp, each speaking FILE and listening to the reply in turn.
        --lex-standin PORT runs an in-process Lex stand-in on 127.0.0.1:PORT (point the connector's
        endpoint_v1/endpoint_v2 at http://127.0.0.1:PORT); it answers every request with --reply-ms of tone,
        and StartConversation streams (HTTP/2 on the same port) likewise at each end of speech (its energy rule).
        A URL ending in /conversation makes streaming calls; --streaming-share F makes that share of a load's
        /utterance calls streaming ones, spread evenly, beside the turn-based rest.
        """

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    public static func parse(_ arguments: [String]) throws(ParseError) -> LexcallOptions {
        var o = LexcallOptions()
        var i = 0
        func value(_ name: String) throws(ParseError) -> String {
            i += 1
            guard i < arguments.count else { throw ParseError("\(name) needs a value") }
            return arguments[i]
        }
        func number(_ name: String, _ range: ClosedRange<Double>) throws(ParseError) -> Double {
            let v = try value(name)
            guard let d = Double(v), d.isFinite, range.contains(d) else {
                throw ParseError("\(name) \(v): expected a number from \(range.lowerBound) to \(range.upperBound)")
            }
            return d
        }
        func integer(_ name: String, _ range: ClosedRange<Int>) throws(ParseError) -> Int {
            let v = try value(name)
            guard let n = Int(v), range.contains(n) else {
                throw ParseError("\(name) \(v): expected a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return n
        }
        while i < arguments.count {
            let arg = arguments[i]
            switch arg {
            case "--url":
                o.url = try value(arg)
                if case .failure(let e) = WebSocketURL.parse(o.url) { throw ParseError("--url \(o.url): \(e)") }
            case "--wav": o.wav = try value(arg)
            case "--trim":
                let v = try value(arg)
                let parts = v.split(separator: ":", omittingEmptySubsequences: false)
                guard parts.count == 2, let a = Double(parts[0]), let b = Double(parts[1]), a >= 0, b > a else {
                    throw ParseError("--trim \(v): expected START:END in seconds, END after START")
                }
                o.trim = a...b
            case "--param":
                let v = try value(arg)
                guard let eq = v.firstIndex(of: "="), eq != v.startIndex else { throw ParseError("--param \(v): expected KEY=VALUE") }
                o.params.append((String(v[..<eq]), String(v[v.index(after: eq)...])))
            case "--rate":
                o.rate = try integer(arg, 8000...24000)
                guard [8000, 16000, 24000].contains(o.rate) else { throw ParseError("--rate \(o.rate): Vonage uses 8000, 16000 or 24000") }
            case "--dtmf": o.dtmf = try DTMFEvent.parseList(try value(arg))
            case "--out": o.out = try value(arg)
            case "--silence-after": o.silenceAfter = try number(arg, 0...3600)
            case "--calls": o.calls = try integer(arg, 1...100_000)
            case "--ramp": o.ramp = try number(arg, 0...3600)
            case "--duration": o.duration = try number(arg, 0...86_400)
            case "--warmup": o.warmup = try number(arg, 0...3600)
            case "--pause-ms": o.pauseMs = try integer(arg, 0...600_000)
            case "--quiet-ms": o.quietMs = try integer(arg, 60...60_000)
            case "--reply-timeout": o.replyTimeout = try number(arg, 0.1...3600)
            case "--lex-standin": o.lexStandinPort = UInt16(try integer(arg, 0...65535))
            case "--reply-ms": o.replyMs = try integer(arg, 0...600_000)
            case "--server-pid": o.serverPID = Int32(try integer(arg, 1...Int(Int32.max)))
            case "--server-metrics": o.serverMetrics = true
            case "--json": o.jsonPath = try value(arg)
            case "--quiet", "-q": o.quiet = true
            case "--streaming-share": o.streamingShare = try number(arg, 0...1)
            case "-h", "--help": throw ParseError(usage)
            default: throw ParseError("unknown argument \(arg)\n\(usage)")
            }
            i += 1
        }
        if o.isLoad == false, o.ramp != 0 { throw ParseError("--ramp needs --calls") }
        return o
    }
}

/// A DTMF key press sent at a time (seconds after the call's start message).
public struct DTMFEvent: Equatable, Sendable {
    public var at: Double
    public var digit: Character

    public init(at: Double, digit: Character) {
        self.at = at
        self.digit = digit
    }

    /// `2.5:1,3.0:#`
    public static func parseList(_ text: String) throws(LexcallOptions.ParseError) -> [DTMFEvent] {
        var out: [DTMFEvent] = []
        for item in text.split(separator: ",") {
            let parts = item.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let t = Double(parts[0]), t >= 0, t.isFinite, parts[1].count == 1,
                  let d = parts[1].first, "0123456789*#ABCD".contains(d)
            else { throw .init("--dtmf \(item): expected SECONDS:DIGIT with a digit of 0-9 * # A-D") }
            out.append(DTMFEvent(at: t, digit: d))
        }
        guard !out.isEmpty else { throw .init("--dtmf: no events") }
        return out.sorted { $0.at < $1.at }
    }
}
