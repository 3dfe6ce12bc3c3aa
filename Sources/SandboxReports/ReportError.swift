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
    /// The largest line number, and the largest count a report may declare
    /// (errors, failures, a file's lines): far beyond any real one, and small
    /// enough that no sum of them can overflow.
    public static let maximumLine = 1 << 31
    public static let maximumCount = 1 << 32

    /// A count a report declares (`errors="3"`): 0 where it declares none, and
    /// refused, naming the report, where it is negative or beyond any real one.
    static func declaredCount(_ text: String?, _ what: String, file: String) throws(ReportError) -> Int {
        guard let text else { return 0 }
        let digits = text.drop { $0 == "-" || $0 == "+" }
        // A number too long for an Int is one too.
        guard let value = Int(text) ?? (!digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber } ? -1 : nil)
        else { return 0 }
        guard (0...maximumCount).contains(value) else {
            throw ReportError(file: file, reason: "\(what)=\"\(text)\" is not a count")
        }
        return value
    }

    /// A line number a report gives, refused where it is not one.
    static func line(_ value: Int, in path: String, file: String) throws(ReportError) -> Int {
        guard (0...maximumLine).contains(value) else {
            throw ReportError(file: file, reason: "\(path): line \(value) is not a line number")
        }
        return value
    }

    static func check(_ bytes: some Collection<UInt8>, file: String) throws(ReportError) {
        if bytes.isEmpty { throw ReportError(file: file, reason: "the report is empty") }
        if bytes.count > maximumBytes {
            throw ReportError(file: file, reason: "the report is larger than \(maximumBytes >> 20) MiB")
        }
    }
}
