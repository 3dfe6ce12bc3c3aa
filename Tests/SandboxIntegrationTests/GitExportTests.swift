import Foundation
import Testing

/// `sandbox verify REPO --ref REF --base BASE` on real git repositories made here:
/// the tree of REF is read from git's objects, never checked out, so that what a
/// checkout would run (hooks, filters, export-subst, submodules, fsmonitor) never
/// runs, names git refuses are refused, and links stay inside the tree.
@Suite(.serialized, .needsSandboxes) struct GitExportTests {
    static let available = Harness.binaryAvailable
    static let example = Harness.packageRoot.appendingPathComponent("examples/python/ready")

    /// A repository whose main holds the python/ready example.
    struct Repository {
        let directory: URL

        init() throws {
            directory = Harness.temporaryDirectory().appendingPathComponent("repo")
            try FileManager.default.copyItem(at: GitExportTests.example, to: directory)
            try git("init", "-q", "-b", "main")
            try commit("the example")
        }

        @discardableResult
        func git(_ arguments: String..., input: String? = nil) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/git")
            process.arguments = ["-c", "user.email=test@example.com", "-c", "user.name=test"] + arguments
            process.currentDirectoryURL = directory
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            let stdin = Pipe()
            process.standardInput = stdin
            try process.run()
            if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
            try stdin.fileHandleForWriting.close()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw CocoaError(.fileReadUnknown) }
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }

        func write(_ files: [String: String]) throws {
            for (path, text) in files {
                let file = directory.appendingPathComponent(path)
                try FileManager.default.createDirectory(
                    at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
                try text.write(to: file, atomically: true, encoding: .utf8)
            }
        }

        func commit(_ message: String) throws {
            try git("add", "-A")
            try git("commit", "-q", "--allow-empty", "-m", message)
        }

        func remove() { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
    }

    static func verify(_ repository: Repository, _ options: [String]) throws -> (
        status: Int32, verdict: [String: Any], stderr: String
    ) {
        let outcome = try Harness.cli(["verify", "--format", "json"] + options + [repository.directory.path])
        let verdict = (try? JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8))) as? [String: Any] ?? [:]
        return (outcome.status, verdict, outcome.stderr)
    }

    static func gate(_ verdict: [String: Any], _ metric: String) -> [String: Any] {
        ((verdict["gates"] as? [[String: Any]]) ?? []).first { $0["metric"] as? String == metric } ?? [:]
    }

    /// The branch is judged, not the working tree (which stays at main, untouched),
    /// and the verdict names REF, BASE and the merge base by commit and tree.
    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func theBranchIsJudgedFromGitsObjects() throws {
        let repository = try Repository()
        defer { repository.remove() }
        let base = try repository.git("rev-parse", "main")
        try repository.git("checkout", "-q", "-b", "feature")
        try repository.write(["test_broken.py": "def test_broken():\n    assert 1 == 2\n"])
        try repository.commit("a failing test")
        let feature = try repository.git("rev-parse", "feature")
        try repository.git("checkout", "-q", "main")
        let status = try repository.git("status", "--porcelain")
        let (code, verdict, stderr) = try Self.verify(repository, ["--ref", "feature", "--base", "main"])
        #expect(code == 1, "\(stderr)")
        #expect(Self.gate(verdict, "test-failures")["actual"] as? Int == 1, "the branch's failing test ran")
        let revisions = (verdict["revisions"] as? [[String: String]]) ?? []
        #expect(revisions.map { $0["role"] ?? "" } == ["ref", "base", "merge-base"])
        #expect(revisions.map { $0["commit"] ?? "" } == [feature, base, base])
        #expect(revisions.first?["tree"] == (try repository.git("rev-parse", "feature^{tree}")))
        #expect(try repository.git("status", "--porcelain") == status, "the working tree is as it was")
        #expect(try repository.git("rev-parse", "--abbrev-ref", "HEAD") == "main")
    }

    /// Patch coverage against the base: the changed lines the tests run, the
    /// others named as ranges (diff-cover 11.0.1 gives 25% and "Missing lines
    /// 17-19" on the same commits); without a base there is no patch gate.
    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func patchCoverageJudgesTheChangedLines() throws {
        let repository = try Repository()
        defer { repository.remove() }
        // A base tree of this test's own, which no earlier run kept a verdict of.
        try repository.write(["notes.txt": UUID().uuidString + "\n"])
        try repository.commit("a base of its own")
        try repository.git("checkout", "-q", "-b", "feature")
        let calc = repository.directory.appendingPathComponent("calc.py")
        let untested = "\n\ndef untested(x: int) -> int:\n    if x:\n        return 1\n    return 2\n"
        try (try String(contentsOf: calc, encoding: .utf8) + untested).write(
            to: calc, atomically: true, encoding: .utf8)
        try repository.commit("an untested function")
        let (code, verdict, stderr) = try Self.verify(repository, ["--ref", "feature", "--base", "main"])
        #expect(code == 1, "\(stderr)")
        let patch = Self.gate(verdict, "patch-coverage")
        #expect(patch["actual"] as? Int == 25, "\(patch)")
        #expect(patch["reasons"] as? [String] == ["calc.py:17-19"], "\(patch)")
        // The ratchet: the base, verified as any tree is, measured 100%; its figure is
        // kept, and the next branch against the same base reuses it.
        let tree = String(try repository.git("rev-parse", "main^{tree}").prefix(12))
        let drop = Self.gate(verdict, "coverage-drop")
        #expect(drop["status"] as? String == "failed", "\(drop)")
        let said = (drop["reasons"] as? [String])?.first ?? ""
        #expect(
            said.hasPrefix("line coverage ") && said.hasSuffix("against the base's 100% (verified now, tree \(tree))"))
        #expect(stderr.contains("[base:python/test] done"), "the base's steps are shown as such")
        let again = try Self.verify(repository, ["--ref", "feature", "--base", "main"])
        let kept = (Self.gate(again.verdict, "coverage-drop")["reasons"] as? [String])?.first ?? ""
        #expect(kept.hasSuffix("(kept from a verification of tree \(tree))"), "\(kept)")
        #expect(!again.stderr.contains("[base:"), "nothing of the base ran again")
        let alone = try Self.verify(repository, ["--ref", "feature"])
        #expect(Self.gate(alone.verdict, "patch-coverage").isEmpty, "no base, no patch")
        #expect(Self.gate(alone.verdict, "coverage-drop").isEmpty, "no base, no ratchet")
    }

    /// A branch that changes only the rules that judge it, to hide the base's
    /// failures (a failing test deselected in pytest's addopts, the uncovered file
    /// omitted in .coveragerc, a conftest.py): NOT READY, each change named. The
    /// base's .coveragerc is the one coverage reads; pyproject.toml stays the branch's.
    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func aBranchThatChangesOnlyItsRulesIsNotReady() throws {
        let repository = try Repository()
        defer { repository.remove() }
        let calc = repository.directory.appendingPathComponent("calc.py")
        let untested = "\n\ndef untested(x: int) -> int:\n    if x:\n        return 1\n    return 2\n"
        try (try String(contentsOf: calc, encoding: .utf8) + untested).write(
            to: calc, atomically: true, encoding: .utf8)
        try repository.write([
            "test_broken.py": "import calc\n\n\ndef test_broken():\n    assert calc.add(2, 2) == 5\n",
            ".coveragerc": "[run]\nbranch = false\n",
        ])
        try repository.commit("a failing test and an untested function")
        let failing = try Self.verify(repository, ["--ref", "main"])
        #expect(Self.gate(failing.verdict, "test-failures")["actual"] as? Int == 1, "\(failing.stderr)")
        try repository.git("checkout", "-q", "-b", "feature")
        let pyproject = repository.directory.appendingPathComponent("pyproject.toml")
        let hidden = try String(contentsOf: pyproject, encoding: .utf8).replacingOccurrences(
            of: "testpaths = [\".\"]", with: "testpaths = [\".\"]\naddopts = \"--deselect test_broken.py::test_broken\""
        )
        try hidden.write(to: pyproject, atomically: true, encoding: .utf8)
        try repository.write([
            ".coveragerc": "[run]\nbranch = false\nomit = calc.py\n", "conftest.py": "# runs inside pytest\n",
        ])
        try repository.commit("only the rules")
        let (code, verdict, stderr) = try Self.verify(repository, ["--ref", "feature", "--base", "main"])
        #expect(code == 1, "\(stderr)")
        #expect(verdict["mergeReady"] as? Bool == false)
        let judging = Self.gate(verdict, "judging-changes")
        #expect(judging["status"] as? String == "failed" && judging["actual"] as? Int == 3, "\(judging)")
        #expect(
            judging["reasons"] as? [String] == [
                ".coveragerc [run] omit: set to 'calc.py' (the base's was used)",
                "conftest.py: added by the branch; it runs as code inside the tools that judge, "
                    + "so the base's cannot stand in for it",
                "pyproject.toml [tool.pytest.ini_options] addopts: set to '--deselect test_broken.py::test_broken' "
                    + "(the branch's file was used)",
            ], "\(judging)")
        let coverage = Self.gate(verdict, "line-coverage")
        #expect(coverage["status"] as? String == "failed", "the base's .coveragerc counts calc.py: \(coverage)")
    }

    /// What a checkout would run or rewrite: hooks, a filter driver and fsmonitor
    /// named by the repository's config, export-subst, a submodule whose URL is an
    /// option. None runs; files are exported as committed; the submodule is an empty
    /// directory; a link that leads out of the tree is left out, one inside is kept.
    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func nothingOfTheRepositoryRuns() throws {
        let repository = try Repository()
        defer { repository.remove() }
        let marker = Harness.temporaryDirectory().appendingPathComponent("ran")
        defer { try? FileManager.default.removeItem(at: marker.deletingLastPathComponent()) }
        let touch = "touch \(marker.path)"
        for hook in ["post-checkout", "pre-commit", "post-merge", "reference-transaction", "pre-auto-gc"] {
            let path = repository.directory.appendingPathComponent(".git/hooks/" + hook)
            try "#!/bin/sh\n\(touch)\n".write(to: path, atomically: true, encoding: .utf8)
            chmod(path.path, 0o755)
        }
        try repository.git("config", "filter.evil.smudge", touch)
        try repository.git("config", "filter.evil.clean", "cat")
        try repository.git("config", "core.fsmonitor", touch)
        try repository.write([
            ".gitattributes": "smudged.txt filter=evil\nsubst.txt export-subst\n",
            "smudged.txt": "as committed\n",
            "subst.txt": "$Format:%H$\n",
            ".gitmodules": "[submodule \"sub\"]\n\tpath = sub\n\turl = --upload-pack=\(touch)\n",
            "test_export.py": """
            import os


            def test_exported_as_committed():
                assert open("smudged.txt").read() == "as committed\\n"
                assert open("subst.txt").read() == "$Format:%H$\\n"
                assert os.path.isdir("sub") and not os.listdir("sub")
                assert not os.path.lexists("escape")
                assert os.path.islink("inside") and open("inside").read().startswith('\"\"\"')

            """,
        ])
        try FileManager.default.createSymbolicLink(
            atPath: repository.directory.appendingPathComponent("escape").path,
            withDestinationPath: "../../etc/hostname")
        try FileManager.default.createSymbolicLink(
            atPath: repository.directory.appendingPathComponent("inside").path, withDestinationPath: "calc.py")
        try repository.git("add", "-A")
        let head = try repository.git("rev-parse", "HEAD")
        try repository.git("update-index", "--add", "--cacheinfo", "160000,\(head),sub")
        try repository.git("commit", "-q", "--no-verify", "-m", "hostile")
        try? FileManager.default.removeItem(at: marker)
        let (code, verdict, stderr) = try Self.verify(repository, ["--ref", "HEAD"])
        #expect(!FileManager.default.fileExists(atPath: marker.path), "a hook, filter or fsmonitor ran")
        #expect(Self.gate(verdict, "tests-ran")["actual"] as? Int == 3, "\(stderr)")
        #expect(Self.gate(verdict, "test-failures")["actual"] as? Int == 0, "\(verdict)")
        let notes = (verdict["notes"] as? [String]) ?? []
        #expect(notes.contains { $0.contains("symbolic link leading out of the tree (escape)") }, "\(notes)")
        #expect(code == 0 || code == 1, "\(stderr)")
    }

    /// A tree git itself would refuse to check out, made with git's plumbing:
    /// a name a case-insensitive filesystem takes for .git, and a `..`.
    @Test(.enabled(if: available, "needs the built sandbox executable"), arguments: [".GIT", ".."])
    func namesGitRefusesStopTheExport(name: String) throws {
        let repository = try Repository()
        defer { repository.remove() }
        let blob = try repository.git("hash-object", "-w", "--stdin", input: "[core]\n\tfsmonitor = true\n")
        let tree = try repository.git("mktree", input: "100644 blob \(blob)\tconfig\n")
        let top = try Self.literalTree(repository, entries: [("40000", name, tree)])
        let commit = try repository.git("commit-tree", top, "-m", "hostile names")
        let (code, _, stderr) = try Self.verify(repository, ["--ref", commit])
        #expect(code == 2, "\(stderr)")
        #expect(stderr.contains(name) && stderr.contains("cannot be exported"), "\(stderr)")
    }

    /// A tree object written byte by byte, as `git mktree` would refuse to.
    static func literalTree(_ repository: Repository, entries: [(mode: String, name: String, object: String)]) throws
        -> String
    {
        var bytes: [UInt8] = []
        for entry in entries {
            bytes += Array("\(entry.mode) \(entry.name)".utf8) + [0]
            var index = entry.object.startIndex
            while index < entry.object.endIndex {
                let next = entry.object.index(index, offsetBy: 2)
                bytes.append(UInt8(entry.object[index..<next], radix: 16)!)
                index = next
            }
        }
        let file = repository.directory.deletingLastPathComponent().appendingPathComponent("tree.bin")
        try Data(bytes).write(to: file)
        return try repository.git("hash-object", "-w", "-t", "tree", "--literally", file.path)
    }

    /// Refs that name nothing, or no commit, or histories that never meet: exit 2,
    /// one line naming the ref, before anything runs.
    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func badRefsExitTwoNamingTheRef() throws {
        let repository = try Repository()
        defer { repository.remove() }
        try repository.git("tag", "tree-tag", "main^{tree}")
        // A tag that shadows a branch of the same name: the trusted side is not guessed.
        try repository.git("branch", "shadowed", "main")
        try repository.git("tag", "shadowed", "main")
        try repository.git("checkout", "-q", "--orphan", "unrelated")
        try repository.commit("no common history")
        let cases: [([String], String)] = [
            (["--ref", "no-such-branch"], "--ref no-such-branch: no such commit"),
            (["--ref", "main^{tree}"], "names no commit"),
            (["--ref", "tree-tag"], "--ref tree-tag: names no commit"),
            (["--ref", "main", "--base", "gone"], "--base gone: no such commit"),
            (["--ref", "main", "--base", "unrelated"], "have no merge base"),
            (["--ref=--upload-pack=x"], "--ref --upload-pack=x: no such commit"),
            (["--ref", "main", "--base", "shadowed"], "--base shadowed: names more than one ref"),
        ]
        for (options, said) in cases {
            let (code, _, stderr) = try Self.verify(repository, options)
            #expect(code == 2, "\(options): \(stderr)")
            #expect(stderr.contains(said), "\(options): \(stderr)")
            #expect(!stderr.contains("[python/"), "nothing ran: \(stderr)")
        }
        let plain = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: plain) }
        let outcome = try Harness.cli(["verify", "--ref", "main", plain.path])
        #expect(outcome.status == 2 && outcome.stderr.contains("not a git repository"), "\(outcome.stderr)")
    }

    /// An export a killed run left (its lock held by nobody) is removed by the next
    /// export, without following the links in it.
    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func anAbandonedExportIsRemovedByTheNextRun() throws {
        let repository = try Repository()
        defer { repository.remove() }
        let victim = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: victim) }
        try "keep\n".write(to: victim.appendingPathComponent("kept"), atomically: true, encoding: .utf8)
        let abandoned = URL(fileURLWithPath: "/tmp/sandbox-export-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(
            at: abandoned.appendingPathComponent("tree/sub"), withIntermediateDirectories: true)
        chmod(abandoned.path, 0o700)
        _ = FileManager.default.createFile(atPath: abandoned.appendingPathComponent("lock").path, contents: nil)
        try "x".write(to: abandoned.appendingPathComponent("tree/sub/file"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(
            atPath: abandoned.appendingPathComponent("tree/link").path, withDestinationPath: victim.path)
        _ = try Self.verify(repository, ["--ref", "main"])
        #expect(!FileManager.default.fileExists(atPath: abandoned.path), "the abandoned export is removed")
        #expect(FileManager.default.fileExists(atPath: victim.appendingPathComponent("kept").path))
    }

    /// A shallow clone that lacks the merge base says so, and how to fetch it.
    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func aShallowCloneWithoutTheMergeBaseSaysSo() throws {
        let repository = try Repository()
        defer { repository.remove() }
        try repository.git("checkout", "-q", "-b", "feature")
        try repository.write(["feature.txt": "1\n"])
        try repository.commit("feature 1")
        try repository.write(["feature.txt": "2\n"])
        try repository.commit("feature 2")
        try repository.git("checkout", "-q", "main")
        try repository.write(["main.txt": "1\n"])
        try repository.commit("main 1")
        try repository.write(["main.txt": "2\n"])
        try repository.commit("main 2")
        let shallow = repository.directory.deletingLastPathComponent().appendingPathComponent("shallow")
        try repository.git(
            "clone", "-q", "--depth", "1", "--no-single-branch", "file://" + repository.directory.path, shallow.path)
        let clone = Repository(existing: shallow)
        let (code, _, stderr) = try Self.verify(clone, ["--ref", "origin/feature", "--base", "origin/main"])
        #expect(code == 2, "\(stderr)")
        #expect(stderr.contains("no merge base in this shallow clone"), "\(stderr)")
    }
}

extension GitExportTests.Repository {
    init(existing directory: URL) { self.directory = directory }
}
