import ArgumentParser
import Connector
import Dispatch
import Foundation
import Logging
import SystemdSupport
#if canImport(Glibc)
import Glibc
#endif

/// `lexconnector --config lexmo.conf`: the server daemon.
@main
struct LexConnectorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lexconnector",
        abstract: "Connects Vonage Voice API WebSocket calls to Amazon Lex bots.",
        version: LexconnectorVersion.string)

    @Option(name: .shortAndLong, help: "Configuration file (INI, see lexmo.conf.template).")
    var config: String = "lexmo.conf"

    @Flag(name: .long, help: "Check the configuration file and exit (0 when valid).")
    var checkConfig = false

    @Flag(name: .short, help: "More logging: -v is debug, -vv is trace (overrides [log] level).")
    var verbose: Int

    func run() throws {
        var settings: LexmoConfiguration
        do {
            settings = try LexmoConfiguration.load(path: config)
            try settings.applyEnvironment(ProcessInfo.processInfo.environment)
        } catch {
            LineLogHandler.writeToStandardError("lexconnector: invalid configuration: \(error)\n")
            throw ExitCode(2)
        }
        if checkConfig {
            print("\(config): OK (listening on \(settings.server.host):\(settings.server.port), Lex region \(settings.lex.region))")
            return
        }
        let level: Logger.Level = verbose >= 2 ? .trace : verbose == 1 ? .debug : settings.log.level
        // Every socket write already says MSG_NOSIGNAL; this covers the rest (a log line to a
        // standard error whose reader has gone would otherwise end the process without a word).
        _ = Glibc.signal(SIGPIPE, SIG_IGN)
        LogSetup.bootstrap(level: level, format: settings.log.format)
        let logger = Logger(label: "lexconnector")
        let connector: Connector
        do {
            connector = try Connector(configuration: settings, logger: logger, metrics: .bootstrap())
        } catch {
            logger.critical("could not start: \(error)")
            throw ExitCode(1)
        }
        let systemd = SystemdNotifier.fromEnvironment()
        let drainTimeout = settings.server.drainTimeout
        let configPath = config
        let stopRequests = SignalCounter()
        var signals: [DispatchSourceSignal] = []
        // Not the main queue: a source on it is registered only once `dispatchMain` runs, and a
        // signal that came before would find it ignored and be lost.
        let signalQueue = DispatchQueue(label: "lexconnector.signals")
        let registered = DispatchGroup()
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            _ = Glibc.signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: signalQueue)
            registered.enter()
            source.setRegistrationHandler { registered.leave() }
            if sig == SIGHUP {
                source.setEventHandler {
                    systemd.reloading()
                    do {
                        var fresh = try LexmoConfiguration.load(path: configPath)
                        try fresh.applyEnvironment(ProcessInfo.processInfo.environment)
                        try connector.reload(fresh)
                    } catch {
                        logger.error("SIGHUP: configuration not reloaded, the previous one stays: \(error)")
                    }
                    systemd.ready(status: "accepting calls")
                }
            } else {
                source.setEventHandler {
                    let calls = connector.server?.openWebSockets ?? 0
                    // A second signal while draining stops at once (calls closed with 1001).
                    let timeout = stopRequests.next() == 1 ? drainTimeout : .zero
                    logger.info("signal \(sig): draining \(calls) calls for up to \(Int(timeout.seconds)) s")
                    // Refuse new calls first, then say so: whoever acts on STOPPING=1 finds
                    // /health already answering 503 draining.
                    connector.server?.beginDraining()
                    systemd.stopping(status: "draining \(calls) calls")
                    connector.stop(drainTimeout: timeout) {
                        logger.info("exiting with status 0")
                        Glibc.exit(0)
                    }
                }
            }
            source.resume()
            signals.append(source)
        }
        // Started only once the sources are registered: a SIGTERM that comes as soon as the
        // port is known (or READY=1 is sent) is seen, not ignored.
        if registered.wait(timeout: .now() + 5) == .timedOut {
            logger.warning("signal handling was not in place within 5 s; starting anyway")
        }
        do {
            try connector.start()
        } catch {
            logger.critical("could not start: \(error)")
            throw ExitCode(1)
        }
        systemd.ready(status: "accepting calls on \(connector.server?.addresses.joined(separator: ", ") ?? "?")")
        let watchdog = systemd.startWatchdog(queue: .main)
        // The connector too: its server holds it (its delegate) only weakly.
        withExtendedLifetime((connector, signals, watchdog)) { dispatchMain() }
    }
}

/// Counts stop signals (used on the signal sources' queue only).
final class SignalCounter: @unchecked Sendable {
    private var count = 0
    func next() -> Int {
        count += 1
        return count
    }
}

enum LexconnectorVersion {
    static let string = "0.1.0"
}
