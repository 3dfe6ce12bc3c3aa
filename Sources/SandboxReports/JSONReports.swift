internal import FoundationEssentials

/// Decodes a JSON report with the byte cap, naming the file and the failing path.
func decodeReport<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], file: String) throws(ReportError) -> T {
    try ReportLimits.check(bytes, file: file)
    do {
        return try JSONDecoder().decode(T.self, from: Data(bytes))
    } catch let DecodingError.dataCorrupted(context) {
        throw ReportError(
            file: file, position: path(context.codingPath), reason: "malformed JSON: \(context.debugDescription)")
    } catch let DecodingError.keyNotFound(key, context) {
        throw ReportError(file: file, position: path(context.codingPath), reason: "missing key '\(key.stringValue)'")
    } catch let DecodingError.typeMismatch(_, context) {
        throw ReportError(
            file: file, position: path(context.codingPath), reason: "unexpected type: \(context.debugDescription)")
    } catch let DecodingError.valueNotFound(_, context) {
        throw ReportError(file: file, position: path(context.codingPath), reason: "missing value")
    } catch {
        throw ReportError(file: file, reason: "unreadable JSON")
    }
}

private func path(_ codingPath: [any CodingKey]) -> String? {
    guard !codingPath.isEmpty else { return nil }
    return "at " + codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
}

/// coverage.py's JSON report: `files{path: {executed_lines, missing_lines}}`.
public enum CoveragePyJSONParser {
    struct Report: Decodable {
        struct File: Decodable {
            var executed_lines: [Int]
            var missing_lines: [Int]
        }
        var files: [String: File]
    }

    public static func parse(_ bytes: [UInt8], file: String) throws(ReportError) -> CoverageReport {
        let decoded = try decodeReport(Report.self, bytes, file: file)
        var report = CoverageReport()
        for (path, lines) in decoded.files {
            var record = CoverageReport.File(path: path)
            for line in lines.executed_lines { record.hits[try ReportLimits.line(line, in: path, file: file)] = 1 }
            for line in lines.missing_lines { record.hits[try ReportLimits.line(line, in: path, file: file)] = 0 }
            report.files[path] = record
        }
        return report
    }
}

/// llvm-cov export JSON (`swift test --enable-code-coverage`): per-file line
/// summaries, `data[0].files[].summary.lines{count,covered}`.
public enum LLVMCovJSONParser {
    struct Export: Decodable {
        struct Datum: Decodable {
            struct File: Decodable {
                struct Summary: Decodable {
                    struct Lines: Decodable {
                        var count: Int
                        var covered: Int
                    }
                    var lines: Lines
                }
                var filename: String
                var summary: Summary
            }
            var files: [File]
        }
        var data: [Datum]
    }

    /// Totals per file. The export lists test files too; filter them out after.
    public static func parse(_ bytes: [UInt8], file: String) throws(ReportError) -> CoverageReport {
        let decoded = try decodeReport(Export.self, bytes, file: file)
        var report = CoverageReport()
        for datum in decoded.data {
            for entry in datum.files {
                let lines = entry.summary.lines
                guard (0...ReportLimits.maximumCount).contains(lines.count), (0...lines.count).contains(lines.covered)
                else {
                    throw ReportError(
                        file: file,
                        reason: "\(entry.filename): \(lines.covered) of \(lines.count) lines covered is impossible")
                }
                var record = CoverageReport.File(path: entry.filename)
                record.summary = (lines.covered, lines.count)
                report.files[entry.filename] = record
            }
        }
        return report
    }
}

/// SARIF 2.1.0: `runs[].tool.driver.name` and `runs[].results[]`.
public enum SARIFParser {
    struct Log: Decodable {
        struct Run: Decodable {
            struct Tool: Decodable {
                struct Driver: Decodable { var name: String }
                var driver: Driver
            }
            struct Result: Decodable {
                struct Message: Decodable { var text: String? }
                struct Location: Decodable {
                    struct Physical: Decodable {
                        struct Artifact: Decodable { var uri: String? }
                        struct Region: Decodable {
                            var startLine: Int?
                            var startColumn: Int?
                        }
                        var artifactLocation: Artifact?
                        var region: Region?
                    }
                    var physicalLocation: Physical?
                }
                var ruleId: String?
                var level: String?
                var message: Message
                var locations: [Location]?
            }
            var tool: Tool
            var results: [Result]?
        }
        var version: String?
        var runs: [Run]
    }

