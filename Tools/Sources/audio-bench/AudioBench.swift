import Audio
import CWebRTCVAD
import Foundation

/// Benchmarks of the audio path, printed as a Markdown section for BENCHMARKS.md.
///
///     swift run -c release --scratch-path .build-audio audio-bench [FIXTURES_DIR]
///
/// Input is the committed 20 dB pink-noise fixtures (speech and noise-only stretches).
/// Each figure is a median of 15 runs of about 0.1 s after a warm-up; variants compared with
/// each other run in turn (see `measure`).
@main
struct AudioBench {
    static func main() throws {
        let directory = CommandLine.arguments.dropFirst().first ?? "Tests/AudioTests/Fixtures"
        func track(_ name: String) throws -> WAV {
            do { return try WAV(contentsOf: URL(fileURLWithPath: directory).appendingPathComponent(name)) } catch {
                throw BenchError("\(error) (run from the repository root, or pass the fixtures directory)")
            }
        }
        let tracks = [(8000, try track("speech8-pink20.wav")), (16000, try track("speech16-pink20.wav"))]

        print("## Audio path\n")
        print("Command: `swift run -c release --scratch-path .build-audio audio-bench` (from the repository root).\n")
        print("Machine: \(cpuModel()), \(ProcessInfo.processInfo.activeProcessorCount) cores, "
            + "\(ProcessInfo.processInfo.operatingSystemVersionString); load average at start \(loadAverage()). "
            + "Date: \(Date().formatted(.iso8601)). Single thread; median of 15 interleaved runs.\n")
        print("| 20 ms frame at | bare `WebRtcVad_Process` | `VoiceActivityDetector` | VAD + `UtteranceSegmenter` without the noise gate | VAD + `UtteranceSegmenter` (default: noise gate) | ratio to bare |")
        print("|---|---|---|---|---|---|")
        for (rate, wav) in tracks {
            let n = rate / 50
            let samples = wav.samples
            let frames = samples.count / n
            let bare: (Int) throws -> Int = { count in
                guard let vad = WebRtcVad_Create() else { throw BenchError("WebRtcVad_Create failed") }
                defer { WebRtcVad_Free(vad) }
                _ = WebRtcVad_Init(vad)
                _ = WebRtcVad_set_mode(vad, 2)
                var voiced = 0
                samples.withUnsafeBufferPointer { all in
                    guard let base = all.baseAddress else { return }
                    for i in 0 ..< count { voiced += Int(WebRtcVad_Process(vad, Int32(rate), base + (i % frames) * n, n)) }
                }
                return voiced
            }
            let wrapper: (Int) throws -> Int = { count in
                let vad = try VoiceActivityDetector(sampleRate: rate, mode: 2)
                var voiced = 0
                try samples.withUnsafeBufferPointer { all in
                    for i in 0 ..< count {
                        let start = (i % frames) * n
                        if try vad.isSpeech(frame: UnsafeBufferPointer(rebasing: all[start ..< start + n])) { voiced += 1 }
                    }
                }
                return voiced
            }
            let segmenter: (Int, Double) throws -> Int = { count, margin in
                var configuration = UtteranceSegmenter.Configuration()
                configuration.noiseMargin = margin
                let segmenter = try UtteranceSegmenter(sampleRate: rate, configuration: configuration)
                var events = 0
                try samples.withUnsafeBufferPointer { all in
                    for i in 0 ..< count {
                        let start = (i % frames) * n
                        if try segmenter.process(frame: UnsafeBufferPointer(rebasing: all[start ..< start + n])) != nil { events += 1 }
                    }
                }
                return events
            }
            let ungated: (Int) throws -> Int = { try segmenter($0, 0) }
            let gated: (Int) throws -> Int = { try segmenter($0, UtteranceSegmenter.Configuration().noiseMargin) }
            let t = try measure(frames: frames, [bare, wrapper, ungated, gated])
            print("| \(rate / 1000) kHz | \(micro(t[0])) | \(micro(t[1])) | \(micro(t[2])) | \(micro(t[3])) | "
                + String(format: "%.2fx", t[3] / t[0]) + " |")
        }

        print("\n| resampler (speexdsp, quality 6), 20 ms frames | µs per frame | audio seconds per CPU second |")
        print("|---|---|---|")
        let source16 = tracks[1].1.samples
        for (from, to) in [(24000, 16000), (16000, 8000), (8000, 16000), (16000, 24000)] {
            // Input at `from`: the 16 kHz fixture, resampled once (outside the timing).
            let converter = try Resampler(from: 16000, to: from)
            let input = from == 16000 ? source16 : converter.process(source16) + converter.flush()
            let n = from / 50
            let frames = input.count / n
            let perFrame = try measure(frames: frames) { count in
                let resampler = try Resampler(from: from, to: to)
                var produced = 0
                input.withUnsafeBufferPointer { all in
                    for i in 0 ..< count {
                        let start = (i % frames) * n
                        produced += resampler.process(UnsafeBufferPointer(rebasing: all[start ..< start + n])).count
                    }
                }
                return produced
            }
            print("| \(from / 1000) → \(to / 1000) kHz | \(micro(perFrame)) | " + String(format: "%.0f", 0.020 / perFrame) + " |")
        }

        try inboundChunking(source16)

        let playback = try measure(frames: 50_000) { count in
            var buffer = PlaybackBuffer(frameBytes: 640)
            let chunk = [UInt8](repeating: 1, count: 4093)  // odd-sized chunks, as a network delivers them
            var handed = 0
            while handed < count {
                buffer.append(chunk)
                while let frame = buffer.nextFrame() { handed += frame.count / 640 }
            }
            return handed
        }
        print("\n`PlaybackBuffer` (640-byte frames from 4093-byte chunks): \(micro(playback)) per frame.")
    }

