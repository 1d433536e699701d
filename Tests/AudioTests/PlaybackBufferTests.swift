import Testing
import TestSupport
@testable import Audio

@Suite struct PlaybackBufferTests {
    /// Chunks of any size (odd ones too, so samples split across chunks) come out as exact
    /// frames holding the same bytes in order, the last one padded after `finish()`.
    @Test(arguments: [320, 640, 960])
    func chunksOfAnySizeBecomeExactFrames(frameBytes: Int) {
        var random = SplitMix64(seed: UInt64(frameBytes))
        let stream = (0 ..< 50_001).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        var buffer = PlaybackBuffer(frameBytes: frameBytes)
        var out: [UInt8] = []
        var start = 0
        while start < stream.count {
            let end = min(stream.count, start + Int(random.next() % 1500))
            buffer.append(stream[start ..< end])
            start = end
            // Drain some of the time, so reads interleave with appends.
            while random.next() % 3 != 0, let frame = buffer.nextFrame() {
                #expect(frame.count == frameBytes)
                out += frame
            }
            #expect(buffer.queuedBytes == start - out.count)
        }
        while let frame = buffer.nextFrame() { out += frame }
        #expect(out == Array(stream.prefix(out.count)), "whole frames only before finish()")
        #expect(buffer.queuedBytes == stream.count % frameBytes)

        buffer.finish()
        #expect(buffer.availableFrames == 1)
        let last = buffer.nextFrame()
        #expect(last?.count == frameBytes)
        out += last ?? []
        #expect(buffer.nextFrame() == nil)
        let padding = frameBytes - stream.count % frameBytes
        #expect(out == stream + [UInt8](repeating: 0, count: padding))
    }

    @Test func neverHandsOutAnEmptyOrShortFrame() {
        var buffer = PlaybackBuffer(frameBytes: 640)
        #expect(buffer.nextFrame() == nil)
        buffer.finish()
        #expect(buffer.nextFrame() == nil, "finished with nothing queued: no frame")
        buffer.append([1, 2, 3])
        #expect(buffer.nextFrame() == nil, "a partial frame waits for more or for finish()")
        buffer.append(repeatElement(7, count: 637))
        buffer.finish()
        #expect(buffer.nextFrame() == [1, 2, 3] + [UInt8](repeating: 7, count: 637), "exact multiple: no padding")
        #expect(buffer.nextFrame() == nil)
    }

    @Test func queuedDurationFollowsTheBytes() {
        var buffer = PlaybackBuffer(frameBytes: 640)
        buffer.append([UInt8](repeating: 1, count: 960))
        #expect(buffer.queuedBytes == 960)
        #expect(buffer.queuedDuration == .milliseconds(30))
        #expect(buffer.availableFrames == 1)
        _ = buffer.nextFrame()
        #expect(buffer.queuedDuration == .milliseconds(10))
        #expect(PlaybackBuffer(frameBytes: 320, frameDuration: .milliseconds(10)).frameDuration == .milliseconds(10))
    }

    @Test func clearDropsEverything() {
        var buffer = PlaybackBuffer(frameBytes: 320)
        buffer.append([UInt8](repeating: 5, count: 5000))
        _ = buffer.nextFrame()
        buffer.finish()
        buffer.clear()
        #expect(buffer.queuedBytes == 0 && buffer.queuedDuration == .zero && !buffer.isFinished)
        #expect(buffer.nextFrame() == nil)
        buffer.append([UInt8](repeating: 9, count: 320))
        #expect(buffer.nextFrame() == [UInt8](repeating: 9, count: 320))
    }

    /// After `finish()`, new audio is a new stream: it starts on a frame of its own.
    @Test func appendAfterFinishStartsOnAFrame() {
        var buffer = PlaybackBuffer(frameBytes: 320)
        buffer.append([UInt8](repeating: 1, count: 101))
        buffer.finish()
        buffer.append([UInt8](repeating: 2, count: 320))
        #expect(!buffer.isFinished)
        #expect(buffer.nextFrame() == [UInt8](repeating: 1, count: 101) + [UInt8](repeating: 0, count: 219))
        #expect(buffer.nextFrame() == [UInt8](repeating: 2, count: 320))
        #expect(buffer.nextFrame() == nil)
    }
}
