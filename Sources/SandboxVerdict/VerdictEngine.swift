public import SandboxModel
import SandboxReports

/// Decides merge readiness from what the steps did and what their reports say.
/// Pure: the same evidence always gives the same verdict.
public enum VerdictEngine {
    /// `notes` are shown with the verdict before those the evidence makes (the
    /// failures of steps allowed to fail); each note appears once. `changes`, the
    /// lines a branch adds or changes by file (against its base), make patch
    /// coverage measured; without them its gate is left out: there is no patch.
    /// `judgingChanges`, what the branch changed of what judges it (in words, one
    /// change each), and `base`, the base's own line coverage, measure those gates.
    /// Without a base (`changes` nil) every gate that needs one is left out.
    public static func evaluate(
        _ steps: [StepEvidence], gates: [GateDefinition] = GateDefinition.defaults, notes: [String] = [],
        changes: [String: Set<Int>]? = nil, judgingChanges: [String]? = nil, base: BaseCoverage? = nil
    ) -> Verdict {
        var measured = Measurements(steps)
        measured.changes = changes
        measured.judgingChanges = judgingChanges
        measured.base = base
        let judged = gates.filter { !$0.metric.needsBase || changes != nil }
        let results = judged.map { gate -> GateResult in
            guard let measurement = measured.value(for: gate.metric) else {
                return GateResult(definition: gate, actual: nil, status: .notMeasured, reasons: [])
            }
            switch measurement {
            case .unreadable(let reasons):
                return GateResult(definition: gate, actual: nil, status: .failed, reasons: Self.capped(reasons))
            case .value(let value, let details):
                let passed = gate.comparison.holds(value, gate.threshold)
                return GateResult(
                    definition: gate, actual: value, status: passed ? .passed : .failed,
                    reasons: passed && !gate.metric.explainsPasses ? [] : Self.capped(details))
            }
        }
        var verdict = Verdict(gates: results, skippedTests: measured.tests.skipped, flakyTests: measured.flaky)
        verdict.changes = changes
        var seen: Set<String> = []
        verdict.notes = (notes + measured.allowedFailures + measured.expectedRefusals).filter {
            seen.insert($0).inserted
        }
        verdict.steps = steps.map {
            var outcome = StepOutcome(
                name: $0.name, kind: $0.kind, result: $0.result, continuesOnError: $0.continuesOnError)
            outcome.image = $0.image
            return outcome
        }
        return verdict
    }
}

extension VerdictEngine {
    /// Reasons shown per gate; the rest are counted, not listed.
    public static let reasonsPerGate = 50

    static func capped(_ reasons: [String]) -> [String] {
        guard reasons.count > reasonsPerGate else { return reasons }
        return Array(reasons.prefix(reasonsPerGate)) + ["… and \(reasons.count - reasonsPerGate) more"]
    }
}

/// A metric's value with the details that explain it, or why it could not be had.
enum Measurement {
    case value(Double, details: [String])
    case unreadable([String])
}

/// The metrics, gathered across steps once.
struct Measurements {
    var tests = TestReport()
    var flaky: [String] = []
    var testReportsExpected = false
    var coverage = CoverageReport()
    var coverageExpected = false
    var lint = FindingsReport()
    var lintExpected = false
    var warnings = FindingsReport()
    var warningsExpected = false
    var unformatted: [String] = []
    var formattingExpected = false
    /// Reports that could not be read, by the gate family they feed.
    var unreadable: [ReportEvidence.Kind: [String]] = [:]
    var containment: [String] = []
    var stepFailures: [String] = []
    /// Unexplained failures of steps the policy lets fail (continue-on-error).
    var allowedFailures: [String] = []
    /// Refused calls that programs expect to be refused, in words.
    var expectedRefusals: [String] = []
    /// The lines the branch adds or changes, by file, when judged against a base.
    var changes: [String: Set<Int>]?
    /// What the branch changed of what judges it, when judged against a base.
    var judgingChanges: [String]?
    /// The base's own line coverage, when judged against a base.
    var base: BaseCoverage?

