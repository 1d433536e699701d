#if canImport(Glibc)
import Glibc
#endif
import CEpoll
import LexcallCore
import WebSocketProtocol

/// Every call on one thread: non-blocking sockets in one epoll set, frames sent on absolute
/// 20 ms deadlines from a 1 ms timing wheel (a call's deadlines all fall in the same
/// millisecond slot of the 20), frames read as they arrive.
final class CallEngine {
    let options: LexcallOptions
    let url: WebSocketURL
    let address: sockaddr_in
    let audio: CallAudio
    let maskKey: (UInt8, UInt8, UInt8, UInt8) = (0x6C, 0x65, 0x78, 0x63)
    /// The WAV's frames, masked once for every call (they all use the same mask key).
    let speechFrames: [[UInt8]]
    let silenceFrame: [UInt8]
    let startMessage: [UInt8]
    let quietNs: UInt64
    var calls: [Call] = []
    var stats = RunStats()
    private let epollFD: Int32
    private var wheel = [[Int]](repeating: [], count: 20)
    private var lastMs: UInt64 = 0
    let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
    let t0: UInt64
    let rampEnd: UInt64
    let steadyAt: UInt64
    let endAt: UInt64
    /// Frames per reply when the reply length is known (the embedded stand-in's).
    var expectedReplyFrames: Int?
    /// Single call: prints what happens.
    var narrator: ((UInt64, String) -> Void)?
    /// Called about once a second with the current time.
    var onSecond: ((UInt64) -> Void)?
    /// Called once when the measured window starts and once when it ends.
    var onWindow: ((Bool, UInt64) -> Void)?
    private var windowStarted = false, windowEnded = false

    init(options: LexcallOptions, url: WebSocketURL, address: sockaddr_in, audio: CallAudio) {
        self.options = options
        self.url = url
        self.address = address
        self.audio = audio
        speechFrames = audio.frames.map { FrameEncoder.frame(.binary, $0, maskKey: (0x6C, 0x65, 0x78, 0x63)) }
        silenceFrame = FrameEncoder.frame(.binary, [UInt8](repeating: 0, count: audio.frameBytes), maskKey: (0x6C, 0x65, 0x78, 0x63))
        startMessage = FrameEncoder.frame(.text, Array(StartMessage.json(rate: options.rate, params: options.params).utf8),
                                          maskKey: (0x6C, 0x65, 0x78, 0x63))
        quietNs = UInt64(options.quietMs) * 1_000_000
        epollFD = epoll_create1(0)
        let n = options.calls ?? 1
        t0 = now() + 50_000_000
        rampEnd = t0 + UInt64(options.ramp * 1e9)
        steadyAt = options.isLoad ? rampEnd + UInt64(options.warmup * 1e9) : 0
        endAt = options.isLoad ? rampEnd + UInt64(options.duration * 1e9) : .max
        let spacing = n > 1 ? options.ramp * 1e9 / Double(n) : 0
        let url = self.url
        for i in 0..<n {
            let script: Call.Script = audio.frames.isEmpty ? .silent : .speaking(frame: 0)
            calls.append(Call(number: i + 1, startAt: t0 + UInt64(Double(i) * spacing), path: options.path(url.path(forCall: i + 1), call: i + 1),
                              script: script, quiet: quietNs))
        }
    }

    deinit {
        readBuffer.deallocate()
        close(epollFD)
    }

    func inWindow(_ t: UInt64) -> Bool { t >= steadyAt && t < endAt }

    // MARK: - Main loop

    /// Runs until every call is over.
    func run() {
        var nextConnect = 0
        var nextSecond = t0 + 1_000_000_000
        // A raw buffer: a Swift array sliced in the loop below was copied on every epoll_wait
        // and the copies retained (seen in floor-server with valgrind's massif).
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: 1024)
        defer { events.deallocate() }
        lastMs = t0 / 1_000_000
        var finished = 0
        var stopDeadline: UInt64 = .max
        while true {
            var t = now()
            // Connect the calls whose time has come.
            while nextConnect < calls.count, calls[nextConnect].startAt <= t, t < endAt {
                connect(calls[nextConnect], t)
                nextConnect += 1
            }
            // Frames due, slot by slot of the 1 ms wheel.
            let nowMs = t / 1_000_000
            if nowMs > lastMs {
                let first = max(lastMs + 1, nowMs >= 19 ? nowMs - 19 : 0)
                for ms in first...nowMs {
                    for i in wheel[Int(ms % 20)] { serviceCall(calls[i], t) }
                }
                lastMs = nowMs
            }
            if options.isLoad {
                if !windowStarted && t >= steadyAt { windowStarted = true; onWindow?(true, t) }
                if !windowEnded && t >= endAt {
                    windowEnded = true
                    onWindow?(false, t)
                    for c in calls where c.state != .done { hangUp(c, t) }
                    stopDeadline = t + 3_000_000_000
                }
            }
            if t >= nextSecond {
                nextSecond += 1_000_000_000
                onSecond?(t)
            }
            finished = 0
            if nextConnect == calls.count || t >= endAt {
                for c in calls where c.state == .done || c.state == .waiting { finished += 1 }
                if finished == calls.count { break }
            }
            if t >= stopDeadline {
                for c in calls where c.state != .done && c.state != .waiting { c.failure = c.failure ?? "no close from the server"; finish(c, t) }
                break
            }
            let n = epoll_wait(epollFD, events, 1024, 1)
            guard n > 0 else { continue }
            t = now()
            for k in 0..<Int(n) {
                let e = events[k]
                let c = calls[Int(e.data.u64)]
                if e.events & EPOLLOUT.rawValue != 0 { writable(c, t) }
                if e.events & (EPOLLIN.rawValue | EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 { readable(c, t) }
            }
        }
        for c in calls {
            if let ended = c.tracker.forceEnd() { replyEnded(c, ended, interrupted: true) }
        }
    }

