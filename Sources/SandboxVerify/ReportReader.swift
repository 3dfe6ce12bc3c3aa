import SandboxModel
import SandboxPolicy
import SandboxReports
import SandboxVerdict

/// Reads a report's bytes by its declared format.
enum ReportReader {
    /// The gate family a report feeds: what its format measures, except that a
    /// format step's diagnostics or findings (`swift format lint`) name files not
    /// formatted, and a lint step's plain diagnostics (`go vet`) are lint findings.
    /// Compiler output (cargo's JSON) stays warnings. The one place this is decided.
    static func kind(of spec: ReportSpec, in stepKind: StepKind) -> ReportEvidence.Kind {
        let measured: ReportEvidence.Kind =
            switch spec.format {
            case .junit, .trx, .goTestJSON, .libtest, .tap: .tests
            case .cobertura, .lcov, .goCoverprofile, .coveragePyJSON, .llvmCovJSON: .coverage
            case .sarif, .ruffJSON, .pylintJSON, .eslintJSON: .findings
            case .cargoJSON, .diagnostics: .diagnostics
            case .unformattedList: .unformatted
            }
        switch stepKind {
        case .format where measured == .diagnostics || measured == .findings: return .unformatted
        case .lint where spec.format == .diagnostics: return .findings
        default: return measured
        }
    }

    /// A report as evidence: parsed, paths made relative to the tree, coverage
    /// narrowed to the spec's `include`, and counted in its step's gate family.
    static func evidence(
        _ bytes: [UInt8], spec: ReportSpec, stepKind: StepKind, file: String, outputCut: Bool = false
    ) -> ReportEvidence {
        var content = read(bytes, format: spec.format, file: file)
        // A stream cut at the output limit ends mid-record: say so, not only "malformed".
        if case .failure(var error) = content, outputCut {
            error.reason += " (the output was cut at the step's output limit)"
            content = .failure(error)
        }
        if !spec.include.isEmpty || !spec.exclude.isEmpty, case .success(.coverage(let coverage)) = content {
            content = .success(.coverage(coverage.filtered(spec.counts)))
        }
        let kind = kind(of: spec, in: stepKind)
        return ReportEvidence(name: file, kind: kind, content: content.map { $0.counted(as: kind) })
    }

    /// Paths as a reviewer knows them: relative to the tree, not to the sandbox,
    /// and without flake8's leading "./".
    static func relative(_ path: String) -> String {
        if path.hasPrefix("/workspace/") { return String(path.dropFirst("/workspace/".count)) }
        return path.hasPrefix("./") ? String(path.dropFirst(2)) : path
    }

    static func read(_ bytes: [UInt8], format: ReportFormat, file: String) -> Result<
        ReportEvidence.Content, ReportError
    > {
        parse(bytes, format: format, file: file).map { content in
            switch content {
            case .tests(var report):
                // node --test names a file's suite by its path.
                for index in report.cases.indices {
                    report.cases[index].file = report.cases[index].file.map(relative)
                    report.cases[index].name = relative(report.cases[index].name)
                    report.cases[index].className = relative(report.cases[index].className)
                }
                return .tests(report)
            case .coverage(var report):
                report.files = Dictionary(
                    report.files.map { path, file in
                        var moved = file
                        moved.path = relative(path)
                        return (moved.path, moved)
                    }, uniquingKeysWith: { first, _ in first })
                return .coverage(report)
            case .findings(var report):
                for index in report.findings.indices {
                    report.findings[index].file = report.findings[index].file.map(relative)
                }
                return .findings(report)
            case .diagnostics(var report):
                for index in report.findings.indices {
                    report.findings[index].file = report.findings[index].file.map(relative)
                }
                return .diagnostics(report)
            case .unformatted(let files):
                return .unformatted(files.map(relative))
            }
        }
    }

