/// A report that cannot be read: which file, where in it, and what is wrong.
/// A report that fails to parse fails its gate; it is never taken as a pass.
public struct ReportError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The report's name as the user knows it ("junit.xml", "coverage.json").
    public var file: String
    /// "line 12, column 4", "byte 1048577", or nil when the problem is the whole file.
    public var position: String?
    public var reason: String

    public init(file: String, position: String? = nil, reason: String) {
        self.file = file
        self.position = position
        self.reason = reason
    }

    public var description: String {
        position.map { "\(file): \($0): \(reason)" } ?? "\(file): \(reason)"
    }
}

/// Limits every parser enforces before it looks at a byte.
public enum ReportLimits {
    /// The largest report accepted, in bytes.
    public static let maximumBytes = 64 << 20

    static func check(_ bytes: some Collection<UInt8>, file: String) throws(ReportError) {
        if bytes.isEmpty { throw ReportError(file: file, reason: "the report is empty") }
        if bytes.count > maximumBytes {
            throw ReportError(file: file, reason: "the report is larger than \(maximumBytes >> 20) MiB")
        }
    }
}
