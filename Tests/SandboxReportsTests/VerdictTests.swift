import SandboxModel
import Testing

@testable import SandboxReports
@testable import SandboxVerdict

@Suite struct VerdictTests {
    static func exited(_ code: Int32) -> StepResult { StepResult(status: .exited, exitCode: code) }

    static func pytestEvidence(exitCode: Int32 = 1) throws -> StepEvidence {
        let junit = try JUnitParser.parse(try Fixture.bytes("pytest-junit.xml"), file: "junit.xml")
        let coverage = try CoberturaParser.parse(try Fixture.bytes("coverage.xml"), file: "coverage.xml")
        return StepEvidence(
            name: "test", kind: .test, result: exited(exitCode), limits: ResourceLimits(),
            reports: [
                ReportEvidence(name: "junit.xml", kind: .tests, content: .success(.tests(junit))),
                ReportEvidence(name: "coverage.xml", kind: .coverage, content: .success(.coverage(coverage))),
            ])
    }

    func gate(_ verdict: Verdict, _ metric: GateDefinition.Metric) throws -> GateResult {
        try #require(verdict.gates.first { $0.definition.metric == metric })
    }

    /// Patch coverage, as diff-cover counts it: of the changed lines a report calls
    /// executable, those that ran; uncovered ones as ranges; the gate is left out
    /// where there is no patch, and Go's blocks cannot say which lines ran.
    @Test func patchCoverageCountsTheChangedExecutableLines() throws {
        var file = CoverageReport.File(path: "/workspace/pkg/calc.py")
        for line in [1, 2, 3, 4, 5, 7, 8] { file.hits[line] = line < 4 ? 1 : 0 }
        let coverage = CoverageReport(unit: .lines, files: [file.path: file])
        let step = StepEvidence(
            name: "python/test", kind: .test, result: Self.exited(0), limits: ResourceLimits(),
            reports: [ReportEvidence(name: "coverage.json", kind: .coverage, content: .success(.coverage(coverage)))])
        let patch = try gate(
            VerdictEngine.evaluate([step], changes: ["pkg/calc.py": [2, 3, 4, 5, 6, 8, 20]]), .patchCoverage)
        #expect(patch.actual == 40, "2 of the 5 changed lines the report knows ran (6 and 20 are no code)")
        #expect(patch.status == .failed)
        #expect(patch.reasons == ["pkg/calc.py:4-5, 8"])
        #expect(VerdictEngine.evaluate([step]).gates.allSatisfy { $0.definition.metric != .patchCoverage })
        let untouched = try gate(VerdictEngine.evaluate([step], changes: ["README.md": [1, 2]]), .patchCoverage)
        #expect(untouched.actual == 100 && untouched.status == .passed, "no changed line is executable")
        var blocks = file
        blocks.linesPerKey = 1 << 16
        let go = CoverageReport(unit: .statements, files: [blocks.path: blocks])
        var goStep = step
        goStep.reports = [ReportEvidence(name: "cover.out", kind: .coverage, content: .success(.coverage(go)))]
        #expect(
            try gate(VerdictEngine.evaluate([goStep], changes: ["pkg/calc.py": [2]]), .patchCoverage).status == .failed)
    }

    /// llvm-cov's summary and its lcov of the same file: the summary's totals are
    /// the line coverage figure, the lcov's records say which changed lines ran; the
    /// summary alone cannot say.
    @Test func aSummaryAndLineRecordsOfOneFileCombine() throws {
        var summary = CoverageReport.File(path: "/workspace/src/lib.rs")
        summary.summary = (covered: 9, total: 10)
        var lines = CoverageReport.File(path: "/workspace/src/lib.rs")
        for line in 1...8 { lines.hits[line] = line == 3 ? 0 : 1 }
        func evidence(_ files: [CoverageReport.File]) -> StepEvidence {
            StepEvidence(
                name: "rust/test", kind: .test, result: Self.exited(0), limits: ResourceLimits(),
                reports: files.map {
                    ReportEvidence(
                        name: "r", kind: .coverage, content: .success(.coverage(CoverageReport(files: [$0.path: $0]))))
                })
        }
        for order in [[summary, lines], [lines, summary]] {
            let verdict = VerdictEngine.evaluate([evidence(order)], changes: ["src/lib.rs": [2, 3, 4]])
            #expect(try gate(verdict, .lineCoverage).actual == 90, "the summary's 9 of 10")
            let patch = try gate(verdict, .patchCoverage)
            #expect(patch.reasons == ["src/lib.rs:3"] && patch.actual.map { Int($0) } == 66)
        }
        let alone = VerdictEngine.evaluate([evidence([summary])], changes: ["src/lib.rs": [2]])
        #expect(try gate(alone, .patchCoverage).status == .failed, "a summary does not say which lines ran")
    }

    /// Against a base, error-level findings on changed lines are counted apart
    /// (new-lint-errors), and the ratchet compares line coverage with the base's
    /// own; without a base neither gate is there, and a base that measured no
    /// coverage leaves the ratchet not measured.
    @Test func newCodeFindingsAndTheRatchet() throws {
        var coverage = CoverageReport.File(path: "/workspace/a.py")
        for line in 1...10 { coverage.hits[line] = line <= 7 ? 1 : 0 }
        let findings = FindingsReport(findings: [
            Finding(tool: "ruff", rule: "F401", level: .error, message: "unused", file: "/workspace/a.py", line: 3),
            Finding(tool: "ruff", rule: "F401", level: .error, message: "unused", file: "a.py", line: 9),
            Finding(tool: "ruff", rule: "E501", level: .warning, message: "long", file: "a.py", line: 4),
        ])
        let step = StepEvidence(
            name: "python/test", kind: .test, result: Self.exited(1), limits: ResourceLimits(),
            reports: [
                ReportEvidence(
                    name: "c", kind: .coverage, content: .success(.coverage(CoverageReport(files: ["a.py": coverage])))),
                ReportEvidence(name: "l", kind: .findings, content: .success(.findings(findings))),
            ])
        let base = BaseCoverage(percent: 80, source: "verified now, tree 4e04a52fa857")
        let verdict = VerdictEngine.evaluate([step], changes: ["a.py": [3, 4]], base: base)
        let new = try gate(verdict, .newLintErrors)
        #expect(new.actual == 1 && new.status == .failed, "only line 3's error is on a changed line")
        #expect(new.reasons == ["/workspace/a.py:3: error: unused [F401]"])
        #expect(try gate(verdict, .lintErrors).actual == 2)
        let drop = try gate(verdict, .coverageDrop)
        #expect(drop.actual.map { ($0 * 10).rounded() } == 100 && drop.status == .failed, "80% to 70%")
        #expect(drop.reasons == ["line coverage 70% against the base's 80% (verified now, tree 4e04a52fa857)"])
        let kept = VerdictEngine.evaluate([step], changes: [:], base: BaseCoverage(percent: 70.5, source: "kept"))
        #expect(try gate(kept, .coverageDrop).status == .passed, "0.5 points is within the threshold")
        let unmeasured = VerdictEngine.evaluate([step], changes: [:], base: BaseCoverage(percent: nil, source: "x"))
        #expect(try gate(unmeasured, .coverageDrop).status == .notMeasured)
        let alone = VerdictEngine.evaluate([step])
        #expect(alone.gates.allSatisfy { !$0.definition.metric.needsBase }, "no base, none of its gates")
    }

    /// A run that stopped at a collection error ran no test: the tests-ran gate
    /// fails, and the error says which module could not be collected.
    @Test func aCollectionErrorIsNoTestThatRan() throws {
        let junit = try JUnitParser.parse(try Fixture.bytes("pytest-collection-error.xml"), file: "junit.xml")
        let step = StepEvidence(
            name: "python/test", kind: .test, result: Self.exited(2), limits: ResourceLimits(),
            reports: [ReportEvidence(name: "junit.xml", kind: .tests, content: .success(.tests(junit)))])
        let verdict = VerdictEngine.evaluate([step])
        #expect(try gate(verdict, .testsRan).status == .failed)
        #expect(try gate(verdict, .testsRan).actual == 0)
        let failures = try gate(verdict, .testFailures)
        #expect(failures.actual == 1)
        let reason = failures.reasons.first ?? ""
        #expect(
            reason.hasPrefix("test_broken could not be collected: ImportError while importing test module"), "\(reason)"
        )
    }

    /// One warning printed again for every compilation that meets it, and by a
    /// second step, is one warning.
    @Test func aWarningIsCountedOncePerPlace() throws {
        let warning = Finding(
            tool: "swiftc", level: .warning, message: "variable 'x' was never used", file: "Sources/A/a.swift",
            line: 3, column: 9)
        var other = warning
        other.line = 4
        let build = StepEvidence(
            name: "swift/build", kind: .build, result: Self.exited(0), limits: ResourceLimits(),
            reports: [
                ReportEvidence(
                    name: "stdout", kind: .diagnostics,
                    content: .success(.diagnostics(FindingsReport(findings: [warning, warning, other, warning]))))
            ])
        var test = build
        test.name = "swift/test"
        let warnings = try gate(VerdictEngine.evaluate([build, test]), .compilerWarnings)
        #expect(warnings.actual == 2)
        #expect(warnings.reasons.count == 2)
    }

    @Test func failingTestsBlockAndAreNamed() throws {
        let verdict = VerdictEngine.evaluate([try Self.pytestEvidence()])
        #expect(!verdict.mergeReady)
        let failures = try gate(verdict, .testFailures)
        #expect(failures.status == .failed)
        #expect(failures.actual == 2)
        #expect(
            failures.reasons.contains(
                "test_calc.test_classify_negative_fails failed: AssertionError: assert 'negative' == 'zero'"))
        #expect(try gate(verdict, .testsRan).actual == 5)
        #expect(verdict.skippedTests == 2)
        // The failing exit status is explained by the failing tests.
        #expect(try gate(verdict, .stepFailures).status == .passed)
        let coverage = try gate(verdict, .lineCoverage)
        #expect(coverage.status == .passed)
        #expect(coverage.summary == "line-coverage >= 80%: 81.6%")
        #expect(try gate(verdict, .lintErrors).status == .notMeasured)
    }

    @Test func greenStepsAreMergeReady() throws {
        var junit = try JUnitParser.parse(try Fixture.bytes("pytest-junit.xml"), file: "junit.xml")
        junit.cases.removeAll { $0.outcome == .failed || $0.outcome == .errored }
        let step = StepEvidence(
            name: "test", kind: .test, result: Self.exited(0), limits: ResourceLimits(),
            reports: [ReportEvidence(name: "junit.xml", kind: .tests, content: .success(.tests(junit)))])
        let verdict = VerdictEngine.evaluate([step])
        #expect(verdict.mergeReady)
        #expect(verdict.gates.filter { $0.status == .failed }.isEmpty)
    }

    @Test func coverageUnderTheBarBlocksWithTheWorstFiles() throws {
        let coverage = try GoCoverProfileParser.parse(try Fixture.bytes("go-cover.out"), file: "cover.out")
        let step = StepEvidence(
            name: "test", kind: .test, result: Self.exited(0), limits: ResourceLimits(),
            reports: [ReportEvidence(name: "cover.out", kind: .coverage, content: .success(.coverage(coverage)))])
        let result = try gate(VerdictEngine.evaluate([step]), .lineCoverage)
        #expect(result.status == .failed)
        #expect(result.summary == "line-coverage >= 80%: 41.7%")
        #expect(result.reasons.first == "example.com/goproj/strutil/strutil.go: 1/5 covered; missing lines 11, 13, 16")
    }

    @Test func unreadableReportFailsItsGate() throws {
        let step = StepEvidence(
            name: "test", kind: .test, result: Self.exited(0), limits: ResourceLimits(),
            reports: [
                ReportEvidence(
                    name: "junit.xml", kind: .tests,
                    content: .failure(ReportError(file: "junit.xml", reason: "the report is empty")))
            ])
        let verdict = VerdictEngine.evaluate([step])
        #expect(!verdict.mergeReady)
        let ran = try gate(verdict, .testsRan)
        #expect(ran.status == .failed)
        #expect(ran.actual == nil)
        #expect(ran.reasons == ["test: junit.xml: the report is empty"])
    }

    @Test func containmentIncidentsInWords() throws {
        var killed = StepResult(status: .memoryLimit, signal: 9)
        killed.limitsHit = [.memory]
        var limits = ResourceLimits()
        limits.memory = .gibibytes(2)
        var refused = Self.exited(0)
        refused.deniedSyscalls = [.init(name: "ptrace", count: 1)]
        var failedToStart = StepResult(status: .setupFailed)
        failedToStart.setupFailure = .init(
            stage: .sandbox(.pivotRoot), errno: 1, message: "pivot_root: Operation not permitted")
        let verdict = VerdictEngine.evaluate([
            StepEvidence(name: "test", kind: .test, result: killed, limits: limits),
            StepEvidence(name: "lint", kind: .lint, result: refused, limits: limits),
            StepEvidence(name: "build", kind: .build, result: failedToStart, limits: limits),
        ])
        let containment = try gate(verdict, .containment)
        #expect(containment.status == .failed)
        #expect(
            containment.reasons == [
                "test: killed at the 2 GiB memory limit",
                "lint: system call ptrace refused (1×)",
                "build: could not start: pivot_root: Operation not permitted",
            ])
        #expect(!verdict.mergeReady)
    }

    /// numpy asks for NUMA memory placement (mbind), which the filter refuses as
    /// Docker's profile does without CAP_SYS_NICE, and carries on: the refusal is
    /// named in a note, and is not an incident that blocks the merge.
    @Test func refusalsProgramsExpectAreNotedNotIncidents() throws {
        var result = Self.exited(0)
        result.deniedSyscalls = [.init(name: "mbind", count: 2), .init(name: "get_mempolicy", count: 1)]
        let verdict = VerdictEngine.evaluate([
            StepEvidence(name: "test", kind: .test, result: result, limits: ResourceLimits())
        ])
        let containment = try gate(verdict, .containment)
        #expect(containment.status == .passed)
        #expect(containment.actual == 0)
        #expect(
            verdict.notes.contains(
                "test: system call mbind refused (2×), as Docker's profile refuses it without CAP_SYS_NICE: "
                    + "NUMA memory placement, which programs do without (not an incident)"))
        #expect(verdict.notes.contains { $0.hasPrefix("test: system call get_mempolicy refused (1×)") })
        // Nor does such a refusal explain a step's failure away.
        var failed = StepResult(status: .exited, exitCode: 3)
        failed.deniedSyscalls = [.init(name: "mbind", count: 1)]
        let failing = VerdictEngine.evaluate([
            StepEvidence(name: "build", kind: .build, result: failed, limits: ResourceLimits())
        ])
        #expect(try gate(failing, .stepFailures).reasons == ["build: exited with status 3"])
        #expect(!failing.mergeReady)
    }

    @Test func everyLimitReachedIsNamedNotOnlyTheLastOne() throws {
        var result = StepResult(status: .outputLimit, signal: 9)
        result.limitsHit = [.memory, .pids, .output]
        let verdict = VerdictEngine.evaluate([
            StepEvidence(name: "t", kind: .test, result: result, limits: ResourceLimits())
        ])
        #expect(
            try gate(verdict, .containment).reasons == [
                "t: stopped at the 16 MiB output limit",
                "t: a process was killed at the 2 GiB memory limit",
                "t: a process was refused at the 256-process limit",
            ])
    }

    @Test func unexplainedNonZeroExitBlocks() throws {
        let verdict = VerdictEngine.evaluate([
            StepEvidence(name: "build", kind: .build, result: Self.exited(2), limits: ResourceLimits())
        ])
        let failures = try gate(verdict, .stepFailures)
        #expect(failures.status == .failed)
        #expect(failures.reasons == ["build: exited with status 2"])
    }

    /// The reviewer is told why: the last error line the step printed, not only its status.
    @Test func anUnexplainedFailureQuotesTheStepsLastError() throws {
        // cargo 1.95 resolving offline without a dependency (captured from a real run).
        let stderr = """
            error: no matching package named `compiler_builtins` found
            location searched: crates.io index
            required by package `memchr v2.5.0 (/workspace)`
            As a reminder, you're using offline mode (--offline) which can sometimes cause surprising \
            resolution failures, if this error is too confusing you may wish to retry without `--offline`.

            """
        var step = StepEvidence(name: "rust/test", kind: .test, result: Self.exited(101), limits: ResourceLimits())
        step.outputTail = stderr
        var quiet = StepEvidence(name: "go/vet", kind: .lint, result: Self.exited(1), limits: ResourceLimits())
        quiet.outputTail = "\n\nsomething went wrong\n"
        // pytest 9 with nothing to collect: exit 5, its summary rule on standard output.
        var empty = StepEvidence(name: "python/test", kind: .test, result: Self.exited(5), limits: ResourceLimits())
        empty.outputTail = "\n============================ no tests ran in 0.01s =============================\n"
        // A Python traceback ends with the exception.
        var traceback = StepEvidence(name: "py/lint", kind: .lint, result: Self.exited(1), limits: ResourceLimits())
        traceback.outputTail = """
            Traceback (most recent call last):
              File "/workspace/tool.py", line 1, in <module>
                import yaml
            ModuleNotFoundError: No module named 'yaml'
                raise SystemExit(1)

            """
        let verdict = VerdictEngine.evaluate([step, quiet, empty, traceback])
        #expect(
            try gate(verdict, .stepFailures).reasons == [
                "rust/test: exited with status 101: error: no matching package named `compiler_builtins` found",
                "go/vet: exited with status 1: something went wrong",
                "python/test: exited with status 5: no tests ran in 0.01s",
                "py/lint: exited with status 1: ModuleNotFoundError: No module named 'yaml'",
            ])
    }

    /// A step that passed but left its report unwritten: the reason quotes the
    /// step's last error line, and only an error line (not "Doc-tests ready").
    @Test func anUnwrittenReportQuotesTheStepsLastErrorLine() throws {
        func step(_ tail: String) -> StepEvidence {
            var step = StepEvidence(
                name: "rust/test", kind: .test, result: Self.exited(0), limits: ResourceLimits(),
                reports: [
                    ReportEvidence(
                        name: "coverage.json", kind: .coverage,
                        content: .failure(ReportError(file: "coverage.json", reason: "missing")))
                ])
            step.outputTail = tail
            return step
        }
        let said = step("   Doc-tests ready\nerror: no llvm-cov to read rustc's coverage profiles\n")
        #expect(
            try gate(VerdictEngine.evaluate([said]), .lineCoverage).reasons == [
                "rust/test: coverage.json: missing; the step said: error: no llvm-cov to read rustc's coverage profiles"
            ])
        let quiet = step("   Doc-tests ready\n")
        #expect(
            try gate(VerdictEngine.evaluate([quiet]), .lineCoverage).reasons == ["rust/test: coverage.json: missing"])
    }

    /// A step the policy lets fail (continue-on-error) is a note, in its own words;
    /// a limit it hit still counts as containment.
    @Test func aStepAllowedToFailIsANote() throws {
        var install = StepEvidence(
            name: "python/install", kind: .install, result: Self.exited(1), limits: ResourceLimits())
        install.outputTail = """
            error: Multiple top-level modules discovered in a flat-layout: ['test_calc', 'calc'].
            note: This error originates from a subprocess, and is likely not a problem with pip.
            error: subprocess-exited-with-error

            """
        install.continuesOnError = true
        let verdict = VerdictEngine.evaluate([install])
        #expect(try gate(verdict, .stepFailures).actual == 0)
        #expect(
            verdict.notes == [
                "python/install: exited with status 1: error: Multiple top-level modules discovered in a flat-layout: "
                    + "['test_calc', 'calc']. (continue-on-error: not counted as a failed step)"
            ], "pip's own wrapper line is passed over for the backend's reason")
        // pip 26 ends with a wrapper of its own, after the backend's indented output.
        install.outputTail = """
                  error: Multiple top-level modules discovered in a flat-layout: ['calc', 'test_calc'].
                  [end of output]
              note: This error originates from a subprocess, and is likely not a problem with pip.
            ERROR: Failed to build 'file:///workspace' when getting requirements to build editable

            """
        #expect(
            VerdictEngine.evaluate([install]).notes == [
                "python/install: exited with status 1: error: Multiple top-level modules discovered in a flat-layout: "
                    + "['calc', 'test_calc']. (continue-on-error: not counted as a failed step)"
            ])
        var killed = install
        killed.result = StepResult(status: .memoryLimit)
        killed.result.limitsHit = [.memory]
        #expect(try gate(VerdictEngine.evaluate([killed]), .containment).actual == 1)
    }

    @Test func lintWarningsInformButErrorsBlock() throws {
        let pylint = try PylintJSONParser.parse(try Fixture.bytes("pylint.json"), file: "pylint.json")
        let ruff = try RuffJSONParser.parse(try Fixture.bytes("ruff.json"), file: "ruff.json")
        let onlyWarnings = StepEvidence(
            name: "lint", kind: .lint, result: Self.exited(16), limits: ResourceLimits(),
            reports: [ReportEvidence(name: "pylint.json", kind: .findings, content: .success(.findings(pylint)))])
        #expect(try gate(VerdictEngine.evaluate([onlyWarnings]), .lintErrors).status == .passed)
        let errors = StepEvidence(
            name: "lint", kind: .lint, result: Self.exited(1), limits: ResourceLimits(),
            reports: [ReportEvidence(name: "ruff.json", kind: .findings, content: .success(.findings(ruff)))])
        let result = try gate(VerdictEngine.evaluate([errors]), .lintErrors)
        #expect(result.status == .failed)
        #expect(
            result.reasons.first == "/tmp/fixture-projects/pyproj/lint_me.py:1: error: `os` imported but unused [F401]")
    }

    @Test func flakyTestsAreShown() throws {
        let xml = "<testsuite><testcase classname='C' name='t'><flakyFailure/></testcase></testsuite>"
        let report = try JUnitParser.parse(Array(xml.utf8), file: "j.xml")
        let verdict = VerdictEngine.evaluate([
            StepEvidence(
                name: "test", kind: .test, result: Self.exited(0), limits: ResourceLimits(),
                reports: [ReportEvidence(name: "j.xml", kind: .tests, content: .success(.tests(report)))])
        ])
        #expect(verdict.flakyTests == ["C.t"])
        #expect(verdict.mergeReady)
    }
}
