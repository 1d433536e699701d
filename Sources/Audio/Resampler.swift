import CSpeexDSP

/// Streaming sample-rate conversion of 16-bit mono audio with the speexdsp resampler (the one
/// FreeSWITCH and Asterisk use). State carries from one chunk to the next, so a stream cut
/// into chunks of any size gives the same samples as the whole stream in one call.
///
/// The filter delays the audio by `outputLatency` samples: the first output samples are the
/// filter filling up, and each chunk of input yields its exact share of output
/// (`chunk × outputRate / inputRate`, fractions carried), which keeps 20 ms frames 20 ms long.
/// `flush()` returns the delayed tail at the end of a stream.
///
/// Not thread safe: use an instance from one queue at a time.
public final class Resampler {
    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        case invalidRate(Int)
        case invalidQuality(Int)
        case creationFailed(String)

        public var description: String {
            switch self {
            case .invalidRate(let rate): "resampler rate \(rate) Hz is invalid: use 1000 to 192000 Hz"
            case .invalidQuality(let q): "resampler quality \(q) is invalid: use 0 (fastest) to 10 (best)"
            case .creationFailed(let why): "the speexdsp resampler could not be created: \(why)"
            }
        }
    }

    public let inputRate: Int
    public let outputRate: Int
    public let quality: Int
    /// Delay of the output, in output samples.
    public let outputLatency: Int
    private let inputLatency: Int
    private let state: OpaquePointer
    /// The first byte of a sample split across two `process(littleEndian:)` chunks.
    private var pendingByte: UInt8?

    /// `quality` 0 to 10 (speexdsp's scale: 3 is its VoIP setting, 5 its desktop one). The
    /// default, 6, is the lowest that stays flat (within 0.2 dB) up to 90% of the lower
    /// Nyquist frequency; every setting attenuates tones above it by more than 80 dB.
    public init(from inputRate: Int, to outputRate: Int, quality: Int = 6) throws(Error) {
        for rate in [inputRate, outputRate] where !(1000...192_000).contains(rate) { throw .invalidRate(rate) }
        guard (0...10).contains(quality) else { throw .invalidQuality(quality) }
        var err: Int32 = 0
        guard let state = speex_resampler_init(1, UInt32(inputRate), UInt32(outputRate), Int32(quality), &err),
              err == RESAMPLER_ERR_SUCCESS
        else { throw .creationFailed(String(cString: speex_resampler_strerror(err))) }
        self.state = state
        self.inputRate = inputRate
        self.outputRate = outputRate
        self.quality = quality
        inputLatency = Int(speex_resampler_get_input_latency(state))
        outputLatency = Int(speex_resampler_get_output_latency(state))
    }

    deinit {
        speex_resampler_destroy(state)
    }

    /// Resamples the next chunk of the stream.
    public func process(_ input: UnsafeBufferPointer<Int16>) -> [Int16] {
        var output: [Int16] = []
        output.reserveCapacity(input.count * outputRate / inputRate + 16)
        process(input, appendingTo: &output)
        return output
    }

    public func process(_ input: [Int16]) -> [Int16] {
        input.withUnsafeBufferPointer { process($0) }
    }

    /// Resamples the next chunk of the stream onto the end of `output`: the same samples as
    /// `process(_:)`, without an array of their own (no allocation once `output` has room).
    public func process(_ input: UnsafeBufferPointer<Int16>, appendingTo output: inout [Int16]) {
        guard let source = input.baseAddress, !input.isEmpty else { return }
        let capacity = input.count * outputRate / inputRate + 16
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: capacity))
        let produced = output.withUnsafeMutableBufferPointer { out -> Int in
            guard let target = out.baseAddress.map({ $0 + start }) else { return 0 }
            var consumed = 0, written = 0
            while consumed < input.count {
                var inLength = UInt32(input.count - consumed)
                var outLength = UInt32(capacity - written)
                speex_resampler_process_int(state, 0, source + consumed, &inLength, target + written, &outLength)
                if inLength == 0 { break }
                consumed += Int(inLength)
                written += Int(outLength)
            }
            assert(consumed == input.count, "output capacity too small for the resampling ratio")
            return written
        }
        output.removeLast(capacity - produced)
    }

    /// Resamples the next chunk of a stream of 16-bit little-endian PCM bytes (a Lex reply as
    /// it arrives): a chunk may end in the middle of a sample, whose first byte is kept for
    /// the next chunk.
    public func process(littleEndian bytes: some Collection<UInt8>) -> [UInt8] {
        var joined: [UInt8] = []
        joined.reserveCapacity(bytes.count + 1)
        if let pendingByte { joined.append(pendingByte) }
        joined.append(contentsOf: bytes)
        pendingByte = joined.count % 2 == 1 ? joined.removeLast() : nil
        return PCM.littleEndianBytes(process(PCM.samples(littleEndian: joined)))
    }

    /// Ends the stream: returns the samples still held in the filter (`outputLatency` of them,
    /// give or take one) and resets the state for a new stream.
    public func flush() -> [Int16] {
        let tail = process([Int16](repeating: 0, count: inputLatency))
        reset()
        return tail
    }

    /// Forgets the stream so far (for a new, unrelated stream).
    public func reset() {
        speex_resampler_reset_mem(state)
        pendingByte = nil
    }
}
