import Foundation
import SandboxKernel
import SandboxModel
import SandboxPolicy
import SandboxVerdict
import Testing

@testable import SandboxVerify

/// The verifier's own logic, with `UncontainedRunner` in place of sandboxes:
/// detection, the working copy, step order, report clearing and reading,
/// evidence and gates. The steps are small shell scripts of the test's own.
@Suite struct VerifierTests {
    /// A "toy" language: detected by toy.txt; a lint step printing diagnostics,
    /// a test step writing JUnit and lcov files whose content the tree decides.
    static let toyPolicy = """
        language: toy
        detect: [toy.txt]
        image: toy
        copy-exclude: [build]
        steps:
          - name: lint
            kind: lint
            run: [/bin/sh, -c, 'cat /workspace/lint.txt 2>/dev/null; exit 0']
            reports:
              - stream: stdout
                format: diagnostics
          - name: typecheck
            kind: lint
            only-if: [typecheck.cfg]
            run: [/bin/sh, -c, 'echo "typed.toy:1:1: error: wrong type"; exit 1']
            reports:
              - stream: stdout
                format: diagnostics
          - name: test
            kind: test
            run: [/bin/sh, -c, 'cd /workspace && if [ -f write-reports.sh ]; then . ./write-reports.sh; fi']
            reports:
              - path: /workspace/out/junit.xml
                format: junit
              - path: /workspace/out/lcov.info
                format: lcov

        """

    static let passingReports = """
        mkdir -p out
        printf '<testsuite name="toy" tests="2"><testcase classname="t" name="a"/><testcase classname="t" name="b"/></testsuite>' > out/junit.xml
        printf 'SF:src/toy.c\\nDA:1,1\\nDA:2,1\\nDA:3,1\\nDA:4,1\\nDA:5,0\\nend_of_record\\n' > out/lcov.info

        """

    /// A tree of `files` (path: content), removed when the test ends.
    final class Tree {
        let url: URL
        var path: String { url.path }
        init(_ files: [String: String]) throws {
            url = FileManager.default.temporaryDirectory.appendingPathComponent("verifier-test-\(UUID())")
            for (path, text) in files {
                let file = url.appendingPathComponent(path)
                try FileManager.default.createDirectory(
                    at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
                try text.write(to: file, atomically: false, encoding: .utf8)
            }
        }
        deinit { try? FileManager.default.removeItem(at: url) }
    }

    static func verifier(
        policies extra: [(name: String, text: String)] = [], requires: [String] = ["/bin/sh"]
    ) throws -> Verifier {
        let (policies, errors) = PolicySet.load([("toy.yaml", toyPolicy)] + extra)
        #expect(errors.isEmpty, "\(errors)")
        let image = ToolchainImage(name: "toy", mounts: [], path: [], environment: [:], requires: requires)
        var verifier = Verifier(policies: policies, images: ["toy": image], runner: UncontainedRunner())
        verifier.workspaceSize = .mebibytes(64)
        return verifier
    }

    static func gate(_ outcome: VerifyOutcome, _ metric: GateDefinition.Metric) throws -> GateResult {
        try #require(outcome.verdict.gates.first { $0.definition.metric == metric })
    }

    @Test func aTreeWhoseReportsPassIsMergeReady() throws {
        let tree = try Tree(["toy.txt": "", "write-reports.sh": Self.passingReports])
        var progress: [String] = []
        let outcome = try Self.verifier().verify(tree: tree.path) { event in
            switch event {
            case .queued(let step): progress.append("queued \(step)")
            case .running(let step): progress.append("running \(step)")
            case .done(let step, let result): progress.append("done \(step) \(result.exitCode ?? -1)")
            case .skipped(let step, let why): progress.append("skipped \(step): \(why)")
            case .status(let label, let what): progress.append("\(label): \(what)")
            }
        }
        #expect(outcome.languages == ["toy"])
        #expect(outcome.verdict.mergeReady, "\(outcome.verdict.gates.map(\.summary))")
        #expect(try Self.gate(outcome, .testsRan).actual == 2)
        #expect(try Self.gate(outcome, .lineCoverage).actual == 80)
        #expect(try Self.gate(outcome, .lintErrors).actual == 0)
        #expect(
            progress == [
                "queued toy/lint", "queued toy/typecheck", "queued toy/test", "running toy/lint", "done toy/lint 0",
                "skipped toy/typecheck: none of typecheck.cfg is present", "running toy/test", "done toy/test 0",
            ])
        #expect(outcome.steps.map(\.evidence.name) == ["toy/lint", "toy/test"])
        #expect(outcome.testSuites.map(\.name) == ["toy/test"])
        #expect(outcome.steps.allSatisfy { $0.reportFiles.isEmpty }, "report files are kept only when asked")
        #expect(!FileManager.default.fileExists(atPath: tree.path + "/out"), "the user's tree is not written")
    }

