import Foundation
import Lex

/// The call's parameters, from the first text message Vonage sends: its own fields
/// (`content-type`) plus the NCCO `headers`, flattened into the same JSON object.
public struct StartParameters: Sendable, CustomStringConvertible {
    public var sampleRate: Int
    /// From `aws_key`/`aws_secret`/`aws_session_token`; nil when the call names `aws_profile`
    /// or relies on the server's environment credentials.
    public var credentials: AWSCredentials?
    /// `aws_profile`: server-side credentials (authenticated connections only).
    public var profile: String?
    /// `aws_region`, when the call gave one.
    public var requestedRegion: String?
    public var region: String
    public var sensitivity: Int
    public var silenceTime: Int
    public var clipMin: Int
    public var clipMax: Int
    public var webhookURL: String?
    public var clientId: String?
    public var bargeIn: Bool
    public var welcomeText: String?
    public var sessionAttributes: [String: String]
    public var requestAttributes: [String: String]

    /// Frame size in bytes for 20 ms at the call's rate.
    public var frameBytes: Int { sampleRate / 50 * 2 }

    /// Never shows the secret or the session token.
    public var description: String {
        "rate=\(sampleRate) region=\(region) key=\(credentials?.accessKeyId ?? "-") profile=\(profile ?? "-") sensitivity=\(sensitivity) silence_time=\(silenceTime) clip_min=\(clipMin) clip_max=\(clipMax) barge_in=\(bargeIn) client_id=\(clientId ?? "-")"
    }

