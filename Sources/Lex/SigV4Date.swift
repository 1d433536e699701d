import Foundation

/// The two spellings of a signing time that SigV4 uses: `20150830T123600Z`
/// (X-Amz-Date, string to sign) and `20150830` (credential scope).
/// Computed arithmetically from Unix time: no locale, no formatter, no clock.
public struct SigV4Date: Sendable, Hashable, CustomStringConvertible {
    /// `yyyyMMdd'T'HHmmss'Z'`
    public let amzDate: String
    /// `yyyyMMdd`
    public var dateStamp: Substring { amzDate.prefix(8) }
    /// Whole seconds since 1970-01-01T00:00:00Z.
    public let unixSeconds: Int64

    public init(_ date: Date) {
        self.init(unixSeconds: Int64(date.timeIntervalSince1970.rounded(.down)))
    }

    public init(unixSeconds: Int64) {
        self.unixSeconds = unixSeconds
        let days = unixSeconds >= 0 ? unixSeconds / 86_400 : (unixSeconds - 86_399) / 86_400
        let secondOfDay = unixSeconds - days * 86_400
        let (y, m, d) = Self.civil(fromDays: days)
        let hh = secondOfDay / 3600, mm = secondOfDay / 60 % 60, ss = secondOfDay % 60
        amzDate = Self.pad(y, 4) + Self.pad(m, 2) + Self.pad(d, 2) + "T" + Self.pad(hh, 2) + Self.pad(mm, 2)
            + Self.pad(ss, 2) + "Z"
    }

    /// Parses `yyyyMMdd'T'HHmmss'Z'`; nil when malformed.
    public init?(amzDate: String) {
        let c = Array(amzDate.utf8)
        guard c.count == 16, c[8] == UInt8(ascii: "T"), c[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var v: Int64 = 0
            for i in range {
                guard c[i] >= UInt8(ascii: "0"), c[i] <= UInt8(ascii: "9") else { return nil }
                v = v * 10 + Int64(c[i] - UInt8(ascii: "0"))
            }
            return v
        }
        guard let y = number(0..<4), let mo = number(4..<6), let d = number(6..<8),
            let h = number(9..<11), let mi = number(11..<13), let s = number(13..<15),
            (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61
        else { return nil }
        let days = Self.days(fromCivil: y, mo, d)
        self.init(unixSeconds: days * 86_400 + h * 3600 + mi * 60 + s)
        guard self.amzDate == amzDate else { return nil }  // rejects 31 February and leap seconds
    }

    public var date: Date { Date(timeIntervalSince1970: TimeInterval(unixSeconds)) }
    public var description: String { amzDate }

    private static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    // Howard Hinnant's civil_from_days / days_from_civil (proleptic Gregorian).
    private static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
