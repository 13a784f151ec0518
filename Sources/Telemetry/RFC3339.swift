/// RFC 3339 timestamps in UTC with milliseconds (`2024-05-01T12:34:56.789Z`), without
/// Foundation's formatters (not thread safe everywhere, and slow).
public enum RFC3339 {
    /// Formats seconds since the Unix epoch, rounded to the millisecond.
    public static func format(_ secondsSinceEpoch: Double) -> String {
        let totalMS = Int64((secondsSinceEpoch * 1000).rounded())
        let msPerDay: Int64 = 86_400_000
        let days = totalMS >= 0 ? totalMS / msPerDay : -((-totalMS + msPerDay - 1) / msPerDay)
        let msOfDay = totalMS - days * msPerDay
        let (year, month, day) = civil(fromDays: days)
        let hour = msOfDay / 3_600_000
        let minute = msOfDay / 60_000 % 60
        let second = msOfDay / 1000 % 60
        let milli = msOfDay % 1000
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2)).\(pad(milli, 3))Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` to seconds since the epoch.
    /// Returns nil for anything else.
    public static func parse(_ text: String) -> Double? {
        let c = Array(text.utf8)
        func digits(_ at: Int, _ count: Int) -> Int64? {
            guard at + count <= c.count else { return nil }
            var value: Int64 = 0
            for i in at..<(at + count) {
                guard c[i] >= 48, c[i] <= 57 else { return nil }
                value = value * 10 + Int64(c[i] - 48)
            }
            return value
        }
        guard c.count >= 20, c[4] == UInt8(ascii: "-"), c[7] == UInt8(ascii: "-"),
              c[10] == UInt8(ascii: "T") || c[10] == UInt8(ascii: "t") || c[10] == UInt8(ascii: " "),
              c[13] == UInt8(ascii: ":"), c[16] == UInt8(ascii: ":"),
              let year = digits(0, 4), let month = digits(5, 2), let day = digits(8, 2),
              let hour = digits(11, 2), let minute = digits(14, 2), let second = digits(17, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        // The fraction as an integer over 10^digits, so that `.789` gives exactly the double
        // nearest to the written value (what the encoder started from).
        var fractionDigits: Int64 = 0
        var fractionScale: Int64 = 1
        if index < c.count, c[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            while index < c.count, c[index] >= 48, c[index] <= 57 {
                if fractionScale < 1_000_000_000 {
                    fractionDigits = fractionDigits * 10 + Int64(c[index] - 48)
                    fractionScale *= 10
                }
                index += 1
            }
            guard index > start else { return nil }
        }
        guard index < c.count else { return nil }
        var offsetSeconds: Int64 = 0
        if c[index] == UInt8(ascii: "Z") || c[index] == UInt8(ascii: "z") {
            index += 1
        } else if c[index] == UInt8(ascii: "+") || c[index] == UInt8(ascii: "-") {
            guard let oh = digits(index + 1, 2), index + 3 < c.count, c[index + 3] == UInt8(ascii: ":"),
                  let om = digits(index + 4, 2) else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (c[index] == UInt8(ascii: "-") ? -1 : 1)
            index += 6
        } else {
            return nil
        }
        guard index == c.count else { return nil }
        let days = self.days(fromCivil: year, month, day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        if fractionScale <= 1000 {
            return Double(seconds * fractionScale + fractionDigits) / Double(fractionScale)
        }
        return Double(seconds) + Double(fractionDigits) / Double(fractionScale)
    }

    // Howard Hinnant's civil calendar algorithms (proleptic Gregorian).
    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}
