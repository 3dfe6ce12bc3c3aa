import Foundation
import SandboxPolicy
import SandboxReports
import Testing

@testable import SandboxVerify

/// A branch judged by its base's rules: the files that only configure the tools
/// are the base's in the working copy; shared files and code stay the branch's;
/// what the branch changed of any of them is named, and a change the base
/// already has is not the branch's.
@Suite struct RulesFromBaseTests {
    static let judging = JudgingFiles(
        configuration: [".coveragerc", "ruff.toml", ".flake8", "lint/*.toml"],
        sections: ["pyproject.toml": ["tool.coverage"]], code: ["**/conftest.py"])

    /// A tree of text files, each blob's id made from its bytes.
    static func tree(_ files: [String: String]) -> GitTreeContent {
        var entries: [GitTreeEntry] = []
        var blobs: [String: [UInt8]] = [:]
        for (path, text) in files.sorted(by: { $0.key < $1.key }) {
            let object = id(text)
            entries.append(GitTreeEntry(kind: .file(executable: false), object: object, path: path))
            blobs[object] = Array(text.utf8)
        }
        return GitTreeContent(entries: entries, blobs: blobs)
    }

    static func id(_ text: String) -> String {
        var hash: UInt64 = 14_695_981_039_346_656_037
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 40 - digits.count) + digits
    }

    static func text(_ content: GitTreeContent, _ path: String) -> String? {
        content.entries.first { $0.path == path }.flatMap { content.blobs[$0.object] }.map {
            String(decoding: $0, as: UTF8.self)
        }
    }

    @Test func theBasesConfigurationIsUsedAndTheBranchsChangesNamed() {
        let before: [String: String] = [
            ".coveragerc": "[run]\n", "pyproject.toml": "[tool.coverage]\n", "app.py": "1\n", ".flake8": "[flake8]\n",
        ]
        var branch = before
        branch[".coveragerc"] = "[run]\nomit = app.py\n"
        branch["ruff.toml"] = "select = []\n"
        branch["conftest.py"] = "hook\n"
        branch["app.py"] = "2\n"
        branch[".flake8"] = nil
        let rules = RulesFromBase(
            ref: Self.tree(branch), base: Self.tree(before), mergeBase: Self.tree(before), judging: Self.judging)
        #expect(Self.text(rules.content, ".coveragerc") == "[run]\n", "the base's")
        #expect(Self.text(rules.content, "ruff.toml") == nil, "the base has none")
        #expect(Self.text(rules.content, ".flake8") == "[flake8]\n", "the base's, though the branch removed it")
        #expect(Self.text(rules.content, "conftest.py") == "hook\n", "code stays the branch's")
        #expect(Self.text(rules.content, "app.py") == "2\n")
        #expect(rules.changed.map(\.path) == [".coveragerc", ".flake8", "conftest.py", "ruff.toml"])
        #expect(rules.comparisons.map(\.index) == [0], "the one configuration file in both trees")
        let words = rules.words([
            0: .init(changes: [.init(table: "run", key: "omit", old: nil, new: .scalar("app.py"))])
        ])
        #expect(
            words == [
                ".coveragerc [run] omit: set to 'app.py' (the base's was used)",
                ".flake8: removed by the branch; the base's was used",
                "conftest.py: added by the branch; it runs as code inside the tools that judge, so the base's cannot stand in for it",
                "ruff.toml: added by the branch; left out, as the base has none",
            ])
        let unread = rules.words([:], unread: "no /usr/bin/python3 on this host to read them")
        #expect(
            unread.first
                == ".coveragerc: changed by the branch (no /usr/bin/python3 on this host to read them); the base's was used"
        )
    }

    /// A shared file counts only the parts that judge; one whose keys cannot be
    /// read counts as changed.
    @Test func aSharedFileCountsOnlyWhatJudges() {
        let before = ["pyproject.toml": "a\n"]
        let branch = ["pyproject.toml": "b\n"]
        let rules = RulesFromBase(
            ref: Self.tree(branch), base: Self.tree(before), mergeBase: Self.tree(before), judging: Self.judging)
        #expect(Self.text(rules.content, "pyproject.toml") == "b\n", "the branch's")
        let compared: [Int: RuleDifferences.File] = [
            0: .init(changes: [
                .init(table: "project", key: "version", old: .scalar("1"), new: .scalar("2")),
                .init(table: "tool.coverage.report", key: "omit", old: nil, new: .list(["app.py"])),
            ])
        ]
        #expect(
            rules.words(compared) == [
                "pyproject.toml [tool.coverage.report] omit: set to ['app.py'] (the branch's file was used)"
            ])
        let unreadable = rules.words([0: .init(changes: [], error: "TOMLDecodeError: Invalid value")])
        #expect(unreadable.count == 1 && unreadable[0].contains("could not be read (TOMLDecodeError: Invalid value)"))
    }

    /// The base moved on: its newer rules are used, code files too (as a merge would
    /// take them), and nothing is the branch's. The branch took the base's change:
    /// nothing is the branch's either.
    @Test func aChangeTheBaseHasIsNotTheBranchs() {
        let mergeBase = Self.tree([".coveragerc": "old\n", "conftest.py": "old\n"])
        let base = Self.tree([".coveragerc": "new\n", "conftest.py": "new\n"])
        let untouched = RulesFromBase(ref: mergeBase, base: base, mergeBase: mergeBase, judging: Self.judging)
        #expect(untouched.changed.isEmpty)
        #expect(Self.text(untouched.content, ".coveragerc") == "new\n", "the base's newer rules")
        #expect(Self.text(untouched.content, "conftest.py") == "new\n", "the branch left it: the base's")
        let merged = RulesFromBase(ref: base, base: base, mergeBase: mergeBase, judging: Self.judging)
        #expect(merged.changed.isEmpty)
    }

    /// The base's file cannot go where the branch has a file in place of its
    /// directory: it is left out, and said.
    @Test func aBaseFileThatClashesIsLeftOutAndSaid() {
        let base = Self.tree(["lint/ruff.toml": "x\n"])
        let branch = Self.tree(["lint": "a file\n"])
        let rules = RulesFromBase(ref: branch, base: base, mergeBase: base, judging: Self.judging)
        #expect(rules.content.entries.map(\.path) == ["lint"])
        #expect(
            rules.words([:]) == [
                "lint/ruff.toml: removed by the branch; the base's could not be put in place: the branch has lint where it goes"
            ])
    }

    /// A link of the branch's where a directory of judging files would be is left
    /// out; a comparison cut short counts; a clash with the base's newer file is
    /// said though the branch never touched that file.
    @Test func linksOnTheWayCutComparisonsAndClashesAreShown() {
        var branch = Self.tree(["cfg/config.toml": "x\n", "pyproject.toml": "b\n"])
        branch.entries.append(GitTreeEntry(kind: .symbolicLink, object: Self.id("cfg"), path: "lint"))
        branch.blobs[Self.id("cfg")] = Array("cfg".utf8)
        let mergeBase = Self.tree(["pyproject.toml": "a\n"])
        let base = Self.tree(["pyproject.toml": "a\n", "lint/ruff.toml": "y\n"])
        let rules = RulesFromBase(ref: branch, base: base, mergeBase: mergeBase, judging: Self.judging)
        #expect(!rules.content.entries.contains { $0.path == "lint" }, "the link is left out")
        #expect(Self.text(rules.content, "lint/ruff.toml") == "y\n", "so the base's file goes in its place")
        let index = rules.changed.firstIndex { $0.path == "pyproject.toml" } ?? -1
        let words = rules.words([index: .init(changes: [], truncated: true)])
        #expect(
            words == [
                "pyproject.toml: more keys changed than are compared, so what judges in it may have changed; "
                    + "the branch's file was used",
                "lint: a symbolic link of the branch's where files that judge the tree are looked for; left out",
            ])
        let clashing = RulesFromBase(
            ref: Self.tree(["lint": "a file\n"]), base: base, mergeBase: Self.tree([:]), judging: Self.judging)
        #expect(clashing.words([:]).first?.contains("could not be put in place: the branch has lint") == true)
    }

    /// The comparing script itself, run by this host's Python on real files: INI
    /// read as the tools read it ([DEFAULT] given to each section and compared as
    /// its own; a key given twice refused), TOML keys kept apart by their paths.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: RuleComparison.python)))
    func theComparingScriptReadsAsTheToolsRead() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = [
            "0/old": "[flake8]\nmax-line-length = 88\n",
            "0/new": "[DEFAULT]\nextend-ignore = E,F,W\n[flake8]\nmax-line-length = 88\n",
            "1/old": "[run]\nomit = a\n", "1/new": "[run]\nomit = a\nomit = b\n",
            "2/old": "[tool.pytest.ini_options]\naddopts = \"-q\"\n",
            "2/new":
                "[tool.pytest.ini_options]\naddopts = \"-q --deselect t\"\n[\"tool.pytest.ini_options\"]\naddopts = \"-q\"\n",
        ]
        for (path, text) in files {
            let file = directory.appendingPathComponent(path)
            try FileManager.default.createDirectory(
                at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: file, atomically: true, encoding: .utf8)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: RuleComparison.python)
        let script = RuleComparison.script.replacingOccurrences(of: "/rules/", with: directory.path + "/")
        process.arguments = ["-I", "-S", "-c", script, "0", "ini", "1", "ini", "2", "toml"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let bytes = Array(out.fileHandleForReading.readDataToEndOfFile())
        process.waitUntilExit()
        let compared = try RuleDifferences.parse(bytes)
        #expect(
            compared[0]?.changes.map(\.dotted).sorted() == ["DEFAULT.extend-ignore", "flake8.extend-ignore"],
            "\(compared)")
        #expect(compared[1]?.error?.hasPrefix("DuplicateOptionError") == true, "\(compared)")
        #expect(
            compared[2]?.changes.map(RuleDifferences.words) == [
                "[tool.pytest.ini_options] addopts: '-q' became '-q --deselect t'",
                "[\"tool.pytest.ini_options\"] addopts: set to '-q'",
            ], "the quoted table is another key, and shown as one: \(compared)")
        let quoted = try #require(compared[2]?.changes.last)
        #expect(!JudgingFiles.judges(["tool.pytest"], quoted.dotted), "pytest reads no such table")
    }

    @Test func filesAreComparedByTheirKind() {
        #expect(RulesFromBase.form(of: "crates/a/Cargo.toml") == .toml)
        #expect(RulesFromBase.form(of: "package.json") == .json)
        #expect(RulesFromBase.form(of: ".eslintrc") == .json)
        #expect(RulesFromBase.form(of: "setup.cfg") == .ini)
        #expect(RulesFromBase.form(of: ".coveragerc") == .ini)
        #expect(RulesFromBase.form(of: ".github/workflows/ci.yml") == nil)
        #expect(RulesFromBase.form(of: "conftest.py") == nil)
    }
}