    @Test func findingsAndAConfiguredStepBlock() throws {
        let tree = try Tree([
            "toy.txt": "", "write-reports.sh": Self.passingReports, "typecheck.cfg": "",
            "lint.txt": "src/toy.c:3:7: error: unused variable 'x'\n",
        ])
        let outcome = try Self.verifier().verify(tree: tree.path)
        #expect(!outcome.verdict.mergeReady)
        #expect(outcome.steps.map(\.evidence.name) == ["toy/lint", "toy/typecheck", "toy/test"])
        let lint = try Self.gate(outcome, .lintErrors)
        #expect(lint.actual == 2)
        #expect(outcome.findings.map(\.message).sorted() == ["unused variable 'x'", "wrong type"])
        // The typecheck step exited 1, explained by its own finding.
        #expect(try Self.gate(outcome, .stepFailures).actual == 0)
    }

    /// The step's report paths are cleared before it runs: a report the tree
    /// already held can never pass for this run's.
    @Test func aReportLeftInTheTreeIsNotRead() throws {
        let junit = #"<testsuite tests="1"><testcase name="forged"/></testsuite>"#
        let tree = try Tree(["toy.txt": "", "out/junit.xml": junit, "out/lcov.info": "SF:a\nDA:1,1\nend_of_record\n"])
        let outcome = try Self.verifier().verify(tree: tree.path)
        let ran = try Self.gate(outcome, .testsRan)
        #expect(ran.status == .failed)
        #expect(ran.reasons == ["toy/test: junit.xml: missing: the step did not write it"])
        #expect(try Self.gate(outcome, .lineCoverage).status == .failed)
    }

    /// A FIFO where a report should be is refused unread (a reader would wait on it).
    @Test func aFIFOInPlaceOfAReportIsRefused() throws {
        let tree = try Tree([
            "toy.txt": "", "write-reports.sh": Self.passingReports + "rm out/junit.xml && mkfifo out/junit.xml\n",
        ])
        let outcome = try Self.verifier().verify(tree: tree.path)
        #expect(try Self.gate(outcome, .testsRan).reasons == ["toy/test: junit.xml: not a regular file"])
    }

    @Test func reportFilesAreKeptForOut() throws {
        let tree = try Tree(["toy.txt": "", "write-reports.sh": Self.passingReports])
        var verifier = try Self.verifier()
        verifier.keepsReportFiles = true
        let outcome = try verifier.verify(tree: tree.path)
        let test = try #require(outcome.steps.last)
        #expect(test.reportFiles.map(\.name) == ["junit.xml", "lcov.info"])
        #expect(String(decoding: test.reportFiles[1].bytes, as: UTF8.self).hasPrefix("SF:src/toy.c\n"))
    }

    /// The copy leaves out the policy's excluded root entries and any .sandbox.
    @Test func theCopyLeavesOutExcludedEntries() throws {
        let tree = try Tree([
            "toy.txt": "", "build/cache": "stale", "src/build/kept": "", ".sandbox/planted": "",
            "write-reports.sh": Self.passingReports
                + "[ -e build ] && exit 9; [ -e .sandbox/planted ] && exit 8; [ -e src/build/kept ] || exit 7\n",
        ])
        let outcome = try Self.verifier().verify(tree: tree.path)
        #expect(outcome.steps.last?.evidence.result.exitCode == 0)
        #expect(outcome.verdict.mergeReady)
    }

