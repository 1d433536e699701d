import Audio
import Foundation

/// Runs the real `UtteranceSegmenter` (WebRTC VAD included) over the noisy calls of
/// `scripts/fixtures/make-segmentation-fixtures.sh` and prints, per condition (rate, noise, SNR), a
/// Markdown table scored against the calls' ground truth.
///
///     scripts/fixtures/make-segmentation-fixtures.sh && swift run --package-path Tools -c release segmentation-bench [DIR] [options]
///
/// DIR defaults to `.cache/segmentation`. Options set `UtteranceSegmenter.Configuration`
/// fields: `--sensitivity N`, `--noise-margin DB` (0: no noise gate, the VAD alone),
/// `--spread-factor X`, `--gate-hangover MS`, `--rise-time MS`, `--silence-time MS`;
/// `--per-call` prints a row per call instead of per condition. For diagnosis,
/// `SEGMENTATION_BENCH_TRACE=CALL` prints that call frame by frame (time, energy, gate, VAD,
/// ground truth, state, event) and `SEGMENTATION_BENCH_FLOOR=1` each call's final floor.
@main
struct SegmentationBench {
    static func main() throws {
        var arguments = Array(CommandLine.arguments.dropFirst())
        var configuration = UtteranceSegmenter.Configuration()
        var directory = ".cache/segmentation"
        var perCall = false
        while let argument = arguments.first {
            arguments.removeFirst()
            func value() throws -> Double {
                guard let text = arguments.first, let number = Double(text) else { throw BenchError("\(argument) needs a number") }
                arguments.removeFirst()
                return number
            }
            switch argument {
            case "--sensitivity": configuration.sensitivity = Int(try value())
            case "--noise-margin": configuration.noiseMargin = try value()
            case "--silence-time": configuration.silenceTime = Int(try value())
            case "--per-call": perCall = true
            case "--spread-factor": configuration.noiseSpreadFactor = try value()
            case "--gate-hangover": configuration.gateHangover = Int(try value())
            case "--rise-time": configuration.noiseRiseTime = Int(try value())
            case let path where !path.hasPrefix("-"): directory = path
            default: throw BenchError("unknown option \(argument): use [DIR] [--sensitivity N] [--noise-margin DB] [--spread-factor X] [--gate-hangover MS] [--rise-time MS] [--silence-time MS] [--per-call]")
            }
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
        guard !names.isEmpty else {
            throw BenchError("no calls in \(directory): run scripts/fixtures/make-segmentation-fixtures.sh \(directory) first")
        }
        // Condition: the name without the call's letter ("a16-pink20" -> "16 kHz pink 20 dB").
        var scores: [Condition: Score] = [:]
        for name in names {
            let call = try Call(directory: directory, name: name)
            scores[call.condition(perCall ? name : nil), default: Score()].add(try score(call, configuration))
        }
        let c = configuration
        print("Configuration: sensitivity \(c.sensitivity), silence_time \(c.silenceTime) ms, clip_min \(c.clipMin) ms, "
            + "clip_max \(c.clipMax) ms, pre_roll \(c.preRoll) ms, noise_margin \(c.noiseMargin) dB, "
            + "noise_spread_factor \(c.noiseSpreadFactor), gate_hangover \(c.gateHangover) ms, noise_rise_time \(c.noiseRiseTime) ms. "
            + "\(names.count) calls in \(directory).\n")
        print("| rate | noise | SNR | utterances | found once | missed | split | merged | false triggers (sent) | speech clipped | non-speech sent | cut at clip_max |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for condition in scores.keys.sorted() {
            let s = scores[condition]!
            let clipped = s.speechSamples == 0 ? 0 : 100 * Double(s.clippedSamples) / Double(s.speechSamples)
            print("| \(condition.call.map { $0 + " " } ?? "")\(condition.rate / 1000) kHz | \(condition.noise) | \(condition.snr.map { "\($0) dB" } ?? "-") | \(s.truths) | "
                + "\(s.foundOnce) | \(s.missed) | \(s.split) | \(s.merged) | \(s.falseTriggers) (\(s.falseSent)) | "
                + String(format: "%.2f%%", clipped) + " | " + String(format: "%.1f s", s.nonSpeechSeconds) + " | \(s.maximumLength) |")
        }
    }

    /// Feeds the call frame by frame and scores what the segmenter produced.
    static func score(_ call: Call, _ configuration: UtteranceSegmenter.Configuration) throws -> Score {
        let rate = call.wav.sampleRate
        let segmenter = try UtteranceSegmenter(sampleRate: rate, configuration: configuration)
        let n = segmenter.frameLength
        let samples = call.wav.samples
        // Spans [start, end) in samples of every trigger; `sent` for utterances Lex would receive.
        var spans: [(start: Int, end: Int, sent: Bool)] = []
        var utterances: [Utterance] = []
        var openedAt = 0
        var score = Score()
        func record(_ event: UtteranceSegmenter.Event?) {
            switch event {
            case .speechStarted: openedAt = segmenter.position - configuration.triggerWindow * rate / 1000
            case .utteranceEnded(let u):
                utterances.append(u)
                spans.append((u.startSample, u.endSample, true))
                if u.reason == .maximumLength { score.maximumLength += 1 }
            case .utteranceDiscarded: spans.append((openedAt, segmenter.position, false))
            case nil: break
            }
        }
        // SEGMENTATION_BENCH_TRACE=CALL prints that call frame by frame (time, energy, gate, VAD, state).
        let trace = ProcessInfo.processInfo.environment["SEGMENTATION_BENCH_TRACE"] == call.name
        var meter = NoiseFloor(sampleRate: rate, margin: 0, spreadFactor: 0)
        let vad = try VoiceActivityDetector(sampleRate: rate, mode: configuration.sensitivity)
        try samples.withUnsafeBufferPointer { all in
            for start in stride(from: 0, through: samples.count - n, by: n) {
                let frame = UnsafeBufferPointer(rebasing: all[start ..< start + n])
                let gate = segmenter.noiseFloor.gate ?? 0
                let event = try segmenter.process(frame: frame)
                if trace {
                    let inTruth = call.truth.utterances.contains { $0.start <= start && start < $0.end }
                    print(String(format: "%7.2f %5.1f %5.1f %@ %@ %@ %@", Double(start) / Double(rate), meter.energy(of: frame), gate,
                                 try vad.isSpeech(frame: frame) ? "V" : ".", inTruth ? "T" : ".", segmenter.isSpeaking ? "S" : ".",
                                 event.map { "\($0)".prefix(40).description } ?? ""))
                }
                record(event)
            }
        }
        record(segmenter.flush())
        if ProcessInfo.processInfo.environment["SEGMENTATION_BENCH_FLOOR"] != nil, let level = segmenter.noiseFloor.level {
            print(call.name, String(format: "floor %.1f dB, spread %.1f dB, gate %.1f dB", level, segmenter.noiseFloor.spread, segmenter.noiseFloor.gate ?? 0))
        }

        let truths = call.truth.utterances
        func overlaps(_ a: (Int, Int), _ b: (Int, Int)) -> Bool { a.0 < b.1 && b.0 < a.1 }
        for span in spans {
            let hits = truths.filter { overlaps((span.start, span.end), ($0.start, $0.end)) }.count
            if hits == 0 {
                score.falseTriggers += 1
                if span.sent { score.falseSent += 1 }
            }
            if hits > 1 && span.sent { score.merged += 1 }
        }
        score.truths = truths.count
        for t in truths {
            let covering = utterances.filter { overlaps(($0.startSample, $0.endSample), (t.start, t.end)) }
            switch covering.count {
            case 0: score.missed += 1; continue
            case 1: score.foundOnce += 1
            default: score.split += 1
            }
            score.speechSamples += t.end - t.start
            let covered = covering.reduce(0) { $0 + max(0, min($1.endSample, t.end) - max($1.startSample, t.start)) }
            score.clippedSamples += t.end - t.start - covered
        }
        for u in utterances {
            let speech = truths.reduce(0) { $0 + max(0, min(u.endSample, $1.end) - max(u.startSample, $1.start)) }
            score.nonSpeechSeconds += Double(u.samples.count - speech) / Double(rate)
        }
        return score
    }
}

/// One call of the fixture set: its audio and ground truth (scripts/fixtures/segmentation_fixtures.py).
struct Call {
    struct Truth: Decodable {
        struct Interval: Decodable { let start: Int; let end: Int }
        let sample_rate: Int
        let noise: String?
        let snr_db: Int?
        let utterances: [Interval]
    }