    // MARK: - Connecting

    private func connect(_ c: Call, _ t: UInt64) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { fail(c, "socket: \(errnoText())", t); return }
        c.fd = fd
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = address
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 && errno != EINPROGRESS {
            stats.connectFailures += 1
            fail(c, "connect to \(url.host):\(url.port): \(errnoText())", t)
            return
        }
        c.state = .connecting
        register(c, EPOLLOUT.rawValue, add: true)
    }

    private func register(_ c: Call, _ mask: UInt32, add: Bool = false) {
        var e = epoll_event()
        e.events = mask
        e.data.u64 = UInt64(c.number - 1)
        _ = epoll_ctl(epollFD, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c.fd, &e)
    }

    func sendHandshake(_ c: Call, _ t: UInt64) {
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len)
        guard err == 0 else {
            stats.connectFailures += 1
            fail(c, "connect to \(url.host):\(url.port): \(String(cString: strerror(err)))", t)
            return
        }
        var keyBytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<16 { keyBytes[i] = UInt8.random(in: 0...255) }
        let key = Base64.encode(keyBytes)
        c.expectedAccept = WebSocketHandshake.acceptValue(forKey: key)
        c.state = .handshaking
        register(c, EPOLLIN.rawValue)
        write(c, ClientHandshake.request(host: url.host, port: url.port, path: c.path, key: key), t)
    }

    func opened(_ c: Call, leftover: ArraySlice<UInt8>, _ t: UInt64) {
        c.state = .open
        c.openedAt = t
        stats.connected += 1
        narrate(c, t, "connected to ws://\(url.host):\(url.port)\(c.path)")
        write(c, startMessage, t)
        narrate(c, t, "-> start \(StartMessage.redacted(rate: options.rate, params: options.params))")
        if !options.isLoad {
            c.hangUpAt = options.silenceAfter.map { t + UInt64(Double(audio.frames.count) * 20e6 + $0 * 1e9) } ?? .max
        }
        // Deadlines openedAt + k × 20 ms all fall in this millisecond slot (rounded up, so the
        // slot's visit is never before the deadline).
        wheel[Int(((t + 999_999) / 1_000_000) % 20)].append(c.number - 1)
        serviceCall(c, t)
        if !leftover.isEmpty { received(c, leftover, t) }
    }

    // MARK: - Sending

    /// Sends the frames due by `t` and runs the call's script.
    private func serviceCall(_ c: Call, _ t: UInt64) {
        guard c.state == .open else {
            if c.state == .closing && t > c.closeSentAt + 3_000_000_000 { c.failure = "no close frame from the server"; finish(c, t) }
            return
        }
        if let ended = c.tracker.end(now: t) { replyEnded(c, ended, interrupted: false) }
        while c.nextDTMF < options.dtmf.count, t >= c.openedAt + UInt64(options.dtmf[c.nextDTMF].at * 1e9) {
            let digit = options.dtmf[c.nextDTMF].digit
            write(c, FrameEncoder.frame(.text, Array(StartMessage.dtmf(digit).utf8), maskKey: maskKey), t)
            narrate(c, t, "-> dtmf \(digit)")
            c.nextDTMF += 1
        }
        while c.state == .open, c.due(c.nextFrame) <= t {
            let due = c.due(c.nextFrame)
            if t - due > 2_000_000 { stats.generatorLateSends += 1 }
            sendFrame(c, t)
            c.nextFrame += 1
            stats.framesSent += 1
            if inWindow(t) {
                stats.windowFramesSent += 1
                stats.sendLateness.record(t - due)
            }
        }
        if c.state == .open, t >= c.hangUpAt { hangUp(c, t) }
    }

    private func sendFrame(_ c: Call, _ t: UInt64) {
        switch c.script {
        case .speaking(let k):
            write(c, speechFrames[k], t)
            if k == audio.lastSpeechFrame {
                c.lastSpeechEnd = t
                c.speechEnds.append(t)
                narrate(c, t, "caller: end of speech")
            }
            if k + 1 < speechFrames.count {
                c.script = .speaking(frame: k + 1)
            } else {
                c.wavFinishedAt = t
                c.script = audio.lastSpeechFrame == nil ? .pausing(until: t) : .awaitingReply(since: t)
                if c.tracker.inReply { c.script = .hearing }
            }
        case .awaitingReply(let since):
            write(c, silenceFrame, t)
            if t - since > UInt64(options.replyTimeout * 1e9) {
                if inWindow(since) { stats.noReply += 1 }
                narrate(c, t, "no reply within \(options.replyTimeout) s")
                c.script = .pausing(until: t + UInt64(options.pauseMs) * 1_000_000)
            }
        case .hearing, .silent:
            write(c, silenceFrame, t)
        case .pausing(let until):
            write(c, silenceFrame, t)
            if t >= until {
                if options.isLoad {
                    c.script = speechFrames.isEmpty ? .silent : .speaking(frame: 0)
                } else if options.silenceAfter == nil, t - max(c.wavFinishedAt, c.lastReplyFrame) >= 1_500_000_000, !c.tracker.inReply {
                    // Single call without --silence-after: over once the replies are (1.5 s of quiet).
                    hangUp(c, t)
                }
            }
        }
        if !options.isLoad, options.silenceAfter == nil, c.wavFinishedAt > 0, t - c.wavFinishedAt > 60_000_000_000 {
            hangUp(c, t)
        }
    }

    func write(_ c: Call, _ bytes: [UInt8], _ t: UInt64) {
        guard c.fd >= 0 else { return }
        if !c.pendingOut.isEmpty {
            c.pendingOut += bytes
            stats.backloggedSends += 1
            return
        }
        let n = bytes.withUnsafeBytes { send(c.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        if n == bytes.count { return }
        if n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
            connectionLost(c, "send: \(errnoText())", t)
            return
        }
        stats.backloggedSends += 1
        c.pendingOut = Array(bytes[max(0, n)...])
        if !c.writeArmed {
            c.writeArmed = true
            register(c, EPOLLIN.rawValue | EPOLLOUT.rawValue)
        }
    }

    private func writable(_ c: Call, _ t: UInt64) {
        if c.state == .connecting { sendHandshake(c, t); return }
        guard !c.pendingOut.isEmpty else { return }
        let n = c.pendingOut.withUnsafeBytes { send(c.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        if n < 0 {
            if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR { connectionLost(c, "send: \(errnoText())", t) }
            return
        }
        c.pendingOut.removeFirst(n)
        if c.pendingOut.isEmpty && c.writeArmed {
            c.writeArmed = false
            register(c, EPOLLIN.rawValue)
        }
    }

    // MARK: - Ending

    private func hangUp(_ c: Call, _ t: UInt64) {
        guard c.state == .open else {
            if c.state != .closing { finish(c, t) }
            return
        }
        if let ended = c.tracker.forceEnd() { replyEnded(c, ended, interrupted: true) }
        write(c, FrameEncoder.frame(.close, [0x03, 0xE8], maskKey: maskKey), t)
        narrate(c, t, "-> close 1000")
        c.state = .closing
        c.closeSentAt = t
    }

    func connectionLost(_ c: Call, _ why: String, _ t: UInt64) {
        if c.state == .open || c.state == .closing || c.state == .handshaking { stats.lostConnections += 1 }
        fail(c, why, t)
    }

    func fail(_ c: Call, _ why: String, _ t: UInt64) {
        if c.failure == nil { c.failure = why }
        narrate(c, t, "error: \(why)")
        finish(c, t)
    }

    func finish(_ c: Call, _ t: UInt64, completed: Bool = false) {
        if c.fd >= 0 {
            epoll_ctl(epollFD, EPOLL_CTL_DEL, c.fd, nil)
            close(c.fd)
            c.fd = -1
        }
        if c.state == .done { return }
        if completed { stats.callsCompleted += 1 }
        if c.state == .open || c.state == .closing {
            let slot = Int(((c.openedAt + 999_999) / 1_000_000) % 20)
            wheel[slot].removeAll { $0 == c.number - 1 }
        }
        c.state = .done
    }

    func narrate(_ c: Call, _ t: UInt64, _ text: String) {
        narrator?(t, text)
    }
}

func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func errnoText() -> String { String(cString: strerror(errno)) }
