import Foundation
import SandboxPolicy
import Testing

@testable import SandboxVerify

@Suite struct UnformattedListTests {
    @Test func ruffSummaryLinesAreNotFiles() {
        let output =
            "Would reformat: a b.py\nWould reformat: file.py\n2 files would be reformatted, 3 files already formatted\n"
        #expect(UnformattedList.parse(Array(output.utf8)) == ["a b.py", "file.py"])
        #expect(UnformattedList.parse(Array("5 files already formatted\n".utf8)).isEmpty)
    }

    /// ruff 0.17's `format --check --output-format=concise` (real output, Tests/Fixtures).
    @Test func ruffConciseLinesNameTheFile() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/ruff-format-concise.txt")
        let bytes = Array(try Data(contentsOf: fixture))
        #expect(UnformattedList.parse(bytes) == ["messy.py", "pkg/spaced name.py"])
    }

    /// black's `--check` (real output, Tests/Fixtures): "would reformat PATH" lines,
    /// and neither its exclamations nor its summary are files.
    @Test func blackNamesTheFilesItWouldReformat() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/black-check.txt")
        let bytes = Array(try Data(contentsOf: fixture))
        #expect(
            UnformattedList.parse(bytes) == ["/tmp/blackfx/proj/pkg/with space.py", "/tmp/blackfx/proj/pkg/messy.py"])
        #expect(
            UnformattedList.parse(
                Array("All done! \u{2728} \u{1F370} \u{2728}\n1 file would be left unchanged.\n".utf8)
            ).isEmpty)
        let failed = "error: cannot format bad.py: Cannot parse: 1:4: def (\nOh no!\n1 file would fail to reformat.\n"
        #expect(UnformattedList.parse(Array(failed.utf8)).isEmpty, "a file black cannot parse is the step's failure")
    }

    /// flake8's findings name files as `./pkg/x.py`: the verdict says `pkg/x.py`.
    @Test func flake8FindingsAreLintErrorsRelativeToTheTree() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/flake8.txt")
        let spec = ReportSpec(source: .stdout, format: .diagnostics)
        let evidence = ReportReader.evidence(
            Array(try Data(contentsOf: fixture)), spec: spec, stepKind: .lint, file: "stdout")
        guard case .success(.findings(let report)) = evidence.content else {
            Issue.record("not findings: \(evidence.content)")
            return
        }
        #expect(report.findings.count == 7)
        #expect(report.findings.allSatisfy { $0.level == .error })
        #expect(report.findings.first?.file == "pkg/messy.py")
        #expect(report.findings.first?.message == "E201 whitespace after '{'")
    }

    @Test func gofmtListsNamesAsTheyAre() {
        #expect(UnformattedList.parse(Array("x file.go\nDiff in.go\n".utf8)) == ["x file.go", "Diff in.go"])
    }

    /// A failure is quoted from standard error, or from standard output when that
    /// is blank and no report reads it (pytest prints "no tests ran" there).
    @Test func failuresAreQuotedFromTheStreamThatSaysWhy() {
        let out = Array("no tests ran\n".utf8)
        let plain = StepPolicy(name: "test", kind: .test, run: ["pytest"])
        #expect(EvidenceGathering.tail(of: plain, stdout: out, stderr: Array(" \n".utf8)) == ArraySlice(out))
        #expect(
            EvidenceGathering.tail(of: plain, stdout: out, stderr: Array("boom\n".utf8)) == ArraySlice("boom\n".utf8))
        let reporting = StepPolicy(
            name: "lint", kind: .lint, run: ["ruff"], reports: [ReportSpec(source: .stdout, format: .ruffJSON)])
        #expect(
            EvidenceGathering.tail(of: reporting, stdout: Array("[]".utf8), stderr: []).isEmpty, "a report is no reason"
        )
    }

    @Test func reportsAreClearedBeforeTheStepWithPathsAsArguments() {
        let step = SandboxPolicyStep.example
        let argv = PlannedStep.clearingReports(step)
        #expect(argv.prefix(2) == ["/bin/sh", "-c"])
        #expect(argv.suffix(step.run.count) == ArraySlice(step.run))
        #expect(argv[4] == "1")
        #expect(argv[5] == "/workspace/.sandbox/reports/junit.xml")
        #expect(!argv[2].contains("junit"), "no path is part of the script")
    }
}

enum SandboxPolicyStep {
    static let example = StepPolicy(
        name: "test", kind: .test, run: ["pytest", "--junitxml=/workspace/.sandbox/reports/junit.xml"],
        reports: [ReportSpec(source: .file("/workspace/.sandbox/reports/junit.xml"), format: .junit)])
}

@Suite struct FormatStepReportTests {
    /// `swift format lint` reports formatting as diagnostics on standard error; in a
    /// format step they count as files not formatted, once per file, not as warnings.
    @Test func aFormatStepsDiagnosticsNameUnformattedFiles() throws {
        let stderr = """
            /workspace/Sources/A.swift:3:1: warning: [Indentation] replace leading whitespace with 4 spaces
            /workspace/Sources/A.swift:9:12: warning: [Spacing] remove 1 space
            /workspace/Tests/B Tests.swift:1:1: warning: [TrailingWhitespace] remove trailing whitespace

            """
        let spec = ReportSpec(source: .stderr, format: .diagnostics)
        let evidence = ReportReader.evidence(
            Array(stderr.utf8), spec: spec, stepKind: .format, file: "stderr")
        #expect(evidence.kind == .unformatted)
        guard case .success(.unformatted(let files)) = evidence.content else {
            Issue.record("expected a list of files, got \(evidence.content)")
            return
        }
        #expect(files == ["Sources/A.swift", "Tests/B Tests.swift"])
    }

    /// go vet prints `file:line:col: message` on standard error; in a lint step those
    /// are lint findings (at error level), not compiler warnings.
    @Test func aLintStepsDiagnosticsAreLintFindings() {
        let spec = ReportSpec(source: .stderr, format: .diagnostics)
        let vet = "# example.com/m\nvet: ./m.go:7:2: fmt.Printf format %d has arg s of wrong type string\n"
        let evidence = ReportReader.evidence(Array(vet.utf8), spec: spec, stepKind: .lint, file: "stderr")
        #expect(evidence.kind == .findings)
        guard case .success(.findings(let report)) = evidence.content else {
            Issue.record("expected findings, got \(evidence.content)")
            return
        }
        #expect(report.findings.map(\.level) == [.error])
        #expect(report.findings.map(\.line) == [7])
    }

    @Test func aBuildStepsDiagnosticsStayWarnings() {
        let spec = ReportSpec(source: .stdout, format: .diagnostics)
        let evidence = ReportReader.evidence(
            Array("/workspace/Sources/A.swift:3:1: warning: unused\n".utf8), spec: spec, stepKind: .build,
            file: "stdout")
        #expect(evidence.kind == .diagnostics)
        guard case .success(.diagnostics(let report)) = evidence.content else {
            Issue.record("expected diagnostics, got \(evidence.content)")
            return
        }
        #expect(report.findings.map(\.file) == ["Sources/A.swift"])
    }
}