    /// A streaming call's way in: 640-byte messages of 16 kHz audio to 320-byte chunks of
    /// 8 kHz (speexdsp quality 4, `StreamingInbound`), with the resampler's returning form
    /// (bytes to samples, samples out, appended) against its appending form (the bytes read as
    /// samples where they are, the output written onto the chunk buffer).
    static func inboundChunking(_ source16: [Int16]) throws {
        let messages = stride(from: 0, to: source16.count - 320, by: 320).map { PCM.littleEndianBytes(source16[$0 ..< $0 + 320]) }
        func chunks(_ count: Int, _ feed: (Resampler, [UInt8], inout [Int16]) -> Void) throws -> Int {
            let resampler = try Resampler(from: 16000, to: 8000, quality: 4)
            var samples: [Int16] = []
            samples.reserveCapacity(2000)
            var bytes = 0
            for i in 0 ..< count {
                feed(resampler, messages[i % messages.count], &samples)
                var offset = 0
                while samples.count - offset >= 160 {
                    bytes += PCM.littleEndianBytes(samples[offset ..< offset + 160]).count
                    offset += 160
                }
                if offset > 0 { samples.removeFirst(offset) }
            }
            return bytes
        }
        let t = try measure(frames: messages.count, [
            { count in try chunks(count) { r, data, samples in samples += r.process(PCM.samples(littleEndian: data)) } },
            { count in
                try chunks(count) { r, data, samples in
                    data.withUnsafeBytes { raw in raw.withMemoryRebound(to: Int16.self) { r.process($0, appendingTo: &samples) } }
                }
            },
        ])
        print("\n| 16 kHz messages to 8 kHz 320-byte chunks (quality 4) | µs per 20 ms message |")
        print("|---|---|")
        print("| returning form: `PCM.samples`, `process(_:)`, appended | \(micro(t[0])) |")
        print("| appending form: bytes read in place, `process(_:appendingTo:)` | \(micro(t[1])) |")
    }

    /// Seconds per frame of each variant: the median of 15 rounds. A round runs every variant
    /// once, one after the other, on `count` frames (chosen so a run takes about 0.1 s), so a
    /// load change on a shared machine hits all variants alike.
    static func measure(frames: Int, _ variants: [(Int) throws -> Int]) throws -> [Double] {
        var sink = 0
        var count = max(frames, 1)
        for variant in variants { sink &+= try variant(count) }  // warm-up
        while true {
            let start = DispatchTime.now().uptimeNanoseconds
            sink &+= try variants[0](count)
            if DispatchTime.now().uptimeNanoseconds - start >= 100_000_000 { break }
            count *= 2
        }
        var runs = [[Double]](repeating: [], count: variants.count)
        for _ in 0 ..< 15 {
            for (index, variant) in variants.enumerated() {
                let start = DispatchTime.now().uptimeNanoseconds
                sink &+= try variant(count)
                runs[index].append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(count))
            }
        }
        if sink == Int.min { print("") }  // keeps the work observable
        return runs.map { $0.sorted()[$0.count / 2] }
    }

    static func measure(frames: Int, _ body: @escaping (Int) throws -> Int) throws -> Double {
        try measure(frames: frames, [body])[0]
    }

    static func micro(_ seconds: Double) -> String { String(format: "%.2f µs", seconds * 1e6) }

    static func loadAverage() -> String {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }

    static func cpuModel() -> String {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
              let name = line.split(separator: ":", maxSplits: 1).last
        else { return "unknown CPU" }
        return name.trimmingCharacters(in: .whitespaces)
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
