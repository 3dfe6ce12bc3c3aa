/// Cobertura XML (coverage.py, coverlet): `sources`, then
/// `packages/package/classes/class@filename` with `lines/line@number,hits`.
public enum CoberturaParser {
    public static func parse(_ bytes: [UInt8], file: String) throws(ReportError) -> CoverageReport {
        let root = try XMLReader.parse(bytes, file: file)
        guard root.name == "coverage" else {
            throw ReportError(file: file, reason: "not a Cobertura report: the root element is <\(root.name)>")
        }
        // Counts come from the line records; the summary line-rate is not trusted.
        var report = CoverageReport()
        for package in root.child(named: "packages")?.children(named: "package") ?? [] {
            for aClass in package.child(named: "classes")?.children(named: "class") ?? [] {
                guard let path = aClass["filename"] else {
                    throw ReportError(file: file, reason: "a <class> without a filename")
                }
                var lines = aClass.child(named: "lines")?.children(named: "line") ?? []
                // coverlet repeats lines under methods; the class's own list is enough when present.
                if lines.isEmpty {
                    lines =
                        aClass.child(named: "methods")?.children(named: "method")
                        .flatMap { $0.child(named: "lines")?.children(named: "line") ?? [] } ?? []
                }
                var record = report.files.removeValue(forKey: path) ?? CoverageReport.File(path: path)
                for line in lines {
                    guard let number = line["number"].flatMap({ Int($0) }),
                        (0...ReportLimits.maximumLine).contains(number),
                        let hits = line["hits"].flatMap({ UInt64($0) })
                    else { throw ReportError(file: file, reason: "a <line> in \(path) without a number or hits") }
                    record.hits[number] = max(record.hits[number] ?? 0, hits)
                }
                report.files[path] = record
            }
        }
        return report
    }

    /// The `<sources>` roots that filenames are relative to.
    public static func sources(_ bytes: [UInt8], file: String) throws(ReportError) -> [String] {
        let root = try XMLReader.parse(bytes, file: file)
        return root.child(named: "sources")?.children(named: "source").map(\.text) ?? []
    }
}

/// lcov tracefiles (node --test, llvm-cov export -format=lcov):
/// `SF:path`, `DA:line,count`, `end_of_record`; a file may appear several times.
public enum LcovParser {
    public static func parse(_ bytes: [UInt8], file: String) throws(ReportError) -> CoverageReport {
        try ReportLimits.check(bytes, file: file)
        var report = CoverageReport()
        var current: String?
        var lineNumber = 0
        var records = 0
        for rawLine in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = String(decoding: rawLine, as: UTF8.self)
            if line.hasSuffix("\r") { line.removeLast() }
            if line.hasPrefix("SF:") {
                current = String(line.dropFirst(3))
                report.files[current!] = report.files[current!] ?? CoverageReport.File(path: current!)
            } else if line.hasPrefix("DA:") {
                let fields = line.dropFirst(3).split(separator: ",")
                guard let path = current, fields.count >= 2, let number = Int(fields[0]),
                    (0...ReportLimits.maximumLine).contains(number),
                    let count = UInt64(fields[1])
                else { throw ReportError(file: file, position: "line \(lineNumber)", reason: "malformed DA record") }
                records += 1
                guard records <= CoverageReport.maximumRecords else {
                    throw ReportError(file: file, reason: "more than \(CoverageReport.maximumRecords) line records")
                }
                report.record(path: path, line: number, count: count)
            } else if line == "end_of_record" {
                current = nil
            }
        }
        return report
    }
}

/// Go coverprofiles: `mode: set|count|atomic`, then
/// `file:startLine.startCol,endLine.endCol statements count`. Coverage is of
/// statements; identical blocks merge (OR in set mode, sum otherwise).
public enum GoCoverProfileParser {
    public static func parse(_ bytes: [UInt8], file: String) throws(ReportError) -> CoverageReport {
        try ReportLimits.check(bytes, file: file)
        var report = CoverageReport(unit: .statements)
        var blocks: [String: [String: (statements: Int, count: UInt64)]] = [:]
        var mode: String?
        var lineNumber = 0
        for rawLine in bytes.split(separator: UInt8(ascii: "\n")) {
            lineNumber += 1
            let line = String(decoding: rawLine, as: UTF8.self)
            if mode == nil {
                guard line.hasPrefix("mode: ") else {
                    throw ReportError(file: file, position: "line 1", reason: "a coverprofile starts with 'mode: '")
                }
                mode = String(line.dropFirst(6))
                continue
            }
            // The path may hold ':'; the block is after the last one.
            guard let colon = line.lastIndex(of: ":") else {
                throw ReportError(file: file, position: "line \(lineNumber)", reason: "malformed block")
            }
            let path = String(line[..<colon])
            let fields = line[line.index(after: colon)...].split(separator: " ")
            guard fields.count == 3, let statements = Int(fields[1]), (0...1_000_000).contains(statements),
                let count = UInt64(fields[2])
            else {
                throw ReportError(file: file, position: "line \(lineNumber)", reason: "malformed block")
            }
            let key = String(fields[0])
            guard lineNumber <= CoverageReport.maximumRecords else {
                throw ReportError(file: file, reason: "more than \(CoverageReport.maximumRecords) blocks")
            }
            if let previous = blocks[path]?[key] {
                let merged =
                    mode == "set" ? (previous.count > 0 || count > 0 ? 1 : 0) : previous.count.saturatingAdd(count)
                blocks[path]![key] = (statements, merged)
            } else {
                blocks[path, default: [:]][key] = (statements, count)
            }
        }
        for (path, fileBlocks) in blocks {
            var record = CoverageReport.File(path: path)
            record.linesPerKey = 1024
            for (position, block) in fileBlocks {
                // "startLine.startColumn,endLine.endColumn": keyed by where it starts.
                let start = position.split(separator: ",", omittingEmptySubsequences: false)[0].split(separator: ".")
                guard start.count == 2, let line = Int(start[0]), (0...ReportLimits.maximumLine).contains(line),
                    let column = Int(start[1]),
                    column >= 0
                else {
                    throw ReportError(file: file, reason: "malformed block position \(position) in \(path)")
                }
                let key = line * 1024 + min(column, 1023)
                record.hits[key] = max(record.hits[key] ?? 0, block.count)
                record.weights[key] = block.statements
            }
            report.files[path] = record
        }
        return report
    }
}
