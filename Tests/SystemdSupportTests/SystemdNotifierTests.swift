import Dispatch
import Foundation
import Testing
@testable import SystemdSupport

@Suite struct SystemdNotifierTests {
    // MARK: Environment

    @Test func withoutNotifySocketEverythingIsANoOp() {
        let systemd = SystemdNotifier(environment: ["WATCHDOG_USEC": "200000"])
        #expect(!systemd.isEnabled)
        #expect(systemd.watchdogInterval == nil)
        #expect(!systemd.ready())
        #expect(!systemd.stopping())
        #expect(!systemd.status("x"))
        #expect(systemd.startWatchdog(queue: .main) == nil)
    }

    @Test func readsPathAndAbstractAddresses() {
        #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": "/run/systemd/notify"]).destination
                == .path("/run/systemd/notify"))
        #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": "@/org/freedesktop/systemd1/notify/42"]).destination
                == .abstract("/org/freedesktop/systemd1/notify/42"))
        for unsupported in ["", "@", "relative/path", "vsock:2:1234"] {
            #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": unsupported]).destination == nil, "\(unsupported)")
        }
    }

    @Test func watchdogIntervalIsHalfOfWatchdogUsecForThisProcessOnly() {
        let socket = "/run/systemd/notify"
        func interval(_ env: [String: String]) -> Duration? {
            SystemdNotifier(environment: env.merging(["NOTIFY_SOCKET": socket]) { a, _ in a }, processID: 4242)
                .watchdogInterval
        }
        #expect(interval(["WATCHDOG_USEC": "30000000"]) == .seconds(15))
        #expect(interval(["WATCHDOG_USEC": "200000", "WATCHDOG_PID": "4242"]) == .milliseconds(100))
        #expect(interval(["WATCHDOG_USEC": "200000", "WATCHDOG_PID": "4243"]) == nil)
        #expect(interval(["WATCHDOG_USEC": "200000", "WATCHDOG_PID": "nonsense"]) == nil)
        #expect(interval(["WATCHDOG_USEC": "0"]) == nil)
        #expect(interval(["WATCHDOG_USEC": "-5"]) == nil)
        #expect(interval([:]) == nil)
        // No socket, no watchdog (it could not be fed).
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "200000"]).watchdogInterval == nil)
    }

    @Test func statusTextStaysOnOneLine() {
        #expect(SystemdNotifier.oneLine("a\nb\r\nc") == "a b c")
    }

    // MARK: Messages on a socket

    @Test(arguments: [false, true])
    func sendsTheExactMessages(abstract: Bool) throws {
        let receiver = try DatagramReceiver(abstract: abstract)
        let systemd = SystemdNotifier.fromEnvironment(["NOTIFY_SOCKET": receiver.notifySocket])
        #expect(systemd.isEnabled)

        #expect(systemd.ready())
        #expect(receiver.receive(timeout: 5) == "READY=1\nSTATUS=accepting calls")
        #expect(systemd.ready(status: "listening on 127.0.0.1:8000"))
        #expect(receiver.receive(timeout: 5) == "READY=1\nSTATUS=listening on 127.0.0.1:8000")
        #expect(systemd.status("3 calls\n(draining)"))
        #expect(receiver.receive(timeout: 5) == "STATUS=3 calls (draining)")
        #expect(systemd.stopping())
        #expect(receiver.receive(timeout: 5) == "STOPPING=1\nSTATUS=draining calls")
        #expect(systemd.watchdogPing())
        #expect(receiver.receive(timeout: 5) == "WATCHDOG=1")

        #expect(systemd.reloading())
        let reload = try #require(receiver.receive(timeout: 5)).split(separator: "\n")
        #expect(reload.count == 3)
        #expect(reload.first == "RELOADING=1")
        #expect(reload.last == "STATUS=reloading configuration")
        let usec = reload.dropFirst().first.flatMap { $0.hasPrefix("MONOTONIC_USEC=") ? UInt64($0.dropFirst(15)) : nil }
        #expect(usec != nil && usec! > 0)

        // Nothing else was sent.
        #expect(receiver.receive(timeout: 0.2) == nil)
    }

    @Test func aMissingSocketIsReportedNotFatal() {
        let systemd = SystemdNotifier(environment: ["NOTIFY_SOCKET": "/tmp/lexconnector-no-such-socket-\(getpid())"])
        #expect(systemd.isEnabled)
        #expect(!systemd.ready())
        let abstract = SystemdNotifier(environment: ["NOTIFY_SOCKET": "@lexconnector-no-such-socket-\(getpid())"])
        #expect(!abstract.stopping())
    }

    @Test func aPathTooLongForSockaddrIsRefused() {
        let long = "/tmp/" + String(repeating: "x", count: 200)
        #expect(SystemdNotifier.socketAddress(.path(long)) == nil)
        #expect(!SystemdNotifier(environment: ["NOTIFY_SOCKET": long]).ready())
    }

    // MARK: Watchdog

    @Test(arguments: [false, true])
    func watchdogPingsAtHalfTheInterval(abstract: Bool) throws {
        let receiver = try DatagramReceiver(abstract: abstract)
        // WATCHDOG_USEC 200 ms: a ping every 100 ms.
        let systemd = SystemdNotifier(environment: [
            "NOTIFY_SOCKET": receiver.notifySocket, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": "\(getpid())",
        ])
        let queue = DispatchQueue(label: "watchdog-test")
        #expect(systemd.startWatchdog(queue: queue) != nil)
        // The first ping goes at once.
        #expect(receiver.receive(timeout: 2) == "WATCHDOG=1")
        // Then about 10 in the next second: at 100 ms, not at the 200 ms
        // deadline (that would give 5) nor much faster.
        let pings = receiver.receiveAll(for: 1.0)
        #expect(pings.allSatisfy { $0 == "WATCHDOG=1" })
        #expect((6...13).contains(pings.count), "\(pings.count) pings in 1 s")

        systemd.stopWatchdog()
        // A ping already in flight may still land; after that, silence.
        _ = receiver.receive(timeout: 0.05)
        #expect(receiver.receive(timeout: 0.4) == nil)
    }

    @Test func watchdogForAnotherProcessSendsNothing() throws {
        let receiver = try DatagramReceiver(abstract: true)
        let systemd = SystemdNotifier(environment: [
            "NOTIFY_SOCKET": receiver.notifySocket, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": "\(getpid() + 1)",
        ])
        #expect(systemd.startWatchdog(queue: DispatchQueue(label: "watchdog-test")) == nil)
        #expect(receiver.receive(timeout: 0.5) == nil)
        // Other notifications still go.
        #expect(systemd.ready())
        #expect(receiver.receive(timeout: 5) == "READY=1\nSTATUS=accepting calls")
    }

    @Test func theNotifierKeepsTheWatchdogRunningWhenTheCallerDropsTheTimer() throws {
        let receiver = try DatagramReceiver(abstract: false)
        let systemd = SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.notifySocket, "WATCHDOG_USEC": "100000"])
        _ = systemd.startWatchdog(queue: DispatchQueue(label: "watchdog-test"))
        #expect(receiver.receive(timeout: 2) == "WATCHDOG=1")
        // Still pinging well after the returned timer was dropped.
        #expect(receiver.receiveAll(for: 0.5).count >= 3)
        // Restarting replaces the timer rather than adding a second one.
        _ = systemd.startWatchdog(queue: DispatchQueue(label: "watchdog-test-2"))
        _ = receiver.receive(timeout: 2)
        let pings = receiver.receiveAll(for: 1.0)
        #expect((14...24).contains(pings.count), "\(pings.count) pings in 1 s at 50 ms")
        systemd.stopWatchdog()
    }
}