    public static func parse(_ bytes: [UInt8], file: String) throws(ReportError) -> FindingsReport {
        let log = try decodeReport(Log.self, bytes, file: file)
        if let version = log.version, version != "2.1.0" {
            throw ReportError(file: file, reason: "SARIF version \(version); only 2.1.0 is read")
        }
        var report = FindingsReport()
        for run in log.runs {
            for result in run.results ?? [] {
                let location = result.locations?.first?.physicalLocation
                // SARIF's default level is "warning"; "none" is informational.
                let level: Finding.Level =
                    switch result.level ?? "warning" {
                    case "error": .error
                    case "warning": .warning
                    default: .note
                    }
                report.findings.append(
                    Finding(
                        tool: run.tool.driver.name, rule: result.ruleId, level: level,
                        message: result.message.text ?? "",
                        file: location?.artifactLocation?.uri, line: location?.region?.startLine,
                        column: location?.region?.startColumn))
            }
        }
        return report
    }
}

/// ruff's JSON: `[{code, filename, location{row,column}, message}]`. Every
/// finding is a rule violation, reported at error level.
public enum RuffJSONParser {
    struct Item: Decodable {
        struct Location: Decodable {
            var row: Int
            var column: Int
        }
        var code: String?
        var filename: String
        var location: Location
        var message: String
    }

    public static func parse(_ bytes: [UInt8], file: String) throws(ReportError) -> FindingsReport {
        let items = try decodeReport([Item].self, bytes, file: file)
        return FindingsReport(
            findings: items.map {
                Finding(
                    tool: "ruff", rule: $0.code, level: .error, message: $0.message, file: $0.filename,
                    line: $0.location.row, column: $0.location.column)
            })
    }
}

/// pylint's JSON: `[{type, path, line, column, symbol, message-id, message}]`.
public enum PylintJSONParser {
    struct Item: Decodable {
        var type: String
        var path: String
        var line: Int?
        var column: Int?
        var symbol: String?
        var message: String
        var messageID: String?

        enum CodingKeys: String, CodingKey {
            case type, path, line, column, symbol, message
            case messageID = "message-id"
        }
    }

    public static func parse(_ bytes: [UInt8], file: String) throws(ReportError) -> FindingsReport {
        let items = try decodeReport([Item].self, bytes, file: file)
        return FindingsReport(
            findings: items.map { item in
                let level: Finding.Level =
                    switch item.type {
                    case "fatal", "error": .error
                    case "warning": .warning
                    default: .note
                    }
                return Finding(
                    tool: "pylint", rule: item.messageID ?? item.symbol, level: level, message: item.message,
                    file: item.path, line: item.line, column: item.column)
            })
    }
}

/// ESLint's JSON: `[{filePath, messages[{ruleId, severity 1|2, fatal, line, column, message}]}]`.
public enum ESLintJSONParser {
    struct FileResult: Decodable {
        struct Message: Decodable {
            var ruleId: String?
            var severity: Int
            var fatal: Bool?
            var line: Int?
            var column: Int?
            var message: String
        }
        var filePath: String
        var messages: [Message]
    }

    public static func parse(_ bytes: [UInt8], file: String) throws(ReportError) -> FindingsReport {
        let results = try decodeReport([FileResult].self, bytes, file: file)
        return FindingsReport(
            findings: results.flatMap { result in
                result.messages.map { message in
                    Finding(
                        tool: "eslint", rule: message.ruleId,
                        level: message.fatal == true || message.severity >= 2
                            ? .error : (message.severity == 1 ? .warning : .note),
                        message: message.message, file: result.filePath, line: message.line, column: message.column)
                }
            })
    }
}