    init(_ steps: [StepEvidence]) {
        var testReports: [TestReport] = []
        var coverages: [CoverageReport] = []
        for step in steps {
            containment += ContainmentWords.incidents(of: step)
            expectedRefusals += ContainmentWords.expectedRefusals(of: step)
            for report in step.reports {
                switch report.kind {
                case .tests: testReportsExpected = true
                case .coverage: coverageExpected = true
                case .findings: lintExpected = true
                case .diagnostics: warningsExpected = true
                case .unformatted: formattingExpected = true
                }
                switch report.content {
                case .failure(let error):
                    // The step's own last error line often says why ("no llvm-cov …").
                    let said = step.errorLine.map { "; the step said: \($0)" } ?? ""
                    unreadable[report.kind, default: []].append("\(step.name): \(error)\(said)")
                case .success(.tests(let report)): testReports.append(report)
                case .success(.coverage(let report)): coverages.append(report)
                case .success(.findings(let report)): lint.findings += report.findings
                case .success(.diagnostics(let report)): warnings.findings += report.findings
                case .success(.unformatted(let files)): unformatted += files
                }
            }
            if let unexplained = Self.unexplainedFailure(of: step) {
                if step.continuesOnError {
                    allowedFailures.append(unexplained + " (continue-on-error: not counted as a failed step)")
                } else {
                    stepFailures.append(unexplained)
                }
            }
        }
        tests = TestReport.merged(testReports)
        flaky = tests.cases.filter(\.flaky).map { $0.className.isEmpty ? $0.name : "\($0.className).\($0.name)" }
        for report in coverages {
            for (path, file) in report.files { coverage.files[path] = Self.combined(coverage.files[path], file) }
        }
    }

    /// A file two reports measure: the later one's, except that a report of totals
    /// alone (llvm-cov's summary) and one of line records (its lcov) combine: the
    /// totals count, as the toolchain's own figure does, and the lines say which ran.
    static func combined(_ earlier: CoverageReport.File?, _ later: CoverageReport.File) -> CoverageReport.File {
        guard let earlier, earlier.linesPerKey == 1, later.linesPerKey == 1 else { return later }
        switch (earlier.summary, later.summary) {
        case (let totals?, nil) where earlier.hits.isEmpty:
            var file = later
            file.summary = totals
            return file
        case (nil, _?) where later.hits.isEmpty:
            var file = earlier
            file.summary = later.summary
            return file
        default: return later
        }
    }

    /// A step that exited non-zero is a failure unless its own reports explain
    /// it (failing tests, findings); a limit or a refused call is containment's.
    static func unexplainedFailure(of step: StepEvidence) -> String? {
        let result = step.result
        guard result.status == .exited || result.status == .signaled, result.exitStatus != 0 else { return nil }
        let explained = step.reports.contains { report in
            switch report.content {
            case .success(.tests(let tests)): tests.failed + tests.errors > 0
            case .success(.findings(let findings)), .success(.diagnostics(let findings)):
                findings.count(atLeast: .warning) > 0
            case .success(.unformatted(let files)): !files.isEmpty
            case .success(.coverage), .failure: false
            }
        }
        // A refusal that is an incident explains the failure; one programs expect does not.
        let incident = result.deniedSyscalls.contains { ContainmentWords.expected[$0.name] == nil }
        if explained || !result.limitsHit.isEmpty || incident { return nil }
        let clue = step.failureClue.map { ": \($0)" } ?? ""
        if let signal = result.signal { return "\(step.name): died of signal \(signal)\(clue)" }
        return "\(step.name): exited with status \(result.exitCode ?? -1)\(clue)"
    }

