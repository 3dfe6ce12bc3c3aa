/// Line (or, for Go, statement) coverage, per file, as a report recorded it.
public struct CoverageReport: Equatable, Sendable {
    /// What is counted: lines for most tools, statements for Go.
    public enum Unit: String, Equatable, Sendable {
        case lines, statements
    }

    /// One file: for each line (or statement block), how often it ran.
    public struct File: Equatable, Sendable {
        public var path: String
        /// Executable units and their hit counts.
        public var hits: [Int: UInt64]
        /// Units per key, where one key stands for several (a Go block's statements).
        public var weights: [Int: Int]
        /// Keys are `line * linesPerKey + column` where blocks, not lines, are counted.
        public var linesPerKey: Int = 1

        public init(path: String, hits: [Int: UInt64] = [:], weights: [Int: Int] = [:]) {
            self.path = path
            self.hits = hits
            self.weights = weights
        }

        /// Totals from a report that gives only totals (llvm-cov's summaries).
        public var summary: (covered: Int, total: Int)?

        public static func == (lhs: File, rhs: File) -> Bool {
            lhs.path == rhs.path && lhs.hits == rhs.hits && lhs.weights == rhs.weights
                && lhs.summary?.covered == rhs.summary?.covered && lhs.summary?.total == rhs.summary?.total
        }

        public var total: Int { summary?.total ?? hits.keys.map { weights[$0] ?? 1 }.reduce(0, +) }
        public var covered: Int {
            summary?.covered ?? hits.filter { $0.value > 0 }.keys.map { weights[$0] ?? 1 }.reduce(0, +)
        }
        /// Lines holding uncovered code, in order.
        public var missing: [Int] { Array(Set(hits.filter { $0.value == 0 }.keys.map { $0 / linesPerKey })).sorted() }
    }

    public var unit: Unit
    public var files: [String: File]

    /// A report's path as the tree names it: reports name files from the working
    /// copy's root (`/workspace/src/a.py`), relative to it, or with `./`.
    public static func treePath(_ path: String) -> String {
        var path = Substring(path)
        if path.hasPrefix("/workspace/") { path = path.dropFirst("/workspace/".count) }
        while path.hasPrefix("./") { path = path.dropFirst(2) }
        return String(path)
    }

    public init(unit: Unit = .lines, files: [String: File] = [:]) {
        self.unit = unit
        self.files = files
    }

    public var total: Int { files.values.map(\.total).reduce(0, +) }
    public var covered: Int { files.values.map(\.covered).reduce(0, +) }

    /// Covered share in percent; nil when nothing was measured (which is never a pass).
    public var percent: Double? {
        total == 0 ? nil : Double(covered) * 100 / Double(total)
    }

    /// Adds `count` hits to `line` of `path`: repeated records of a file merge.
    mutating func record(path: String, line: Int, count: UInt64) {
        // In place: copying the file's table for every record would be quadratic.
        files[path, default: File(path: path)].hits[line, default: 0].addSaturating(count)
    }

    /// Records beyond this in one report are refused: a report cannot make the
    /// supervisor build a table of unbounded size.
    public static let maximumRecords = 2_000_000

    /// Keeps only the files `include` accepts (drop tests or generated code).
    public func filtered(_ include: (String) -> Bool) -> CoverageReport {
        CoverageReport(unit: unit, files: files.filter { include($0.key) })
    }
}

extension UInt64 {
    /// Hit counts add up to the largest count, never around it.
    mutating func addSaturating(_ other: UInt64) {
        self = saturatingAdd(other)
    }

    func saturatingAdd(_ other: UInt64) -> UInt64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }
}
