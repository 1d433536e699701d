/// Text for a one-line log format: a message or metadata value may hold text from the network
/// (a `client_id`, a value quoted in a start message's error, a transcript); a line break in
/// it would forge a log line of its own. Control characters become escapes: `\n`, `\r`, `\t`,
/// and `\u{XX}` for the rest of C0 and DEL; everything else is kept. Pure.
public enum LogText {
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where isControl(scalar): out += "\\u{\(String(scalar.value, radix: 16))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func isControl(_ s: Unicode.Scalar) -> Bool {
        s.value < 0x20 || s.value == 0x7F || (0x80..<0xA0).contains(s.value) || s.value == 0x2028 || s.value == 0x2029
    }
}
