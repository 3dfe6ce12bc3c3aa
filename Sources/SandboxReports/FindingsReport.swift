/// One lint finding, compiler diagnostic or analyzer result.
public struct Finding: Equatable, Sendable {
    public enum Level: String, Equatable, Sendable, Comparable {
        case note, warning, error

        public static func < (lhs: Level, rhs: Level) -> Bool {
            [Level.note, .warning, .error].firstIndex(of: lhs)! < [Level.note, .warning, .error].firstIndex(of: rhs)!
        }
    }

    public var tool: String
    public var rule: String?
    public var level: Level
    public var message: String
    public var file: String?
    public var line: Int?
    public var column: Int?

    public init(
        tool: String, rule: String? = nil, level: Level, message: String, file: String? = nil, line: Int? = nil,
        column: Int? = nil
    ) {
        self.tool = tool
        self.rule = rule
        self.level = level
        self.message = message
        self.file = file
        self.line = line
        self.column = column
    }
}

/// The findings of one report.
public struct FindingsReport: Equatable, Sendable {
    public var findings: [Finding]

    public init(findings: [Finding] = []) { self.findings = findings }

    public func count(atLeast level: Finding.Level) -> Int { findings.filter { $0.level >= level }.count }

    /// Each finding once, by file, line, column, level and message, in first-seen
    /// order: a compiler prints one warning again for every compilation or macro
    /// expansion that meets it, and a build and a test step each print it.
    public var distinct: FindingsReport {
        var seen: Set<String> = []
        return FindingsReport(
            findings: findings.filter { finding in
                let key = [
                    finding.file ?? "", finding.line.map(String.init) ?? "", finding.column.map(String.init) ?? "",
                    finding.level.rawValue, finding.message,
                ].joined(separator: "\u{0}")
                return seen.insert(key).inserted
            })
    }
}