    func value(for metric: GateDefinition.Metric) -> Measurement? {
        switch metric {
        case .containment:
            return .value(Double(containment.count), details: containment)
        case .stepFailures:
            return .value(Double(stepFailures.count), details: stepFailures)
        case .testsRan:
            guard testReportsExpected else { return nil }
            if let reasons = unreadable[.tests] { return .unreadable(reasons) }
            return .value(Double(tests.ran), details: ["\(tests.ran) tests ran (\(tests.skipped) skipped)"])
        case .testFailures:
            guard testReportsExpected else { return nil }
            if let reasons = unreadable[.tests] { return .unreadable(reasons) }
            let failing = tests.cases.filter { $0.outcome == .failed || $0.outcome == .errored }.map(Self.describe)
            let unrecorded =
                tests.unrecordedErrors > 0
                ? ["\(tests.unrecordedErrors) errors outside any test (a build failure?)"] : []
            return .value(Double(tests.failed + tests.errors), details: failing + unrecorded)
        case .lineCoverage:
            guard coverageExpected else { return nil }
            if let reasons = unreadable[.coverage] { return .unreadable(reasons) }
            guard let percent = coverage.percent else {
                return .unreadable(["the coverage reports measured no lines at all"])
            }
            let worst = coverage.files.values.filter { $0.total > 0 }
                .sorted { Double($0.covered) / Double($0.total) < Double($1.covered) / Double($1.total) }.prefix(5)
                .map { "\($0.path): \($0.covered)/\($0.total) covered" + Self.missingLines($0) }
            return .value(percent, details: worst)
        case .lintErrors:
            guard lintExpected else { return nil }
            if let reasons = unreadable[.findings] { return .unreadable(reasons) }
            let errors = lint.findings.filter { $0.level == .error }
            return .value(Double(errors.count), details: errors.prefix(20).map(Self.describe))
        case .compilerWarnings:
            guard warningsExpected else { return nil }
            if let reasons = unreadable[.diagnostics] { return .unreadable(reasons) }
            let flagged = warnings.distinct.findings.filter { $0.level >= .warning }
            return .value(Double(flagged.count), details: flagged.prefix(20).map(Self.describe))
        case .patchCoverage:
            guard let changes, coverageExpected else { return nil }
            if let reasons = unreadable[.coverage] { return .unreadable(reasons) }
            return Self.patchCoverage(changes, coverage)
        case .judgingChanges:
            guard let judgingChanges else { return nil }
            return .value(Double(judgingChanges.count), details: judgingChanges)
        case .newLintErrors:
            guard let changes, lintExpected else { return nil }
            if let reasons = unreadable[.findings] { return .unreadable(reasons) }
            let new = lint.findings.filter { $0.level == .error && Self.isChanged($0, changes) }
            return .value(Double(new.count), details: new.prefix(20).map(Self.describe))
        case .coverageDrop:
            guard let base, let before = base.percent, coverageExpected, unreadable[.coverage] == nil,
                let after = coverage.percent
            else { return nil }
            let words =
                "line coverage \(GateDefinition.format(after))% against the base's "
                + "\(GateDefinition.format(before))% (\(base.source))"
            return .value(before - after, details: [words])
        case .unformattedFiles:
            guard formattingExpected else { return nil }
            if let reasons = unreadable[.unformatted] { return .unreadable(reasons) }
            return .value(Double(unformatted.count), details: unformatted.map { "\($0): not formatted" })
        }
    }

    /// Of the changed lines a coverage report counts as executable, the share that
    /// ran, as diff-cover computes it: changed lines no report knows are neither
    /// covered nor missed, and a patch with none that is executable is 100%. The
    /// uncovered ones are listed as `file:line-line` ranges.
    static func patchCoverage(_ changes: [String: Set<Int>], _ coverage: CoverageReport) -> Measurement {
        var byPath: [String: CoverageReport.File] = [:]
        for file in coverage.files.values { byPath[CoverageReport.treePath(file.path)] = file }
        var executable = 0
        var covered = 0
        var uncovered: [String] = []
        var unmeasurable: [String] = []
        for path in changes.keys.sorted() {
            guard let file = byPath[path], let lines = changes[path] else { continue }
            // Go's blocks and llvm-cov's summaries alone do not say which lines ran.
            guard file.linesPerKey == 1, file.summary.map({ $0.total == 0 }) ?? true || !file.hits.isEmpty else {
                unmeasurable.append(path)
                continue
            }
            let counted = lines.filter { file.hits[$0] != nil }.sorted()
            let missed = counted.filter { file.hits[$0] == 0 }
            executable += counted.count
            covered += counted.count - missed.count
            if !missed.isEmpty { uncovered.append("\(path):" + Self.ranges(missed)) }
        }
        if executable == 0 && !unmeasurable.isEmpty {
            return .unreadable(
                ["the coverage reports do not say which lines ran in " + unmeasurable.prefix(5).joined(separator: ", ")]
            )
        }
        guard executable > 0 else { return .value(100, details: ["no changed line is executable"]) }
        return .value(Double(covered) * 100 / Double(executable), details: uncovered)
    }

    /// `3-5, 9`: sorted lines as ranges.
    static func ranges(_ lines: [Int]) -> String {
        var parts: [String] = []
        var start = lines.first ?? 0
        var end = start
        for line in lines.dropFirst() + [Int.min] {
            if line == end + 1 {
                end = line
                continue
            }
            parts.append(start == end ? "\(start)" : "\(start)-\(end)")
            (start, end) = (line, line)
        }
        return lines.isEmpty ? "" : parts.joined(separator: ", ")
    }

