import Audio

/// What a simulated caller says, as the 20 ms frames Vonage would send at the call's rate.
public struct CallAudio: Sendable, Equatable {
    public let rate: Int
    /// Little-endian 16-bit PCM frames, each `rate / 50` samples.
    public let frames: [[UInt8]]
    /// Index of the last frame whose peak reaches `speechThreshold` (the end of speech);
    /// nil when the audio is silent.
    public let lastSpeechFrame: Int?

    /// -30 dBFS: quieter frames count as silence when looking for the end of speech.
    public static let speechThreshold: Int16 = 1000

    public var frameBytes: Int { rate / 50 * 2 }

    /// Converts `samples` at `sourceRate` to frames at `rate`: resampled with the speexdsp
    /// resampler (its filter delay removed, so the audio keeps its timing and length), the last
    /// frame padded with silence.
    public init(samples: [Int16], sourceRate: Int, rate: Int) throws(Resampler.Error) {
        var pcm = samples
        if sourceRate != rate {
            let r = try Resampler(from: sourceRate, to: rate)
            pcm = r.process(samples) + r.flush()
            let wanted = Int((Double(samples.count) * Double(rate) / Double(sourceRate)).rounded())
            pcm = Array(pcm.dropFirst(min(r.outputLatency, pcm.count)).prefix(wanted))
        }
        let perFrame = rate / 50
        if pcm.count % perFrame != 0 { pcm += [Int16](repeating: 0, count: perFrame - pcm.count % perFrame) }
        var frames: [[UInt8]] = []
        var last: Int?
        frames.reserveCapacity(pcm.count / perFrame)
        for (i, start) in stride(from: 0, to: pcm.count, by: perFrame).enumerated() {
            let frame = pcm[start..<(start + perFrame)]
            if frame.contains(where: { $0 >= Self.speechThreshold || $0 <= -Self.speechThreshold }) { last = i }
            frames.append(PCM.littleEndianBytes(frame))
        }
        self.rate = rate
        self.frames = frames
        lastSpeechFrame = last
    }

    /// A WAV file's samples, optionally cut to `trim` (seconds), at the call's rate.
    public init(wav: WAV, trim: ClosedRange<Double>?, rate: Int) throws(Resampler.Error) {
        var samples = wav.samples
        if let trim {
            let a = min(samples.count, Int(trim.lowerBound * Double(wav.sampleRate)))
            let b = min(samples.count, max(a, Int(trim.upperBound * Double(wav.sampleRate))))
            samples = Array(samples[a..<b])
        }
        try self.init(samples: samples, sourceRate: wav.sampleRate, rate: rate)
    }

    /// No speech at all (idle calls).
    public static func silence(rate: Int) -> CallAudio {
        // Rate is one of Vonage's; the resampler is not involved.
        (try? CallAudio(samples: [], sourceRate: rate, rate: rate)) ?? CallAudio(rate: rate)
    }

    private init(rate: Int) {
        self.rate = rate
        frames = []
        lastSpeechFrame = nil
    }
}

/// The start message Vonage sends first: `event`, `content-type` and the NCCO headers.
public enum StartMessage {
    public static func json(rate: Int, params: [(key: String, value: String)]) -> String {
        var fields: [(String, String)] = [("event", "websocket:connected"), ("content-type", "audio/l16;rate=\(rate)")]
        for (k, v) in params {
            if let i = fields.firstIndex(where: { $0.0 == k }) { fields[i].1 = v } else { fields.append((k, v)) }
        }
        return "{" + fields.map { "\(jsonString($0.0)):\(jsonValue($0.1))" }.joined(separator: ",") + "}"
    }

    /// Values that are JSON objects, arrays, numbers or booleans go as they are (as an NCCO
    /// `headers` object would carry them); anything else as a string.
    static func jsonValue(_ v: String) -> String {
        if v == "true" || v == "false" || Int(v) != nil { return v }
        if (v.hasPrefix("{") && v.hasSuffix("}")) || (v.hasPrefix("[") && v.hasSuffix("]")) { return v }
        return jsonString(v)
    }

    public static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    /// The start message with the secret and session token replaced, for printing.
    public static func redacted(rate: Int, params: [(key: String, value: String)]) -> String {
        json(rate: rate, params: params.map { ["aws_secret", "aws_session_token"].contains($0.key) ? ($0.key, "<redacted>") : $0 })
    }

    public static func dtmf(_ digit: Character) -> String {
        "{\"event\":\"websocket:dtmf\",\"digit\":\(jsonString(String(digit))),\"duration\":260}"
    }
}