    static func parse(_ bytes: [UInt8], format: ReportFormat, file: String) -> Result<
        ReportEvidence.Content, ReportError
    > {
        do throws(ReportError) {
            switch format {
            case .junit: return .success(.tests(try JUnitParser.parse(bytes, file: file)))
            case .goTestJSON: return .success(.tests(try GoTestJSONParser.parse(bytes, file: file)))
            case .libtest: return .success(.tests(try LibtestParser.parse(bytes, file: file)))
            case .tap: return .success(.tests(try TAPParser.parse(bytes, file: file)))
            case .trx: return .success(.tests(try TRXParser.parse(bytes, file: file)))
            case .cobertura: return .success(.coverage(try CoberturaParser.parse(bytes, file: file)))
            case .lcov: return .success(.coverage(try LcovParser.parse(bytes, file: file)))
            case .goCoverprofile: return .success(.coverage(try GoCoverProfileParser.parse(bytes, file: file)))
            case .coveragePyJSON: return .success(.coverage(try CoveragePyJSONParser.parse(bytes, file: file)))
            case .llvmCovJSON: return .success(.coverage(try LLVMCovJSONParser.parse(bytes, file: file)))
            case .sarif: return .success(.findings(try SARIFParser.parse(bytes, file: file)))
            case .ruffJSON: return .success(.findings(try RuffJSONParser.parse(bytes, file: file)))
            case .pylintJSON: return .success(.findings(try PylintJSONParser.parse(bytes, file: file)))
            case .eslintJSON: return .success(.findings(try ESLintJSONParser.parse(bytes, file: file)))
            case .cargoJSON: return .success(.diagnostics(try CargoJSONParser.parse(bytes, file: file)))
            case .diagnostics: return .success(.diagnostics(try DiagnosticsParser.parse(bytes, file: file, tool: file)))
            case .unformattedList: return .success(.unformatted(UnformattedList.parse(bytes)))
            }
        } catch {
            return .failure(error)
        }
    }
}

extension ReportEvidence.Content {
    /// This content in the gate family `kind` (see `ReportReader.kind`): the files
    /// a format step's diagnostics name, once each; a lint step's diagnostics as findings.
    func counted(as kind: ReportEvidence.Kind) -> ReportEvidence.Content {
        switch (kind, self) {
        case (.unformatted, .diagnostics(let report)), (.unformatted, .findings(let report)):
            var seen = Set<String>()
            return .unformatted(report.findings.compactMap(\.file).filter { seen.insert($0).inserted })
        case (.findings, .diagnostics(let report)): return .findings(report)
        default: return self
        }
    }
}

/// Formatter output listing files that would change: `gofmt -l`, `cargo fmt -- -l`,
/// ruff's "Would reformat: path" and its concise "path:line:col: unformatted: …",
/// black's "would reformat path". Only the formatters' own summary and
/// exclamation lines are dropped.
enum UnformattedList {
    static func parse(_ bytes: [UInt8]) -> [String] {
        String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { line in
            // black's "error: cannot format x.py: …" is a failure of the step, which says so.
            if isSummary(line) || line.hasPrefix("Oh no!") || line.hasPrefix("All done!") || line.hasPrefix("error: ") {
                return nil
            }
            let prefix = ["Would reformat: ", "would reformat "].first { line.hasPrefix($0) }
            let trimmed = prefix.map { line.dropFirst($0.count) } ?? line
            let path = conciseRuffPath(trimmed) ?? trimmed
            return path.isEmpty ? nil : String(path)
        }
    }

    /// ruff 0.17's concise format: "pkg/a b.py:1:7: unformatted: File would be reformatted".
    static func conciseRuffPath(_ line: Substring) -> Substring? {
        let marker = ": unformatted: File would be reformatted"
        guard line.hasSuffix(marker) else { return nil }
        var path = line.dropLast(marker.count)
        for _ in 0..<2 {
            guard let colon = path.lastIndex(of: ":"), !path[path.index(after: colon)...].isEmpty,
                path[path.index(after: colon)...].allSatisfy(\.isNumber)
            else { return nil }
            path = path[..<colon]
        }
        return path
    }

    /// "3 files already formatted", "1 file would be reformatted, 2 files already formatted";
    /// black's end with a full stop.
    static func isSummary(_ text: Substring) -> Bool {
        guard let first = text.first, first.isNumber else { return false }
        let line = text.hasSuffix(".") ? text.dropLast() : text
        return line.hasSuffix(" already formatted") || line.hasSuffix(" would be reformatted")
            || line.hasSuffix(" would fail to reformat")
            || line.hasSuffix(" left unchanged") || line.contains(" would be reformatted, ")
    }
}
