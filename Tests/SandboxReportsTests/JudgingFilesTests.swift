import SandboxModel
import Testing

@testable import SandboxPolicy
@testable import SandboxReports
@testable import SandboxVerdict

/// What judges a tree, as a trusted policy names it (`judged-by`), and what the
/// comparing script's report of a branch's changes to it says in words.
@Suite struct JudgingFilesTests {
    static let judging = JudgingFiles(
        configuration: [".coveragerc", ".github/workflows/*.yml"],
        sections: ["pyproject.toml": ["tool.coverage", "tool.pytest"], "**/Cargo.toml": ["lints"]],
        code: ["**/conftest.py"])

    @Test func patternsNameFilesByComponent() {
        #expect(Self.judging.role(of: ".coveragerc") == .configuration)
        #expect(Self.judging.role(of: "sub/.coveragerc") == nil, "a name alone is the root's file")
        #expect(Self.judging.role(of: ".github/workflows/ci.yml") == .configuration)
        #expect(Self.judging.role(of: ".github/workflows/old/ci.yml") == nil, "* stays within a name")
        #expect(Self.judging.role(of: "conftest.py") == .code, "** is zero directories too")
        #expect(Self.judging.role(of: "tests/unit/conftest.py") == .code)
        #expect(Self.judging.role(of: "tests/conftest.pyc") == nil)
        #expect(Self.judging.role(of: "pyproject.toml") == .sections(["tool.coverage", "tool.pytest"]))
        #expect(Self.judging.role(of: "crates/a/Cargo.toml") == .sections(["lints"]))
        #expect(Self.judging.role(of: "src/app.py") == nil)
    }

    @Test func partsJudgeTheirKeysAndTablesBeneath() {
        #expect(JudgingFiles.judges(["tool.coverage"], "tool.coverage.report.exclude_also"))
        #expect(!JudgingFiles.judges(["tool.coverage"], "tool.coveragex.report"), "a prefix ends at a dot")
        #expect(!JudgingFiles.judges(["tool.coverage"], "project.dependencies"))
        #expect(JudgingFiles.judges(["coverage:*"], "coverage:report.omit"))
        #expect(JudgingFiles.judges(["testenv*.commands"], "testenv:py312.commands"))
        #expect(!JudgingFiles.judges(["testenv*.commands"], "testenv:py312.deps"))
    }

    @Test func theDefaultsAndALanguageMerge() throws {
        let defaults = try PolicyParser.defaults(
            "judged-by:\n  configuration: [.sandbox.yaml, .travis.yml]\n", file: "defaults.yaml")
        let merged = defaults.judging.merged(with: Self.judging)
        #expect(merged.configuration == [".sandbox.yaml", ".travis.yml", ".coveragerc", ".github/workflows/*.yml"])
        #expect(merged.code == ["**/conftest.py"])
        #expect(merged.sections["pyproject.toml"] == ["tool.coverage", "tool.pytest"])
    }

    @Test func theShippedPoliciesNameTheirToolsFiles() throws {
        let (set, errors) = PolicySet.load(try PolicyTests.shipped())
        #expect(errors.isEmpty, "\(errors)")
        let python = set.judging(rootEntries: ["pyproject.toml"])
        #expect(python.role(of: ".sandbox.yaml") == .configuration, "the defaults' files")
        #expect(python.role(of: ".github/workflows/test.yml") == .configuration)
        #expect(python.role(of: "ruff.toml") == .configuration)
        #expect(python.role(of: "tests/conftest.py") == .code)
        #expect(python.role(of: "package.json") == nil, "node's files judge node trees")
        #expect(set.judging(rootEntries: [], languages: ["node"]).role(of: "jest.config.js") == .code)
    }