    @Test func aMissingToolchainIsNamedAndItsReportsUnread() throws {
        let tree = try Tree(["toy.txt": ""])
        let outcome = try Self.verifier(requires: ["/nonexistent/toy-compiler"]).verify(tree: tree.path)
        let test = try #require(outcome.steps.last?.evidence)
        #expect(test.result.status == .setupFailed)
        #expect(
            test.result.setupFailure?.message
                == "toolchain not found: /nonexistent/toy-compiler (image toy); install it or adjust images/toy.yaml")
        #expect(
            try Self.gate(outcome, .testsRan).reasons == ["toy/test: junit.xml: not written: the step could not start"])
        #expect(!outcome.verdict.mergeReady)
    }

    @Test func theRepositoryMayTightenButNotLoosen() throws {
        let tree = try Tree([
            "toy.txt": "", "write-reports.sh": Self.passingReports,
            ".sandbox.yaml": "gates:\n  line-coverage: \">= 90\"\n  test-failures: \"<= 5\"\n",
        ])
        let outcome = try Self.verifier().verify(tree: tree.path)
        let coverage = try Self.gate(outcome, .lineCoverage)
        #expect(coverage.definition.threshold == 90)
        #expect(coverage.status == .failed, "80% is under the repository's own 90%")
        #expect(outcome.verdict.notes.contains("repository asked for test-failures <= 5, looser than <= 0: refused"))
        #expect(!outcome.verdict.notes.contains { $0.contains("line-coverage") }, "tightening is no refusal")
    }

    /// What `verify` threw, or nil.
    static func failure(_ body: () throws(VerifyError) -> VerifyOutcome) -> VerifyError? {
        do {
            _ = try body()
            return nil
        } catch {
            return error
        }
    }

    @Test func aMalformedOverrideIsAPolicyError() throws {
        let tree = try Tree(["toy.txt": "", ".sandbox.yaml": "gates: [\n"])
        let verifier = try Self.verifier()
        let error = try #require(Self.failure { () throws(VerifyError) in try verifier.verify(tree: tree.path) })
        guard case .policy(let errors) = error else {
            Issue.record("not a policy error: \(error)")
            return
        }
        #expect(errors.first?.description.hasPrefix(".sandbox.yaml:") == true, "\(errors)")
    }

    @Test func expectedLanguagesRunWhateverTheTreeHolds() throws {
        let tree = try Tree(["write-reports.sh": Self.passingReports])
        let verifier = try Self.verifier()
        let outcome = try verifier.verify(tree: tree.path, languages: ["toy"])
        #expect(outcome.languages == ["toy"])
        #expect(outcome.verdict.mergeReady)
        let error = Self.failure { () throws(VerifyError) in try verifier.verify(tree: tree.path, languages: ["cobol"])
        }
        #expect(error?.description == "no policy for language 'cobol'; there are: toy")
    }

    @Test func usageErrorsSayWhatIsWrong() throws {
        let tree = try Tree(["README.md": ""])
        let verifier = try Self.verifier()
        let none = Self.failure { () throws(VerifyError) in try verifier.verify(tree: tree.path) }
        #expect(
            none?.description
                == "no language detected in \(tree.path): none of the policies' marker files (toy.txt) is at its root")
        let file = Self.failure { () throws(VerifyError) in try verifier.verify(tree: tree.path + "/README.md") }
        #expect(file?.description == "\(tree.path)/README.md is not a directory")
    }

    /// Two languages in one tree: each runs, and each gate is the stricter of theirs.
    @Test func severalLanguagesRunAndTheStricterGateHolds() throws {
        let strict = """
            language: strict
            detect: [strict.txt]
            image: toy
            steps:
              - name: check
                kind: lint
                run: [/bin/true]
            gates:
              line-coverage: ">= 95"

            """
        let tree = try Tree(["toy.txt": "", "strict.txt": "", "write-reports.sh": Self.passingReports])
        let outcome = try Self.verifier(policies: [("strict.yaml", strict)]).verify(tree: tree.path)
        #expect(Set(outcome.languages) == ["toy", "strict"])
        #expect(try Self.gate(outcome, .lineCoverage).definition.threshold == 95)
        #expect(!outcome.verdict.mergeReady)
    }

    /// As root, the working copy is a tmpfs that must vanish with the process; a
    /// mount namespace that cannot be made private stops verification before
    /// anything is copied or run, instead of mounting in the host's namespace.
    @Test func aMountNamespaceThatCannotBeMadePrivateStopsVerification() throws {
        let tree = try Tree(["toy.txt": "", "write-reports.sh": Self.passingReports])
        let runs = RecordingRunner()
        let (policies, _) = PolicySet.load([("toy.yaml", Self.toyPolicy)])
        let verifier = Verifier(
            policies: policies, images: ["toy": ToolchainImage(name: "toy", requires: ["/bin/sh"])], runner: runs,
            isolateMounts: { throw SystemError("unshare(CLONE_NEWNS)", errno: EINVAL) })
        let error = Self.failure { () throws(VerifyError) in try verifier.verify(tree: tree.path) }
        guard case .sandbox(let message) = error else {
            Issue.record("not a sandbox error: \(String(describing: error))")
            return
        }
        #expect(message.contains("unshare(CLONE_NEWNS): Invalid argument"), "\(message)")
        #expect(runs.configurations.isEmpty, "no sandbox started, not even the copy")
    }
}

/// Records what it was asked to run, and runs nothing.
final class RecordingRunner: SandboxRunner, @unchecked Sendable {
    private(set) var configurations: [RunConfiguration] = []
    var enforcementNote: String? { nil }

    func capture(_ configuration: RunConfiguration, stdoutCap: Int, stderrCap: Int) -> CapturedRun {
        configurations.append(configuration)
        return .setupFailed(stage: .supervisor("test"), errno: nil, message: "the recording runner runs nothing")
    }
}
