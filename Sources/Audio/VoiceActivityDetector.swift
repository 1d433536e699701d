import CWebRTCVAD
import Foundation

/// One WebRTC voice activity detector (the VAD of webrtc-audio-processing, as in Chrome and
/// py-webrtcvad). It keeps state from frame to frame, so a call needs its own instance.
///
/// Not thread safe: use an instance from one queue at a time (a call's event loop).
public final class VoiceActivityDetector {
    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        /// The VAD runs at 8000, 16000, 32000 or 48000 Hz only.
        case unsupportedSampleRate(Int)
        /// Aggressiveness runs from 0 (flags the most audio as speech) to 3 (the least).
        case invalidMode(Int)
        /// A frame is 10, 20 or 30 ms of samples at the detector's rate.
        case invalidFrameLength(samples: Int, sampleRate: Int)
        /// The library could not allocate or initialise an instance.
        case creationFailed

        public var description: String {
            switch self {
            case .unsupportedSampleRate(let rate):
                "VAD sample rate \(rate) Hz is not supported: use 8000, 16000, 32000 or 48000 (resample first)"
            case .invalidMode(let mode):
                "VAD mode \(mode) is out of range: use 0 (least aggressive) to 3 (most aggressive)"
            case .invalidFrameLength(let samples, let rate):
                "VAD frame of \(samples) samples at \(rate) Hz is invalid: frames are 10, 20 or 30 ms "
                    + "(\(VoiceActivityDetector.frameLengths(sampleRate: rate).map(String.init).joined(separator: ", ")) samples)"
            case .creationFailed:
                "the WebRTC VAD could not be created (out of memory?)"
            }
        }
    }

    /// Rates the VAD accepts.
    public static let sampleRates = [8000, 16000, 32000, 48000]

    /// Valid frame lengths, in samples, at `sampleRate`: 10, 20 and 30 ms.
    public static func frameLengths(sampleRate: Int) -> [Int] {
        [10, 20, 30].map { sampleRate / 1000 * $0 }
    }

    public let sampleRate: Int
    public let mode: Int
    private let handle: OpaquePointer

    /// `WebRtcVad_Create` initialises process-wide function pointers (`WebRtcSpl_Init`), so
    /// creation is serialised: many calls may start at once on different loops.
    private static let creationLock = NSLock()

    public init(sampleRate: Int, mode: Int = 2) throws(Error) {
        guard Self.sampleRates.contains(sampleRate) else { throw .unsupportedSampleRate(sampleRate) }
        guard (0...3).contains(mode) else { throw .invalidMode(mode) }
        let created: OpaquePointer? = Self.creationLock.withLock {
            guard let vad = WebRtcVad_Create() else { return nil }
            guard WebRtcVad_Init(vad) == 0, WebRtcVad_set_mode(vad, Int32(mode)) == 0 else {
                WebRtcVad_Free(vad)
                return nil
            }
            return vad
        }
        guard let created else { throw .creationFailed }
        self.handle = created
        self.sampleRate = sampleRate
        self.mode = mode
    }

    deinit {
        WebRtcVad_Free(handle)
    }

    /// Whether `frame` (10, 20 or 30 ms of samples) holds speech.
    public func isSpeech(frame: UnsafeBufferPointer<Int16>) throws(Error) -> Bool {
        // WebRtcVad_Process checks the rate and length itself and returns -1 when they are
        // invalid (the only failure left once the instance is initialised).
        guard let samples = frame.baseAddress,
              case let result = WebRtcVad_Process(handle, Int32(sampleRate), samples, frame.count),
              result >= 0
        else {
            throw .invalidFrameLength(samples: frame.count, sampleRate: sampleRate)
        }
        return result == 1
    }

    /// Whether `frame` (10, 20 or 30 ms of samples) holds speech.
    public func isSpeech(frame: [Int16]) throws(Error) -> Bool {
        try frame.withUnsafeBufferPointer { (buffer) throws(Error) -> Bool in
            try isSpeech(frame: buffer)
        }
    }
}