    static func describe(_ test: TestCase) -> String {
        let location = test.file.map { file in test.line.map { "\(file):\($0): " } ?? "\(file): " } ?? ""
        let name = test.className.isEmpty ? test.name : "\(test.className).\(test.name)"
        let how = test.collectionError ? "could not be collected" : test.outcome == .errored ? "errored" : "failed"
        return "\(location)\(name) \(how)" + (test.message.map { ": \($0)" } ?? "")
    }

    /// Whether a finding is on a line the branch adds or changes.
    static func isChanged(_ finding: Finding, _ changes: [String: Set<Int>]) -> Bool {
        guard let file = finding.file, let line = finding.line else { return false }
        return changes[CoverageReport.treePath(file)]?.contains(line) ?? false
    }

    static func describe(_ finding: Finding) -> String {
        let location = finding.file.map { file in finding.line.map { "\(file):\($0): " } ?? "\(file): " } ?? ""
        return "\(location)\(finding.level.rawValue): \(finding.message)" + (finding.rule.map { " [\($0)]" } ?? "")
    }

    static func missingLines(_ file: CoverageReport.File) -> String {
        let missing = file.missing
        guard !missing.isEmpty else { return "" }
        return "; missing lines " + missing.prefix(12).map(String.init).joined(separator: ", ")
            + (missing.count > 12 ? ", …" : "")
    }
}

/// How a contained step's incidents read to a reviewer.
enum ContainmentWords {
    static func incidents(of step: StepEvidence) -> [String] {
        let result = step.result
        let limits = step.limits
        var words: [String] = []
        // The limit that ended the step, in words; then every other limit it reached.
        let ending: Limit?
        switch result.status {
        case .setupFailed:
            words.append("\(step.name): could not start: \(result.setupFailure?.message ?? "setup failed")")
            ending = nil
        case .memoryLimit:
            words.append("\(step.name): killed at the \(limits.memory) memory limit")
            ending = .memory
        case .timeout:
            words.append("\(step.name): stopped at the \(limits.timeout) wall-clock limit")
            ending = .timeout
        case .cpuTimeLimit:
            words.append("\(step.name): stopped at the \(limits.cpuTime) CPU-time limit")
            ending = .cpuTime
        case .outputLimit:
            words.append("\(step.name): stopped at the \(limits.output) output limit")
            ending = .output
        case .pidsLimit:
            words.append("\(step.name): failed after a process was refused at the \(limits.pids)-process limit")
            ending = .pids
        case .exited, .signaled:
            ending = nil
        }
        for limit in result.limitsHit where limit != ending {
            switch limit {
            case .memory: words.append("\(step.name): a process was killed at the \(limits.memory) memory limit")
            case .pids: words.append("\(step.name): a process was refused at the \(limits.pids)-process limit")
            case .fileSize: words.append("\(step.name): a write was stopped at the \(limits.fileSize) file-size limit")
            case .seccomp: words.append("\(step.name): ended for a refused system call")
            case .cpuTime: words.append("\(step.name): a process reached the \(limits.cpuTime) CPU-time limit")
            case .timeout: words.append("\(step.name): ran into the \(limits.timeout) wall-clock limit")
            case .output: words.append("\(step.name): its output was cut at the \(limits.output) limit")
            }
        }
        for call in result.deniedSyscalls where expected[call.name] == nil {
            words.append("\(step.name): system call \(call.name) refused (\(call.count)×)")
        }
        return words
    }

    /// Calls the filter refuses, as Docker's profile does, that ordinary programs
    /// make and do without when refused, with why: NUMA memory placement of the
    /// caller's own memory (numpy's OpenBLAS asks for it), which Docker grants only
    /// with CAP_SYS_NICE. Named in a note, never an incident: a false incident
    /// blocks healthy merges and teaches reviewers to ignore the gate.
    static let expected: [String: String] = [
        "mbind": "NUMA memory placement, which programs do without",
        "set_mempolicy": "NUMA memory placement, which programs do without",
        "get_mempolicy": "NUMA memory placement, which programs do without",
    ]

    static func expectedRefusals(of step: StepEvidence) -> [String] {
        step.result.deniedSyscalls.compactMap { call in
            expected[call.name].map {
                "\(step.name): system call \(call.name) refused (\(call.count)×), as Docker's profile refuses it "
                    + "without CAP_SYS_NICE: \($0) (not an incident)"
            }
        }
    }
}