    /// Parses the start message. `defaults` supplies the region and the VAD and call defaults.
    public static func parse(_ text: String, defaults: LexmoConfiguration) -> Result<StartParameters, StartParametersError> {
        guard let data = text.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data), let json = object as? [String: Any] else {
            return .failure(.init("the first text message must be a JSON object"))
        }
        if let event = json["event"] as? String, event != "websocket:connected" {
            return .failure(.init("expected the websocket:connected event first, got \(quoted(event))"))
        }
        guard let contentType = json["content-type"] as? String else {
            return .failure(.init("content-type is missing (expected audio/l16;rate=8000, 16000 or 24000)"))
        }
        guard let rate = sampleRate(fromContentType: contentType) else {
            return .failure(.init("content-type \(quoted(contentType)) is not supported (expected audio/l16;rate=8000, 16000 or 24000)"))
        }
        var credentials: AWSCredentials?
        let profile = json["aws_profile"] as? String
        if let key = json["aws_key"] {
            guard profile == nil else { return .failure(.init("give aws_key and aws_secret, or aws_profile, not both")) }
            guard let key = key as? String, !key.isEmpty, key.count <= 128, key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
                return .failure(.init("aws_key must be letters and digits (an AWS access key id)"))
            }
            guard let secret = json["aws_secret"] as? String, !secret.isEmpty else { return .failure(.init("aws_secret is missing")) }
            let token = json["aws_session_token"] as? String
            // It goes into the X-Amz-Security-Token header as it is: a line break in it would add
            // header lines (or a request) to a connection other calls reuse.
            if let token, !token.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) {
                return .failure(.init("aws_session_token must be printable ASCII without spaces or line breaks (an AWS session token)"))
            }
            credentials = AWSCredentials(accessKeyId: key, secretAccessKey: Secret(secret), sessionToken: token.flatMap { $0.isEmpty ? nil : Secret($0) })
        } else if json["aws_secret"] != nil {
            return .failure(.init("aws_key is missing"))
        } else if let p = profile {
            guard CallRoute.isConversationId(p) || p.count == 1 else { return .failure(.init("aws_profile must be letters, digits and ._:-")) }
        }
        let requested = json["aws_region"] as? String
        let region = requested ?? defaults.lex.region
        guard LexmoConfiguration.isRegion(region) else { return .failure(.init("aws_region \(quoted(region)) is not an AWS region name")) }

        var p = StartParameters(
            sampleRate: rate, credentials: credentials, profile: profile, requestedRegion: requested, region: region,
            sensitivity: defaults.vad.sensitivity, silenceTime: defaults.vad.silenceTime,
            clipMin: defaults.vad.clipMin, clipMax: defaults.vad.clipMax,
            webhookURL: defaults.events.webhookURL, clientId: nil, bargeIn: defaults.call.bargeIn,
            welcomeText: nil, sessionAttributes: [:], requestAttributes: [:])
        do {
            if let v = try int(json, "sensitivity", 0...3) { p.sensitivity = v }
            if let v = try int(json, "silence_time", 20...10_000) { p.silenceTime = v }
            if let v = try int(json, "clip_min", 0...15_000) { p.clipMin = v }
            if let v = try int(json, "clip_max", 100...15_000) { p.clipMax = v }
            if p.clipMin >= p.clipMax { throw StartParametersError("clip_min (\(p.clipMin)) must be below clip_max (\(p.clipMax))") }
            if let v = try bool(json, "barge_in") { p.bargeIn = v }
            if let v = json["webhook_url"] {
                guard let s = v as? String, s.hasPrefix("http://") || s.hasPrefix("https://") else {
                    throw StartParametersError("webhook_url must be an http:// or https:// URL")
                }
                p.webhookURL = s
            }
            if let v = json["client_id"] {
                p.clientId = JSONValueText.attribute(v)
                // It is echoed in every event and log line of the call.
                guard (p.clientId?.utf8.count ?? 0) <= maxClientIdBytes else {
                    throw StartParametersError("client_id must be at most \(maxClientIdBytes) bytes (Vonage allows 512 bytes of headers in all)")
                }
            }
            if let v = json["welcome_text"] {
                guard let s = v as? String, !s.isEmpty, s.utf8.count <= 1024 else {
                    throw StartParametersError("welcome_text must be a non-empty string of at most 1024 bytes")
                }
                p.welcomeText = s
            }
            p.sessionAttributes = try attributes(json, "session_attributes")
            p.requestAttributes = try attributes(json, "request_attributes")
        } catch let e as StartParametersError {
            return .failure(e)
        } catch {
            return .failure(.init("\(error)"))
        }
        return .success(p)
    }

    /// The longest `client_id`: Vonage sends at most 512 bytes of NCCO headers in all.
    static let maxClientIdBytes = 512

    /// A value from the message, for an error reason: at most 40 characters, so a hostile
    /// start message cannot make a log line or an error event of any length.
    static func quoted(_ value: String) -> String {
        value.count <= 40 ? value : "\(value.prefix(40))… (\(value.utf8.count) bytes)"
    }

    /// `audio/l16;rate=16000` → 16000 (8000, 16000 and 24000 only).
    public static func sampleRate(fromContentType s: String) -> Int? {
        let parts = s.lowercased().split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.first == "audio/l16" else { return nil }
        for p in parts.dropFirst() where p.hasPrefix("rate=") {
            if let r = Int(p.dropFirst(5)), [8000, 16000, 24000].contains(r) { return r }
            return nil
        }
        return nil
    }

    /// A whole number given as a JSON number (`600`, `600.0`) or a string (`"600"`); a
    /// boolean is not a number (through `JSONValueText`, it reads `true`, not `1`).
    private static func int(_ json: [String: Any], _ key: String, _ range: ClosedRange<Int>) throws -> Int? {
        guard let v = json[key] else { return nil }
        let text = JSONValueText.attribute(v)?.trimmingCharacters(in: .whitespaces) ?? ""
        let n = Int(text) ?? Double(text).flatMap { $0 == $0.rounded() && abs($0) < 1e9 ? Int($0) : nil }
        guard let value = n, range.contains(value) else {
            throw StartParametersError("\(key) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// A JSON boolean, or a string or number spelling one (`"false"`, `"no"`, `0`).
    private static func bool(_ json: [String: Any], _ key: String) throws -> Bool? {
        guard let v = json[key] else { return nil }
        switch JSONValueText.attribute(v)?.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw StartParametersError("\(key) must be true or false")
        }
    }

    /// A JSON object (or a string holding one) whose values become strings by
    /// `JSONValueText.attribute`: strings as they are, `true`/`false`, numbers in their JSON
    /// spelling, arrays and objects as compact JSON text; a null leaves the attribute out.
    private static func attributes(_ json: [String: Any], _ key: String) throws -> [String: String] {
        guard var v = json[key] else { return [:] }
        if let s = v as? String, let d = s.data(using: .utf8), let o = try? JSONSerialization.jsonObject(with: d) { v = o }
        guard let object = v as? [String: Any] else { throw StartParametersError("\(key) must be a JSON object") }
        var out: [String: String] = [:]
        for (k, value) in object where !(value is NSNull) {
            guard let text = JSONValueText.attribute(value) else {
                throw StartParametersError("\(key).\(k) must be a JSON value")
            }
            out[k] = text
        }
        return out
    }
}

public struct StartParametersError: Error, Equatable, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
