import Foundation
import Lex

/// A TEXT message from Vonage after the start message (DESIGN "Facts": `websocket:dtmf`,
/// `websocket:cleared`, `websocket:notify`).
enum VonageEvent: Sendable, Equatable {
    /// `{"event":"websocket:dtmf","digit":"5","duration":260}`; `digit` as Vonage sent it
    /// (a string, or a number turned into one), not yet checked.
    case dtmf(digit: String)
    /// `{"event":"websocket:cleared"}`: the audio queued at Vonage was dropped.
    case cleared
    /// `{"event":"websocket:notify","payload":{...}}`: a notify action's audio has played.
    case notify
    /// Another `event` value (ignored).
    case other(String)

    /// The event, or nil when `text` is not a JSON object with a string `event`.
    static func parse(_ text: String) -> VonageEvent? {
        guard let data = text.data(using: .utf8), let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let event = json["event"] as? String else { return nil }
        switch event {
        case "websocket:dtmf":
            // A number in its JSON spelling (`7`); a boolean reads `true`, not the `1` of
            // `NSNumber.stringValue`, so `"digit":true` is not a key press.
            return .dtmf(digit: json["digit"].flatMap(JSONValueText.attribute) ?? "")
        case "websocket:cleared": return .cleared
        case "websocket:notify": return .notify
        default: return .other(event)
        }
    }
}
