#if canImport(Glibc)
import Glibc
#endif
import LexcallCore
import WebSocketProtocol

/// Reading: bytes from a call's socket, the handshake answer, frames, reply audio.
extension CallEngine {
    func readable(_ c: Call, _ t: UInt64) {
        if c.state == .connecting { sendHandshake(c, t); return }
        guard c.fd >= 0 else { return }
        while true {
            let n = read(c.fd, readBuffer.baseAddress, readBuffer.count)
            if n > 0 {
                let bytes = UnsafeRawBufferPointer(rebasing: readBuffer[0..<n])
                if c.state == .handshaking {
                    c.handshakeBytes.append(contentsOf: bytes)
                    switch ClientHandshake.check(c.handshakeBytes, expectedAccept: c.expectedAccept) {
                    case .incomplete: break
                    case .refused(let why):
                        stats.refused[why, default: 0] += 1
                        fail(c, "upgrade refused: \(why)", t)
                        return
                    case .upgraded(let length):
                        let rest = c.handshakeBytes[length...]
                        c.handshakeBytes = []
                        opened(c, leftover: rest, t)
                    }
                } else {
                    c.decoder.append(bytes)
                    decodeFrames(c, t)
                }
                if c.fd < 0 || n < readBuffer.count { return }
            } else if n == 0 {
                connectionLost(c, c.state == .handshaking ? "connection closed during the handshake" : "connection closed without a close frame", t)
                return
            } else {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
                connectionLost(c, "read: \(errnoText())", t)
                return
            }
        }
    }

    func received(_ c: Call, _ bytes: ArraySlice<UInt8>, _ t: UInt64) {
        c.decoder.append(bytes)
        decodeFrames(c, t)
    }

    func decodeFrames(_ c: Call, _ t: UInt64) {
        while c.fd >= 0 {
            let frame: WebSocketFrame?
            do { frame = try c.decoder.next() } catch {
                stats.protocolErrors += 1
                fail(c, "protocol violation by the server: \(error)", t)
                return
            }
            guard let frame else { return }
            switch frame.opcode {
            case .binary, .continuation:
                audioFrame(c, frame.payload, t)
            case .text:
                let text = String(decoding: frame.payload, as: UTF8.self)
                stats.texts += 1
                if text == "ok" { stats.oks += 1 }
                if text.contains("\"clear\"") { stats.clears += 1 }
                narrate(c, t, "<- \(text)")
            case .close:
                let code = frame.payload.count >= 2 ? UInt16(frame.payload[0]) << 8 | UInt16(frame.payload[1]) : 1005
                let reason = frame.payload.count > 2 ? String(decoding: frame.payload[2...], as: UTF8.self) : ""
                if c.state == .closing {
                    narrate(c, t, "<- close \(code) \(reason)")
                    finish(c, t, completed: true)
                } else {
                    c.closeCode = code
                    c.closeReason = reason
                    c.closedByServer = true
                    stats.closedByServer[code, default: 0] += 1
                    narrate(c, t, "<- close \(code) \(reason)")
                    write(c, FrameEncoder.frame(.close, Array(frame.payload.prefix(2)), maskKey: maskKey), t)
                    finish(c, t, completed: !options.isLoad && code == 1000)
                }
                return
            case .ping:
                write(c, FrameEncoder.frame(.pong, frame.payload, maskKey: maskKey), t)
            case .pong:
                break
            }
        }
    }

    func audioFrame(_ c: Call, _ payload: [UInt8], _ t: UInt64) {
        stats.framesReceived += 1
        if payload.count != audio.frameBytes { stats.wrongSize += 1 }
        if !options.isLoad { c.replyAudio += payload }
        c.lastReplyFrame = t
        var ended: ReplyTracker.EndedReply?
        let arrival = c.tracker.frame(at: t, ended: &ended)
        if let ended { replyEnded(c, ended, interrupted: false) }
        let measured = inWindow(t)
        if measured { stats.windowFramesReceived += 1 }
        switch arrival {
        case .started:
            c.replyStarts.append(t)
            if case .awaitingReply = c.script {
                if inWindow(c.lastSpeechEnd) { stats.replyLatency.record(t - c.lastSpeechEnd) }
                narrate(c, t, "<- reply started, \(milliseconds(t - c.lastSpeechEnd)) ms after the end of speech")
            } else {
                narrate(c, t, "<- reply started")
            }
            switch c.script {
            case .awaitingReply, .pausing: c.script = .hearing
            case .speaking, .hearing, .silent: break
            }
        case .continued(let gap, let late):
            if measured {
                stats.gaps.record(gap)
                if late { stats.lateFrames += 1 }
            }
        }
    }

    func replyEnded(_ c: Call, _ r: ReplyTracker.EndedReply, interrupted: Bool) {
        let measured = inWindow(r.start)
        if measured {
            stats.replies += 1
            stats.playingNanoseconds += r.lastFrame - r.start + ReplyTracker.frameNanoseconds
            if let expected = expectedReplyFrames, !interrupted, r.frames < expected {
                stats.shortReplies += 1
                stats.missingFrames += expected - r.frames
            }
        }
        narrate(c, r.lastFrame, "<- reply ended: \(r.frames) frames (\(r.frames * 20) ms)")
        if c.script == .hearing { c.script = .pausing(until: r.lastFrame + quietNs + UInt64(options.pauseMs) * 1_000_000) }
    }
}
