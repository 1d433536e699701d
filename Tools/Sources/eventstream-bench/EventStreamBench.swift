// CPU cost of the StartConversation hot paths, per event: decoding and mapping one
// AudioResponseEvent (100 ms of 16 kHz PCM) and encoding, signing and framing one
// AudioInputEvent of 20, 100 and 200 ms of 8 kHz PCM, by the generic path and by the audio
// event's fast path (the same bytes). Run: swift run --package-path Tools -c release eventstream-bench;
// times are process CPU time, so a loaded machine inflates them less than wall time.
import Foundation
import Lex
@main struct Bench {
    static func main() throws {
        let chunk = [UInt8](repeating: 7, count: 3200) // 100 ms of 16 kHz PCM
        let out = StartConversation.OutputEvent.audioResponse(.init(audioChunk: chunk, contentType: "audio/pcm", eventId: "RESPONSE-12"))
        let wire = try out.message().encoded()
        let n = 20000
        var t0 = cpuNanos()
        var total = 0
        for _ in 0..<n {
            var d = EventStreamDecoder()
            for m in try d.feed(wire) {
                if case .audioResponse(let e) = try StartConversation.OutputEvent(message: m) { total += e.audioChunk.count }
            }
        }
        var dt = Double(cpuNanos() - t0) / Double(n)
        print("decode+map AudioResponseEvent (3200 B audio, \(wire.count) B wire): \(Int(dt)) ns each (checksum \(total))")
        let signer = SigV4Signer(credentials: AWSCredentials(accessKeyId: "AKID", secretAccessKey: "s"), region: "eu-west-2")
        // The events' dates as the caller makes them (StreamingConversation.currentDate): one
        // SigV4Date a second, shared by its 50 events.
        let dates = (0..<(n / 50 + 1)).map { SigV4Date(unixSeconds: 1_700_000_000 + Int64($0)) }
        for (bytes, ms) in [(320, 20), (1600, 100), (3200, 200)] {
            let chunk = [UInt8](repeating: 1, count: bytes)
            let input = StartConversation.InputEvent.audioInput(.init(audioChunk: chunk))
            // The generic path (every event type): the event's message, then signedFrame.
            var es = SigV4EventSigner(signer: signer, seedSignature: String(repeating: "ab", count: 32))!
            t0 = cpuNanos()
            for i in 0..<n {
                total += try es.signedFrame(input.message(), date: dates[i / 50]).count
            }
            dt = Double(cpuNanos() - t0) / Double(n)
            print("encode+sign+frame AudioInputEvent (\(bytes) B audio, \(ms) ms at 8 kHz), generic: \(Int(dt)) ns each, "
                + "\(Int(dt * 1000 / Double(ms) / 1000)) us per call-second (checksum \(total))")
            // The audio event's fast path, the same bytes (StreamingConversation.sendAudio's).
            var fast = SigV4EventSigner(signer: signer, seedSignature: String(repeating: "ab", count: 32))!
            t0 = cpuNanos()
            for i in 0..<n {
                total += try fast.withSignedAudioInputFrame(chunk, date: dates[i / 50]) { $0.count }
            }
            dt = Double(cpuNanos() - t0) / Double(n)
            print("encode+sign+frame AudioInputEvent (\(bytes) B audio, \(ms) ms at 8 kHz), fast path: \(Int(dt)) ns each, "
                + "\(Int(dt * 1000 / Double(ms) / 1000)) us per call-second (checksum \(total))")
        }
    }
}
func cpuNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