    @Test(arguments: [
        ("configuration: [/etc/passwd]", "x.yaml:7:19: '/etc/passwd' is not a path in the tree"),
        ("code: [a/../b]", "x.yaml:7:10: 'a/../b' is not a path"),
        ("code: [\"tests/**\"]", "x.yaml:7:10: 'tests/**' is not a path"),
        ("sections:\n    pyproject.toml: []", "x.yaml:8:21: the sections of pyproject.toml are a list of names"),
        ("sections:\n    ../pyproject.toml: [tool.ruff]", "x.yaml:8:24: '../pyproject.toml' is not a path"),
        ("files: [a]", "x.yaml:7:3: unknown key 'files' in judged-by"),
    ])
    func aBadJudgedByIsAnErrorAtItsLine(text: String, says: String) throws {
        let policy = """
            language: x
            detect: [x]
            image: x
            steps:
              - {name: s, kind: test, run: [x]}
            judged-by:
              \(text)
            """
        #expect {
            _ = try PolicyParser.language(policy, file: "x.yaml")
        } throws: { error in
            "\(error)".hasPrefix(says)
        }
    }

    @Test func theComparisonsReportReadsAsWords() throws {
        let files = try RuleDifferences.parse(try Fixture.bytes("rule-differences.json"))
        let toml = try #require(files[0])
        #expect(
            toml.changes.map(RuleDifferences.words) == [
                "[tool.coverage.report] exclude_also: 2 added: 'def hidden', 'raise NotImplementedError'",
                "[tool.coverage.report] fail_under: set to '10'",
                "[tool.pytest.ini_options] addopts: '-q' became '-q --deselect t.py::t'",
            ])
        #expect(toml.changes.map(\.dotted).first == "tool.coverage.report.exclude_also")
        let ini = try #require(files[1])
        #expect(
            ini.changes.map(RuleDifferences.words) == [
                "[report] exclude_lines: 1 added: 'def'", "[report] omit: set to 'calc.py'",
            ])
    }

    @Test func wordsFromTheTreeAreBoundedAndPlain() {
        let change = RuleDifferences.Change(
            table: "", key: "k\u{1b}[31m", old: .list(["a", "a", "b"]),
            new: .list(["a", String(repeating: "x", count: 500), "c", "d", "e"]))
        let words = RuleDifferences.words(change)
        #expect(!words.unicodeScalars.contains { $0.value < 0x20 }, "no escape reaches a terminal")
        #expect(words.hasPrefix("k [31m: 4 added: 'xxx"))
        #expect(words.contains("…', 'c', 'd', …; 2 removed: 'a', 'b'"), "\(words)")
        #expect(words.count < 300)
        let reordered = RuleDifferences.Change(table: "t", key: "k", old: .list(["a", "b"]), new: .list(["b", "a"]))
        #expect(RuleDifferences.words(reordered) == "[t] k: reordered")
        #expect(
            RuleDifferences.words(.init(table: "t", key: "k", old: .scalar("1"), new: nil))
                == "[t] k: removed (was '1')")
    }

    @Test(arguments: [
        #"{"files": [{"index": 0, "changes": [{"table": "", "key": "k", "old": {"scalar": "a", "list": []}}]}]}"#,
        #"{"files": [{"index": 0, "changes": [{"table": "", "key": "k", "old": {}}]}]}"#,
        #"{"files": 3}"#,
        "not json",
    ])
    func aReportThatIsNotTheScriptsIsRefused(text: String) {
        #expect(throws: ReportError.self) { _ = try RuleDifferences.parse(Array(text.utf8)) }
    }

    /// Measured against a base only, blocking by default, each change a reason.
    @Test func theJudgingChangesGate() throws {
        let step = StepEvidence(
            name: "t", kind: .test, result: StepResult(status: .exited, exitCode: 0), limits: ResourceLimits())
        #expect(VerdictEngine.evaluate([step]).gates.allSatisfy { $0.definition.metric != .judgingChanges })
        let none = try #require(
            VerdictEngine.evaluate([step], changes: [:], judgingChanges: []).gates.first {
                $0.definition.metric == .judgingChanges
            })
        #expect(none.status == .passed)
        let verdict = VerdictEngine.evaluate([step], changes: [:], judgingChanges: ["conftest.py: added by the branch"])
        let changed = try #require(verdict.gates.first { $0.definition.metric == .judgingChanges })
        #expect(changed.status == .failed && changed.actual == 1 && changed.definition.blocking)
        #expect(changed.reasons == ["conftest.py: added by the branch"])
    }
}
