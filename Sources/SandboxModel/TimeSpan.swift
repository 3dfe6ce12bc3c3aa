/// A span of wall-clock time, written as `30s`, `10m`, `1h30m`, `250ms` or a bare
/// number of seconds.
public struct TimeSpan: Equatable, Comparable, Sendable, CustomStringConvertible {
    public var milliseconds: UInt64

    public init(milliseconds: UInt64) { self.milliseconds = milliseconds }

    public static func seconds(_ n: UInt64) -> TimeSpan { TimeSpan(milliseconds: n * 1000) }
    public static func minutes(_ n: UInt64) -> TimeSpan { TimeSpan(milliseconds: n * 60_000) }

    public init(parsing text: String, option: String) throws {
        let trimmed = text.trimmingWhitespace()
        let failure = ModelError(option, "'\(text)' is not a duration; write it as 90, 30s, 10m, 1h30m or 500ms")
        if !trimmed.isEmpty, trimmed.allSatisfy(\.isASCIIDigit) {
            guard let seconds = UInt64(trimmed), seconds <= UInt64.max / 1000 else { throw failure }
            milliseconds = seconds * 1000
            return
        }
        var total: UInt64 = 0
        var rest = Substring(trimmed)
        guard !rest.isEmpty else { throw failure }
        while !rest.isEmpty {
            let digits = rest.prefix(while: \.isASCIIDigit)
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix(while: { !$0.isASCIIDigit })
            rest = rest.dropFirst(unit.count)
            guard let value = UInt64(digits) else { throw failure }
            let scale: UInt64
            switch unit {
            case "ms": scale = 1
            case "s": scale = 1000
            case "m": scale = 60_000
            case "h": scale = 3_600_000
            default: throw failure
            }
            let (part, overflow) = value.multipliedReportingOverflow(by: scale)
            let (sum, overflowSum) = total.addingReportingOverflow(part)
            guard !overflow, !overflowSum else { throw failure }
            total = sum
        }
        milliseconds = total
    }

    public static func < (lhs: TimeSpan, rhs: TimeSpan) -> Bool { lhs.milliseconds < rhs.milliseconds }

    public var seconds: Double { Double(milliseconds) / 1000 }

    public var description: String {
        if milliseconds % 3_600_000 == 0 { return "\(milliseconds / 3_600_000)h" }
        if milliseconds % 60_000 == 0 { return "\(milliseconds / 60_000)m" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        return "\(milliseconds)ms"
    }
}
