/// A number of bytes, written by people as `512M`, `2G`, `16MiB` or `4096`.
public struct ByteSize: Equatable, Comparable, Sendable, CustomStringConvertible {
    public var bytes: UInt64

    public init(bytes: UInt64) { self.bytes = bytes }

    /// Parses a size with an optional binary suffix: K, M, G, T (also KiB, KB, k...).
    public init(parsing text: String, option: String) throws {
        let trimmed = text.trimmingWhitespace()
        var digits = Substring(trimmed)
        var suffix = ""
        while let last = digits.last, !last.isNumber {
            suffix.insert(last, at: suffix.startIndex)
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), let value = UInt64(digits) else {
            throw ModelError(option, "'\(text)' is not a size; write it as 4096, 512K, 16M or 2G")
        }
        let shift: UInt64
        switch suffix.lowercased() {
        case "", "b": shift = 0
        case "k", "kb", "kib": shift = 10
        case "m", "mb", "mib": shift = 20
        case "g", "gb", "gib": shift = 30
        case "t", "tb", "tib": shift = 40
        default:
            throw ModelError(option, "'\(text)' has an unknown unit '\(suffix)'; use K, M, G or T")
        }
        let (result, overflow) = value.multipliedReportingOverflow(by: 1 << shift)
        guard !overflow else { throw ModelError(option, "'\(text)' is too large") }
        bytes = result
    }

    public static func < (lhs: ByteSize, rhs: ByteSize) -> Bool { lhs.bytes < rhs.bytes }

    public static func mebibytes(_ n: UInt64) -> ByteSize { ByteSize(bytes: n << 20) }
    public static func gibibytes(_ n: UInt64) -> ByteSize { ByteSize(bytes: n << 30) }

    /// The largest exact binary unit: "2 GiB", "512 MiB", "4097 B".
    public var description: String {
        for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")]
        where bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift) \(unit)"
        }
        return "\(bytes) B"
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

extension String {
    func trimmingWhitespace() -> String {
        var view = Substring(self)
        while let first = view.first, first.isWhitespace { view = view.dropFirst() }
        while let last = view.last, last.isWhitespace { view = view.dropLast() }
        return String(view)
    }
}
