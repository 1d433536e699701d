import Connector
import Foundation
import Logging

/// swift-log output: one line per event on standard error, as text or JSON.
enum LogSetup {
    static func bootstrap(level: Logger.Level, format: LexmoConfiguration.LogFormat) {
        LoggingSystem.bootstrap { label in
            var handler = LineLogHandler(label: label, json: format == .json)
            handler.logLevel = level
            return handler
        }
    }
}

struct LineLogHandler: LogHandler {
    let label: String
    let json: Bool
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    init(label: String, json: Bool) {
        self.label = label
        self.json = json
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let level = event.level, message = event.message
        var all = metadata
        let explicit = event.metadata
        if let explicit { all.merge(explicit) { $1 } }
        let time = ISO8601DateFormatter.string(from: Date(), timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withInternetDateTime, .withFractionalSeconds])
        let text: String
        if json {
            var object: [String: String] = ["time": time, "level": level.rawValue, "logger": label, "message": message.description]
            for (k, v) in all { object[k] = "\(v)" }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            text = String(decoding: data, as: UTF8.self)
        } else {
            // Escaped: text from the network cannot start a line of its own (JSON escapes itself).
            let meta = all.sorted { $0.key < $1.key }.map { "\($0.key)=\(LogText.escaped("\($0.value)"))" }.joined(separator: " ")
            text = "\(time) \(level.rawValue.uppercased()) \(label): \(LogText.escaped(message.description))\(meta.isEmpty ? "" : " " + meta)"
        }
        Self.writeToStandardError(text + "\n")
    }

    /// Writes `line` to standard error whole (a short write goes on from where it stopped). A
    /// failed write (EPIPE once the reader has gone) drops the line: Foundation's
    /// `FileHandle.write(_:)` traps on it, and logging must never end the process.
    static func writeToStandardError(_ line: String) {
        Array(line.utf8).withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(2, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 {
                    offset += n
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }
}