    let name: String
    let wav: WAV
    let truth: Truth
    func condition(_ call: String?) -> Condition {
        Condition(call: call, rate: truth.sample_rate, noise: truth.noise ?? "clean", snr: truth.snr_db)
    }

    init(directory: String, name: String) throws {
        self.name = name
        let base = URL(fileURLWithPath: directory).appendingPathComponent(name)
        wav = try WAV(contentsOf: base.appendingPathExtension("wav"))
        truth = try JSONDecoder().decode(Truth.self, from: Data(contentsOf: base.appendingPathExtension("json")))
    }
}

struct Condition: Hashable, Comparable {
    /// The call's name, with --per-call.
    let call: String?
    let rate: Int
    let noise: String
    let snr: Int?

    static func < (a: Condition, b: Condition) -> Bool {
        let order = ["clean", "white", "pink", "brown", "babble"]
        func key(_ c: Condition) -> (Int, Int, Int) { (c.rate, order.firstIndex(of: c.noise) ?? order.count, -(c.snr ?? 100)) }
        return key(a) < key(b) || key(a) == key(b) && (a.call ?? "") < (b.call ?? "")
    }
}

/// Counts over the calls of one condition.
struct Score {
    var truths = 0, foundOnce = 0, missed = 0, split = 0, merged = 0
    /// Triggers wholly in noise, and those of them that became an utterance (sent to Lex).
    var falseTriggers = 0, falseSent = 0
    /// Ground-truth samples of the utterances not missed, and those of them outside every utterance.
    var speechSamples = 0, clippedSamples = 0
    /// Audio of the utterances outside every ground-truth interval (pre-roll and hangover included).
    var nonSpeechSeconds = 0.0
    var maximumLength = 0

    mutating func add(_ o: Score) {
        truths += o.truths; foundOnce += o.foundOnce; missed += o.missed; split += o.split; merged += o.merged
        falseTriggers += o.falseTriggers; falseSent += o.falseSent
        speechSamples += o.speechSamples; clippedSamples += o.clippedSamples
        nonSpeechSeconds += o.nonSpeechSeconds; maximumLength += o.maximumLength
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
