import Foundation
import SandboxModel
import Testing

/// `sandbox verify` end to end on the examples, with real pytest, coverage.py and
/// ruff installed from PyPI by the policy's own install step.
@Suite(.serialized, .needsSandboxes) struct VerifyTests {
    static let examples = Harness.packageRoot.appendingPathComponent("examples")
    static let available = Harness.binaryAvailable

    /// Every file's path, size, mode and content digest: the tree, byte for byte.
    static func fingerprint(_ root: URL) throws -> [String: String] {
        var prints: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(atPath: root.path)
        while let relative = enumerator?.nextObject() as? String {
            let path = root.appendingPathComponent(relative).path
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            var digest = "\(info.st_size) \(info.st_mode) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
            if info.st_mode & S_IFMT == S_IFREG {
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                digest +=
                    " \(data.reduce(into: UInt64(14_695_981_039_346_656_037)) { $0 = ($0 ^ UInt64($1)) &* 1_099_511_628_211 })"
            }
            prints[relative] = digest
        }
        return prints
    }

    static func verify(_ example: String, format: String = "json", options: [String] = []) throws -> (
        status: Int32, verdict: [String: Any], stderr: String
    ) {
        let tree = examples.appendingPathComponent(example)
        let before = try fingerprint(tree)
        let outcome = try Harness.cli(["verify", "--format", format] + options + [tree.path])
        #expect(try fingerprint(tree) == before, "the user's tree is byte-identical afterwards")
        let object = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any] ?? [:]
        return (outcome.status, object, outcome.stderr)
    }

    /// `sandbox verify` on a copy of an example with `files` written into it (paths
    /// relative to the tree, folders made) and then `change` applied to the copy.
    static func verifyChanged(
        _ example: String, adding files: [String: String] = [:], options: [String] = [],
        change: (URL) throws -> Void = { _ in }
    ) throws -> (status: Int32, verdict: [String: Any], stderr: String) {
        let copy = Harness.temporaryDirectory().appendingPathComponent("tree")
        defer { try? FileManager.default.removeItem(at: copy.deletingLastPathComponent()) }
        try FileManager.default.copyItem(at: examples.appendingPathComponent(example), to: copy)
        for (path, text) in files {
            let file = copy.appendingPathComponent(path)
            try FileManager.default.createDirectory(
                at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: file, atomically: true, encoding: .utf8)
        }
        try change(copy)
        let outcome = try Harness.cli(["verify", "--format", "json"] + options + [copy.path])
        let verdict = (try? JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8))) as? [String: Any] ?? [:]
        return (outcome.status, verdict, outcome.stderr)
    }

    static func gate(_ verdict: [String: Any], _ metric: String) -> [String: Any] {
        ((verdict["gates"] as? [[String: Any]]) ?? []).first { $0["metric"] as? String == metric } ?? [:]
    }

    /// Pinned requirements that cannot be installed fail the verification, in
    /// pip's words: only the project's own editable install may fail.
    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func requirementsThatCannotInstallAreNotReady() throws {
        let (status, verdict, stderr) = try Self.verifyChanged(
            "python/ready", adding: ["requirements.txt": "sandbox-no-such-package-on-pypi==1.0\n"])
        #expect(status == 1, "\(stderr)")
        let failures = (Self.gate(verdict, "step-failures")["reasons"] as? [String]) ?? []
        #expect(failures.first?.hasPrefix("python/requirements: exited with status 1: ERROR: ") == true, "\(failures)")
    }

    /// A project versioned from git (hatch-vcs, setuptools-scm) installs from a copy
    /// that has no .git: the install step gives it a version.
    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func aProjectVersionedFromGitInstallsWithoutGit() throws {
        let versioned = """
            [build-system]
            requires = ["hatchling", "hatch-vcs"]
            build-backend = "hatchling.build"

            [project]
            name = "calc"
            dynamic = ["version"]

            [tool.hatch.version]
            source = "vcs"

            [tool.hatch.build.targets.wheel]
            include = ["calc.py"]

            """
        let (status, _, stderr) = try Self.verifyChanged("python/ready", adding: ["pyproject.toml": versioned])
        #expect(status == 0, "\(stderr)")
        #expect(stderr.contains("[python/install] done: exited 0"), "\(stderr)")
    }

    /// A project setuptools cannot install (a flat layout with several modules, as
    /// many small projects have) is still tested from the tree; pip's reason is a
    /// note with the verdict, not lost in a log.
    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func anInstallThatFailsIsANote() throws {
        let flat = "[project]\nname = \"calc\"\nversion = \"0.1.0\"\n"
        let (status, verdict, stderr) = try Self.verifyChanged("python/ready", adding: ["pyproject.toml": flat])
        #expect(status == 0, "\(stderr)")
        #expect(stderr.contains("[python/install] done: exited 1"))
        let notes = (verdict["notes"] as? [String]) ?? []
        #expect(
            notes.contains {
                $0.hasPrefix(
                    "python/install: exited with status 1: error: Multiple top-level modules discovered in a flat-layout"
                )
                    && $0.hasSuffix("(continue-on-error: not counted as a failed step)")
            }, "\(notes)")
        #expect(Self.gate(verdict, "step-failures")["actual"] as? Int == 0)
    }

    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func readyPythonProjectIsMergeReady() throws {
        let (status, verdict, stderr) = try Self.verify("python/ready")
        #expect(status == 0, "\(stderr)")
        #expect(verdict["mergeReady"] as? Bool == true)
        #expect(Self.gate(verdict, "tests-ran")["actual"] as? Int == 2)
        #expect(Self.gate(verdict, "line-coverage")["actual"] as? Int == 100)
        #expect(Self.gate(verdict, "lint-errors")["actual"] as? Int == 0)
        #expect(stderr.contains("[python/install] done: exited 0"))
        #expect(stderr.contains("[python/typecheck] skipped"), "no mypy configuration, no mypy")
        // Every step ran on the built python image, named with its digest.
        let steps = try #require(verdict["steps"] as? [[String: Any]])
        let images = Set(steps.compactMap { $0["image"] as? String })
        #expect(images.count == 1, "\(images)")
        #expect(images.first.map { $0.hasPrefix("python sha256:") && $0.count == 78 } == true, "\(images)")
    }

    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func notReadyPythonProjectSaysWhy() throws {
        let (status, verdict, stderr) = try Self.verify("python/not-ready")
        #expect(status == 1, "\(stderr)")
        #expect(verdict["mergeReady"] as? Bool == false)
        let failures = Self.gate(verdict, "test-failures")
        #expect(failures["actual"] as? Int == 1)
        #expect((failures["reasons"] as? [String]) == ["test_shaky.test_divide_wrong failed: assert 0.5 == 1"])
        // coverage.py counts 5 of shaky.py's 14 statements; the tests themselves are not counted.
        let coverage = try #require(Self.gate(verdict, "line-coverage")["actual"] as? Double)
        #expect(abs(coverage - 35.71) < 0.01)
        #expect(
            (Self.gate(verdict, "lint-errors")["reasons"] as? [String]) == [
                "shaky.py:1: error: `os` imported but unused [F401]"
            ])
    }

    /// `python -m coverage` and `coverage run -m pytest` look in the working
    /// directory first: a tree's own `coverage/` or `pytest.py` stood in for the
    /// trusted tools and wrote passing reports. The tools are found in the venv, so
    /// the real pytest reports the failing test and the real coverage.py measures.
    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func theTreeCannotStandInForTheTrustedTools() throws {
        let forge = """
            import os
            os.makedirs("/workspace/.sandbox/reports", exist_ok=True)
            open("/workspace/.sandbox/reports/junit.xml", "w").write('<testsuite tests="1"><testcase classname="t" name="ok"/></testsuite>')
            open("/workspace/.sandbox/reports/coverage.json", "w").write('{"files": {"shaky.py": {"summary": {"covered_lines": 9, "num_statements": 9}}}, "totals": {"covered_lines": 9, "num_statements": 9, "percent_covered": 100.0}}')
            raise SystemExit(0)

            """
        let (status, verdict, stderr) = try Self.verifyChanged(
            "python/not-ready",
            adding: [
                "coverage/__init__.py": "", "coverage/__main__.py": forge, "pytest.py": forge,
                // pip would take these for installed copies, were the tree on the venv's path
                // while the tools are installed: it is put there only when the tests run.
                "coverage-7.17.5.dist-info/METADATA": "Metadata-Version: 2.1\nName: coverage\nVersion: 7.17.5\n",
                "pytest-9.2.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: pytest\nVersion: 9.2.0\n",
            ])
        #expect(status == 1, "\(stderr)")
        #expect(Self.gate(verdict, "test-failures")["actual"] as? Int == 1, "the real pytest ran the failing test")
        let coverage = try #require(Self.gate(verdict, "line-coverage")["actual"] as? Double)
        #expect(coverage < 50, "the real coverage.py measured \(coverage)%")
    }

    /// The linters and formatters are the project's own: a project that configures
    /// none is not judged by ruff's rules (lint and format are not measured), and one
    /// that pins ruff in its pre-commit configuration runs that version.
    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func theProjectsOwnLintersRunAtItsPinnedVersions() throws {
        let plain = try Self.verifyChanged(
            "python/ready",
            adding: [
                "pyproject.toml":
                    "[project]\nname = \"calc\"\nversion = \"0.1.0\"\n\n[tool.setuptools]\npy-modules = [\"calc\"]\n",
                "unused.py": "import os\n",
            ])
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(Self.gate(plain.verdict, "lint-errors")["status"] as? String == "not-measured")
        #expect(Self.gate(plain.verdict, "unformatted-files")["status"] as? String == "not-measured")
        #expect(plain.stderr.contains("[python/lint] skipped"))
        let out = Harness.temporaryDirectory().appendingPathComponent("out")
        defer { try? FileManager.default.removeItem(at: out.deletingLastPathComponent()) }
        let pinned = """
            repos:
              - repo: https://github.com/astral-sh/ruff-pre-commit
                rev: v0.15.4
                hooks:
                  - id: ruff
                  - id: ruff-format

            """
        let hooked = try Self.verifyChanged(
            "python/not-ready", adding: [".pre-commit-config.yaml": pinned], options: ["--out", out.path])
        #expect(hooked.status == 1)
        let tools = try String(contentsOf: out.appendingPathComponent("python-tools.stdout"), encoding: .utf8)
        #expect(tools.contains("ruff 0.15.4 (.pre-commit-config.yaml)"), "\(tools)")
        #expect(
            (Self.gate(hooked.verdict, "lint-errors")["reasons"] as? [String]) == [
                "shaky.py:1: error: `os` imported but unused [F401]"
            ])
    }

    /// What real projects declare, each read as they mean it: a pre-commit rev frozen
    /// to a commit pins the version its comment names; a mypy configuration that names
    /// nothing to check is not measured (the command that does is not read); coverage's
    /// `source_pkgs` and `parallel` are the project's, and a pytest-cov its addopts turn
    /// on does not measure inside the measurement; every extra is installed.
    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func pythonProjectsAreReadAsTheyDeclare() throws {
        let frozen = """
            repos:
              - repo: https://github.com/astral-sh/ruff-pre-commit
                rev: 0123456789abcdef0123456789abcdef01234567  # frozen: v0.15.4
                hooks:
                  - id: ruff

            """
        let pyproject = """
            [project]
            name = "calc"
            version = "0.1.0"
            [project.optional-dependencies]
            tests = ["pytest-cov==7.1.0"]
            extra = ["text-unidecode==1.3"]
            [tool.setuptools]
            py-modules = ["calc"]
            [tool.pytest.ini_options]
            testpaths = ["."]
            addopts = "--cov=calc"
            [tool.coverage.run]
            source_pkgs = ["calc"]
            parallel = true
            [tool.mypy]
            strict = true

            """
        let usesExtra = "import text_unidecode\n\ndef test_extra():\n    assert text_unidecode.unidecode('a') == 'a'\n"
        let out = Harness.temporaryDirectory().appendingPathComponent("out")
        defer { try? FileManager.default.removeItem(at: out.deletingLastPathComponent()) }
        let (status, verdict, stderr) = try Self.verifyChanged(
            "python/ready",
            adding: [".pre-commit-config.yaml": frozen, "pyproject.toml": pyproject, "test_extra.py": usesExtra],
            options: ["--out", out.path])
        #expect(status == 0, "\(stderr)")
        let tools = try String(contentsOf: out.appendingPathComponent("python-tools.stdout"), encoding: .utf8)
        #expect(tools.contains("ruff 0.15.4 (.pre-commit-config.yaml)"), "\(tools)")
        #expect(tools.contains("mypy not measured: its configuration names no files, packages or modules"))
        #expect(stderr.contains("[python/typecheck] skipped"))
        #expect(Self.gate(verdict, "tests-ran")["actual"] as? Int == 3, "calc's two and the extra's one")
        #expect(Self.gate(verdict, "line-coverage")["actual"] as? Int == 100, "calc alone, measured once")
    }

    /// A lock file pins what the project's installs get and the test tools' versions
    /// (uv.lock here; poetry.lock and pdm.lock alike). Coverage counts statements as
    /// coverage.py's own summary does, whatever its version: before 7.13 its JSON
    /// report counted a module's docstring as an executed line.
    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func aLockFilesPinsAreKept() throws {
        let registry = [("coverage", "7.6.1"), ("pytest", "8.3.3"), ("text-unidecode", "1.2")].map {
            "[[package]]\nname = \"\($0.0)\"\nversion = \"\($0.1)\"\nsource = { registry = \"https://pypi.org/simple\" }\n"
        }
        let lock =
            "version = 1\nrequires-python = \">=3.9\"\n\n[[package]]\nname = \"calc\"\nversion = \"0.1.0\"\n"
            + "source = { editable = \".\" }\n\n" + registry.joined(separator: "\n")
        let pyproject =
            try String(contentsOf: Self.examples.appendingPathComponent("python/ready/pyproject.toml"), encoding: .utf8)
            + "\n[dependency-groups]\ntest = [\"text-unidecode\"]\n"
        let documented =
            "\"\"\"A module docstring.\"\"\"\n\n\ndef used():\n    return 1\n\n\ndef unused():\n    return 2\n"
        let pinned = """
            from importlib.metadata import version

            import documented


            def test_pinned():
                assert version("text-unidecode") == "1.2"
                assert documented.used() == 1

            """
        let out = Harness.temporaryDirectory().appendingPathComponent("out")
        defer { try? FileManager.default.removeItem(at: out.deletingLastPathComponent()) }
        let (status, verdict, stderr) = try Self.verifyChanged(
            "python/ready",
            adding: [
                "uv.lock": lock, "pyproject.toml": pyproject, "documented.py": documented, "test_pinned.py": pinned,
            ],
            options: ["--out", out.path])
        #expect(status == 0, "\(stderr)")
        let tools = try String(contentsOf: out.appendingPathComponent("python-tools.stdout"), encoding: .utf8)
        #expect(tools.contains("pytest 8.3.3 (uv.lock)") && tools.contains("coverage 7.6.1 (uv.lock)"), "\(tools)")
        #expect(Self.gate(verdict, "tests-ran")["actual"] as? Int == 3)
        // calc's 8 statements and documented's 3 of 4: 11 of 12, not 13 of 14 with
        // each module's docstring counted as a covered line.
        let coverage = Self.gate(verdict, "line-coverage")["actual"] as? Double ?? 0
        #expect(abs(coverage - 1100.0 / 12) < 0.05, "\(coverage)")
    }

    /// The commands of the project's CI (here tox's) say how its tools run: pytest's
    /// doctests, ignored paths and environment, and pylint and mypy on the paths and
    /// with the options the CI gives them. A variable a trusted tool reads is not passed.
    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func pythonToolsRunAsTheCIRunsThem() throws {
        let tox = """
            [testenv]
            deps =
                unit: text-unidecode==1.3
                docs: no-such-package-for-sandbox-tests==1
            setenv =
                CALC_MODE = strict
                PYTHONPATH = /nowhere
            commands = pytest --doctest-modules --ignore=broken {posargs}

            [testenv:lint]
            commands =
                pylint --disable=missing-module-docstring,missing-function-docstring {toxinidir}/shapes.py
                mypy --strict shapes.py

            """
        let shapes = """
            def area(width, height):
                \"\"\"The area.

                >>> area(2, 3)
                6
                \"\"\"
                unused = 1
                return width * height


            def perimeter(width, height):
                return 2 * (width + height)

            """
        let mode = """
            import os


            def test_mode():
                assert os.environ.get("CALC_MODE") == "strict"
                assert "nowhere" not in os.environ.get("PYTHONPATH", "")

            """
        let out = Harness.temporaryDirectory().appendingPathComponent("out")
        defer { try? FileManager.default.removeItem(at: out.deletingLastPathComponent()) }
        let (status, verdict, stderr) = try Self.verifyChanged(
            "python/ready",
            adding: [
                "tox.ini": tox, "shapes.py": shapes, "test_mode.py": mode,
                "broken/test_broken.py": "def test_broken():\n    assert False\n",
                "test_factor.py":
                    "import text_unidecode\n\n\ndef test_factor():\n    assert text_unidecode.unidecode('a') == 'a'\n",
            ],
            options: ["--out", out.path])
        #expect(status == 1, "\(stderr)")
        let tools = try String(contentsOf: out.appendingPathComponent("python-tools.stdout"), encoding: .utf8)
        #expect(tools.contains("pylint 4.1.4 (the policy's)"), "\(tools)")
        #expect(
            Self.gate(verdict, "tests-ran")["actual"] as? Int == 5, "calc's two, test_mode, test_factor, area's doctest"
        )
        #expect(Self.gate(verdict, "step-failures")["actual"] as? Int == 0, "a docs factor's deps are not installed")
        #expect(Self.gate(verdict, "test-failures")["actual"] as? Int == 0, "broken/ is ignored, as the CI has it")
        let lint = (Self.gate(verdict, "lint-errors")["reasons"] as? [String]) ?? []
        #expect(lint.contains { $0.hasPrefix("shapes.py:7") && $0.contains("unused-variable") }, "\(lint)")
        #expect(!lint.contains { $0.contains("missing-function-docstring") }, "the CI disables it")
        #expect(lint.contains { $0.hasPrefix("shapes.py:1") && $0.contains("no-untyped-def") }, "mypy --strict")
    }

    /// gettext catalogs kept as sources only are compiled before the tests read
    /// them, as the project's build or CI compiles them.
    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func gettextCatalogsAreCompiledBeforeTheTests() throws {
        let catalog = """
            msgid ""
            msgstr "Content-Type: text/plain; charset=UTF-8\\n"

            msgid "hello"
            msgstr "hallo"

            """
        let test = """
            import gettext


            def test_german():
                german = gettext.translation("calc", localedir="locale", languages=["de"])
                assert german.gettext("hello") == "hallo"

            """
        let (status, verdict, stderr) = try Self.verifyChanged(
            "python/ready", adding: ["locale/de/LC_MESSAGES/calc.po": catalog, "test_locale.py": test])
        #expect(status == 0, "\(stderr)")
        #expect(Self.gate(verdict, "tests-ran")["actual"] as? Int == 3)
        #expect(Self.gate(verdict, "test-failures")["actual"] as? Int == 0)
    }

    /// `python3 -m venv` would import a `venv` package of the tree's own before the
    /// standard library's; the tools step runs Python isolated (-I), so the venv and
    /// its ruff are the real ones.
    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func aPlantedVenvModuleDoesNotRunInTheToolsStep() throws {
        let (status, _, stderr) = try Self.verifyChanged(
            "python/ready", adding: ["venv/__init__.py": "", "venv/__main__.py": "raise SystemExit(0)\n"])
        #expect(status == 0, "\(stderr)")
        #expect(stderr.contains("[python/lint] done: exited 0"))
    }

    /// Project code that rewrites the tree to hide its lint finding and its bad
    /// formatting (here at test time, in conftest.py) comes too late: ruff has
    /// already judged the tree as given.
    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func testsCannotRewriteWhatTheLintersJudge() throws {
        let (status, verdict, stderr) = try Self.verifyChanged(
            "python/ready",
            adding: [
                "sloppy.py": "import os\nx = {  'a':1 }\n",
                "conftest.py":
                    "import pathlib\n\npathlib.Path(\"/workspace/sloppy.py\").write_text('x = {\"a\": 1}\\n')\n",
                "test_rewritten.py":
                    "def test_rewritten():\n    assert open(\"/workspace/sloppy.py\").read() == 'x = {\"a\": 1}\\n'\n",
            ])
        #expect(status == 1, "\(stderr)")
        #expect(Self.gate(verdict, "tests-ran")["actual"] as? Int == 3)
        let lint = (Self.gate(verdict, "lint-errors")["reasons"] as? [String]) ?? []
        #expect(lint.contains("sloppy.py:1: error: `os` imported but unused [F401]"), "\(lint)")
        #expect((Self.gate(verdict, "unformatted-files")["reasons"] as? [String]) == ["sloppy.py: not formatted"])
        #expect(Self.gate(verdict, "test-failures")["actual"] as? Int == 0, "the tree was rewritten before the tests")
    }

    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func reportsPlantedInTheTreeAreNeverRead() throws {
        let (status, verdict, _) = try Self.verify("python/planted-report")
        #expect(status == 1)
        let ran = Self.gate(verdict, "tests-ran")
        #expect(ran["status"] as? String == "failed")
        #expect((ran["reasons"] as? [String])?.first?.contains("junit.xml: missing: the step did not write it") == true)
    }

    /// node 20's own test runner and coverage, no packages.
    @Test(.enabled(if: available && FileManager.default.fileExists(atPath: "/usr/bin/node"), "needs node"))
    func readyNodeProjectIsMergeReady() throws {
        let (status, verdict, stderr) = try Self.verify("node/ready")
        #expect(status == 0, "\(stderr)")
        #expect(Self.gate(verdict, "tests-ran")["actual"] as? Int == 2)
        #expect(Self.gate(verdict, "line-coverage")["actual"] as? Int == 100)
        #expect(stderr.contains("[node/lint] skipped: none of node_modules/eslint/package.json is present"))
    }

    /// Tests count as node counts them: a test with subtests is one too, a describe
    /// suite is not (node's own JUnit reporter leaves the first out).
    @Test(.enabled(if: available && FileManager.default.fileExists(atPath: "/usr/bin/node"), "needs node"))
    func nodeTestsCountAsNodeCountsThem() throws {
        let nested = """
            const { test, describe, it } = require("node:test");
            test("parent", async (t) => {
              await t.test("first", () => {});
              await t.test("second", () => {});
            });
            describe("suite", () => {
              it("inner", () => {});
            });

            """
        let (status, verdict, stderr) = try Self.verifyChanged("node/ready", adding: ["test/nested.test.js": nested])
        #expect(status == 0, "\(stderr)")
        #expect(Self.gate(verdict, "tests-ran")["actual"] as? Int == 2 + 4, "parent, first, second, inner")
    }

    /// mypy runs when the project configures it ([tool.mypy] here), and its errors
    /// are lint findings; a project without it skips the step.
    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func mypyRunsWhenConfigured() throws {
        let (status, verdict, stderr) = try Self.verify("python/type-error")
        #expect(status == 1, "\(stderr)")
        #expect(
            (Self.gate(verdict, "lint-errors")["reasons"] as? [String]) == [
                "shapes.py:6: error: Incompatible return value type (got \"int\", expected \"str\")  [return-value]"
            ])
        #expect(Self.gate(verdict, "test-failures")["actual"] as? Int == 0)
        #expect(stderr.contains("[python/typecheck] done: exited 1"))
    }

    /// A pre-commit mypy hook runs in an environment of its own, with its own
    /// additional dependencies and not the project's: so does mypy here, on the files
    /// the hook selects, at the version the hook pins.
    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func mypyRunsAsItsPreCommitHookDoes() throws {
        let hook = """
            repos:
              - repo: https://github.com/pre-commit/mirrors-mypy
                rev: v2.3.1
                hooks:
                  - id: mypy
                    files: ^shapes[.]py$
                    additional_dependencies: [tomli]

            """
        let out = Harness.temporaryDirectory().appendingPathComponent("out")
        defer { try? FileManager.default.removeItem(at: out.deletingLastPathComponent()) }
        let (status, verdict, stderr) = try Self.verifyChanged(
            "python/type-error", adding: [".pre-commit-config.yaml": hook], options: ["--out", out.path])
        #expect(status == 1, "\(stderr)")
        let tools = try String(contentsOf: out.appendingPathComponent("python-tools.stdout"), encoding: .utf8)
        #expect(tools.contains("mypy in an environment of its own, as its pre-commit hook runs: mypy==2.3.1 tomli"))
        #expect(
            (Self.gate(verdict, "lint-errors")["reasons"] as? [String]) == [
                "shapes.py:6: error: Incompatible return value type (got \"int\", expected \"str\")  [return-value]"
            ])
    }

    /// The tests run with the runner package.json's test script names, reached
    /// through `npm run`, past coverage wrappers and with the script's own test
    /// paths: mocha's and tap's tests count from their JUnit reports, coverage from
    /// V8's profiles. A runner the image lacks is named, not run.
    @Test(.enabled(if: available && FileManager.default.fileExists(atPath: "/usr/bin/mocha"), "needs Debian's mocha"))
    func theTestScriptsRunnerRunsTheTests() throws {
        let suite = """
            'use strict';
            const assert = require('assert');
            const { add, clamp } = require('../mathutil.js');
            describe('mathutil', () => {
              it('adds', () => assert.strictEqual(add(2, 3), 5));
              it('fails', () => assert.strictEqual(add(2, 2), 5));
              it.skip('is skipped', () => {});
            });

            """
        let mocha = #"""
            { "name": "mathutil", "scripts": { "test": "npm run unit", "unit": "nyc --reporter=lcov mocha --reporter spec --check-leaks spec/" } }
            """#
        let (status, verdict, stderr) = try Self.verifyChanged(
            "node/ready", adding: ["package.json": mocha, "spec/mathutil.js": suite])
        #expect(status == 1, "\(stderr)")
        #expect(Self.gate(verdict, "tests-ran")["actual"] as? Int == 2)
        #expect(Self.gate(verdict, "test-failures")["actual"] as? Int == 1)
        // test/ holds node:test's suite, which mocha was not told to run: spec/ alone ran.
        let coverage = try #require(Self.gate(verdict, "line-coverage")["actual"] as? Double)
        #expect(coverage > 0 && coverage < 100, "\(verdict)")

        let tap = #"{ "name": "mathutil", "scripts": { "test": "tap --100 -R spec test/" } }"#
        let tapSuite = """
            const t = require('tap');
            const { add } = require('../mathutil.js');
            t.equal(add(1, 1), 2);
            t.test('clamps', async (t) => { t.ok(true); });

            """
        let (tapStatus, tapVerdict, tapStderr) = try Self.verifyChanged(
            "node/ready", adding: ["package.json": tap, "test/mathutil.test.js": tapSuite])
        #expect(Self.gate(tapVerdict, "tests-ran")["actual"] as? Int == 2, "\(tapStderr)")
        #expect(Self.gate(tapVerdict, "test-failures")["actual"] as? Int == 0)
        _ = tapStatus

        let other = #"{ "name": "mathutil", "scripts": { "test": "cross-env CI=1 vitest run" } }"#
        let (otherStatus, otherVerdict, otherStderr) = try Self.verifyChanged(
            "node/ready", adding: ["package.json": other])
        #expect(otherStatus == 1, "\(otherStderr)")
        let reasons = (Self.gate(otherVerdict, "tests-ran")["reasons"] as? [String]) ?? []
        #expect(
            reasons.first?.hasSuffix(
                "the step said: error: package.json runs its tests with vitest; this policy runs node --test, mocha and tap"
            )
                == true, "\(reasons)")
        // node's own reporters are this step's: the script's is left out, its tests run.
        let own = #"{ "name": "mathutil", "scripts": { "test": "node --test --test-reporter=tap test/" } }"#
        let (ownStatus, _, ownStderr) = try Self.verifyChanged("node/ready", adding: ["package.json": own])
        #expect(ownStatus == 0, "\(ownStderr)")
    }

    /// The node policy's install command, as `policy show` prints it.
    static func nodeInstallCommand() throws -> [String] {
        let shown = try Harness.cli(["policy", "show", "node"])
        let runLine = try #require(shown.stdout.split(separator: "\n").first { $0.hasPrefix("    run: ") })
        return try #require(
            try JSONSerialization.jsonObject(with: Data(runLine.dropFirst("    run: ".count).utf8)) as? [String])
    }

    /// npm's agent looks registry hosts up with the ADDRCONFIG hint, for which
    /// glibc lists the addresses over a NETLINK_ROUTE socket, and os.networkInterfaces
    /// does the same: the filter allows that protocol, so the node policy's install
    /// step, run with a stand-in `npm` (no registry can be reached here) doing both,
    /// gets answers with no call refused, and nothing stands in for node's own calls.
    @Test(.enabled(if: available && FileManager.default.fileExists(atPath: "/usr/bin/node"), "needs node"))
    func registryLookupsAreNoIncidents() throws {
        let install = try Self.nodeInstallCommand()
        #expect(install.last?.hasPrefix("npm ci --ignore-scripts") == true, "no preload replaces node's calls")
        let tools = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tools) }
        let lookup = """
            #!/usr/bin/node
            const dns = require("dns"), os = require("os");
            console.log("interfaces " + Object.keys(os.networkInterfaces()).join(" "));
            dns.lookup("localhost", { all: true, hints: dns.ADDRCONFIG }, (error, addresses) =>
              console.log(error ? "error " + error.code : "found " + addresses.map((a) => a.address).join(" ")));

            """
        let npm = tools.appendingPathComponent("npm")
        try lookup.write(to: npm, atomically: true, encoding: .utf8)
        chmod(npm.path, 0o755)
        chmod(tools.path, 0o755)
        let ran = Harness.run(install) { configuration in
            configuration.binds = [BindMount(source: tools.path, destination: "/opt/stand-in")]
            try? configuration.setEnvironment(parsing: "PATH=/opt/stand-in:/usr/bin:/bin")
        }
        #expect(ran.stdout.hasPrefix("interfaces lo\nfound 127.0.0.1"), "\(ran.stdout) \(ran.stderr)")
        #expect(ran.result.deniedSyscalls.isEmpty)
    }

    /// npm ci that reaches no registry can say "Exit handler never called!" and
    /// exit 0 having installed nothing: the install step fails, in those words.
    @Test(.enabled(if: available && FileManager.default.fileExists(atPath: "/usr/bin/node"), "needs node"))
    func anInstallThatInstalledNothingFailsItsStep() throws {
        let argv = try Self.nodeInstallCommand()
        let tools = Harness.temporaryDirectory()
        let workspace = Harness.workspace()
        defer {
            try? FileManager.default.removeItem(at: tools)
            try? FileManager.default.removeItem(at: workspace)
        }
        let npm = tools.appendingPathComponent("npm")
        try "#!/bin/sh\necho 'npm error Exit handler never called!' >&2\nexit 0\n".write(
            to: npm, atomically: true, encoding: .utf8)
        chmod(npm.path, 0o755)
        chmod(tools.path, 0o755)
        let lock = #"{ "lockfileVersion": 3, "packages": { "": {}, "node_modules/left-pad": { "version": "1.3.0" } } }"#
        func installing(lock: String) throws -> Captured {
            try lock.write(to: workspace.appendingPathComponent("package-lock.json"), atomically: true, encoding: .utf8)
            return Harness.run(argv) { configuration in
                configuration.workspace = workspace.path
                configuration.binds = [BindMount(source: tools.path, destination: "/opt/stand-in")]
                try? configuration.setEnvironment(parsing: "PATH=/opt/stand-in:/usr/bin:/bin")
            }
        }
        let empty = try installing(lock: lock)
        #expect(empty.result.exitCode == 1, "\(empty.stderr)")
        #expect(empty.stderr.contains("error: npm ci exited 0 but installed nothing the lock file lists"))
        let nothingListed = try installing(lock: #"{ "lockfileVersion": 3, "packages": { "": {} } }"#)
        #expect(nothingListed.result.exitCode == 0, "\(nothingListed.stderr)")
    }

    /// A locked project is installed with `npm ci --ignore-scripts`: its own install
    /// script does not run (a test in the example checks), and npm's look at the
    /// network interfaces, answered by the policy's preload, opens no refused socket.
    @Test(.enabled(if: available && FileManager.default.fileExists(atPath: "/usr/bin/npm"), "needs npm"))
    func lockedNodeProjectInstallsWithoutScripts() throws {
        let (status, verdict, stderr) = try Self.verify("node/locked")
        #expect(status == 0, "\(stderr)")
        #expect(stderr.contains("[node/install] done: exited 0"))
        #expect(Self.gate(verdict, "tests-ran")["actual"] as? Int == 2)
        #expect(Self.gate(verdict, "test-failures")["actual"] as? Int == 0, "no install script ran")
        #expect(Self.gate(verdict, "containment")["actual"] as? Int == 0)
    }

    /// V8 profiles the test files too; only units.js counts, as c8 counts its
    /// lines: not the blank ones (node 20's own table gives it 9/20, blanks counted).
    @Test(.enabled(if: available && FileManager.default.fileExists(atPath: "/usr/bin/node"), "needs node"))
    func nodeCoverageCountsSourcesNotTests() throws {
        let (status, verdict, stderr) = try Self.verify("node/not-ready")
        #expect(status == 1, "\(stderr)")
        let coverage = Self.gate(verdict, "line-coverage")
        #expect(coverage["actual"] as? Double == 31.25)
        #expect(
            (coverage["reasons"] as? [String])
                == ["units.js: 5/16 covered; missing lines 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18"])
        #expect(Self.gate(verdict, "tests-ran")["actual"] as? Int == 2)
    }

    /// Debian's Go 1.19: go test -json with a coverprofile, go vet, gofmt.
    @Test(.enabled(if: available && FileManager.default.fileExists(atPath: "/usr/bin/go"), "needs Debian's golang-go"))
    func readyGoModuleIsMergeReady() throws {
        let (status, verdict, stderr) = try Self.verify("go/ready")
        #expect(status == 0, "\(stderr)")
        #expect(Self.gate(verdict, "tests-ran")["actual"] as? Int == 2)
        #expect(Self.gate(verdict, "line-coverage")["actual"] as? Int == 100)
        #expect(Self.gate(verdict, "lint-errors")["actual"] as? Int == 0, "go vet's findings")
        #expect(Self.gate(verdict, "unformatted-files")["actual"] as? Int == 0)
    }

    /// gofmt and go vet run where the project's CI runs them (go/ready's workflow
    /// does): without that workflow, a file gofmt would change and a finding of
    /// vet's are not measured, and the steps say why.
    @Test(.enabled(if: available && FileManager.default.fileExists(atPath: "/usr/bin/go"), "needs Debian's golang-go"))
    func goToolsTheProjectDoesNotRunAreNotMeasured() throws {
        let sloppy =
            "package mathx\n\nfunc  Twice(x int) int { return 2*x }\n\nfunc Unreachable() int {\n\treturn 1\n\tpanic(\"no\")\n}\n"
        let (status, verdict, stderr) = try Self.verifyChanged("go/ready", adding: ["mathx/sloppy.go": sloppy]) {
            tree in
            try FileManager.default.removeItem(at: tree.appendingPathComponent(".github"))
        }
        #expect(Self.gate(verdict, "unformatted-files")["status"] as? String == "not-measured", "\(verdict)")
        #expect(Self.gate(verdict, "lint-errors")["status"] as? String == "not-measured")
        #expect(stderr.contains("[go/format] skipped: the project does not use gofmt"), "\(stderr)")
        #expect(stderr.contains("[go/vet] skipped: the project does not use go-vet or golangci-lint"))
        #expect(Self.gate(verdict, "line-coverage")["actual"] as? Double ?? 100 < 100)
        _ = status
        let (_, declared, _) = try Self.verifyChanged("go/ready", adding: ["mathx/sloppy.go": sloppy])
        #expect(
            (Self.gate(declared, "unformatted-files")["reasons"] as? [String]) == ["mathx/sloppy.go: not formatted"])
        #expect(
            (Self.gate(declared, "lint-errors")["reasons"] as? [String]) == [
                "mathx/sloppy.go:7: error: unreachable code"
            ])
    }

    /// Every module of the tree is tested and vetted, not only the root's (./...
    /// stops at a nested go.mod); coverage names files by their path in the tree.
    @Test(.enabled(if: available && FileManager.default.fileExists(atPath: "/usr/bin/go"), "needs Debian's golang-go"))
    func everyGoModuleOfTheTreeIsTested() throws {
        let (status, verdict, stderr) = try Self.verifyChanged(
            "go/ready",
            adding: [
                "nested/go.mod": "module example.com/nested\n\ngo 1.19\n",
                "nested/inner/inner.go":
                    "package inner\n\nfunc Half(x int) int { return x / 2 }\n\nfunc Third(x int) int { return x / 3 }\n\n"
                    + "func Fourth(x int) int { return x / 4 }\n\nfunc Fifth(x int) int { return x / 5 }\n",
                "nested/inner/inner_test.go":
                    "package inner\n\nimport \"testing\"\n\nfunc TestHalf(t *testing.T) {\n\tif Half(4) != 3 {\n\t\tt.Fatal(\"Half is wrong\")\n\t}\n}\n",
            ])
        #expect(status == 1, "\(stderr)")
        #expect(Self.gate(verdict, "tests-ran")["actual"] as? Int == 3)
        #expect(
            (Self.gate(verdict, "test-failures")["reasons"] as? [String])
                == ["example.com/nested/inner.TestHalf failed: inner_test.go:7: Half is wrong"])
        let coverage = (Self.gate(verdict, "line-coverage")["reasons"] as? [String]) ?? []
        #expect(coverage.first == "nested/inner/inner.go: 1/4 covered; missing lines 5, 7, 9", "\(coverage)")
    }

    /// A test that attaches to init and floods its output: both contained, both
    /// named in the verdict.
    @Test(.enabled(if: available && FileManager.default.fileExists(atPath: "/usr/bin/go"), "needs Debian's golang-go"))
    func misbehavingStepIsContainedAndNamed() throws {
        let (status, verdict, _) = try Self.verify("go/misbehaving")
        #expect(status == 1)
        let containment = Self.gate(verdict, "containment")
        #expect(containment["status"] as? String == "failed")
        #expect(
            (containment["reasons"] as? [String])
                == ["go/test: stopped at the 16 MiB output limit", "go/test: system call ptrace refused (1×)"])
    }

    /// A test that hoards memory, in a repository whose .sandbox.yaml tightens the
    /// memory limit and the coverage gate: both tightenings apply.
    @Test(.enabled(if: available && FileManager.default.fileExists(atPath: "/usr/bin/node"), "needs node"))
    func memoryBombIsStoppedAtTheTightenedLimit() throws {
        let (status, verdict, _) = try Self.verify("node/memory-bomb")
        #expect(status == 1)
        let containment = Self.gate(verdict, "containment")
        #expect(
            (containment["reasons"] as? [String]) == ["node/test: a process was killed at the 256 MiB memory limit"])
        #expect(Self.gate(verdict, "line-coverage")["threshold"] as? Int == 90)
        #expect((verdict["notes"] as? [String]) == [])
    }

    /// Swift 6.3 with XCTest, swift-testing and llvm-cov coverage, counted over
    /// the package's own targets; `--out` keeps the reports as they were read.
    @Test(
        .enabled(
            if: available && FileManager.default.fileExists(atPath: "/opt/swift/usr/bin/swift"), "needs /opt/swift"))
    func readySwiftPackageIsMergeReady() throws {
        let out = Harness.temporaryDirectory().appendingPathComponent("out")
        defer { try? FileManager.default.removeItem(at: out.deletingLastPathComponent()) }
        let (status, verdict, stderr) = try Self.verify("swift/ready", options: ["--out", out.path])
        #expect(status == 0, "\(stderr)")
        #expect(Self.gate(verdict, "tests-ran")["actual"] as? Int == 3, "two XCTest cases and one swift-testing test")
        #expect(Self.gate(verdict, "line-coverage")["actual"] as? Int == 100)
        #expect(Self.gate(verdict, "compiler-warnings")["actual"] as? Int == 0)
        #expect(Self.gate(verdict, "unformatted-files")["actual"] as? Int == 0)
        let kept = try String(
            contentsOf: out.appendingPathComponent("swift-test.report.xunit-swift-testing.xml"), encoding: .utf8)
        #expect(kept.contains("greetingKeepsTheName()"))
    }

    /// Coverage counts the package's own targets wherever their `path:` points
    /// (here lib/, where counting Sources/ measured nothing), not its tests. A stale
    /// LinuxMain.swift (it names a test that is gone, as real ones do) would fail the
    /// build: the tests are discovered instead, because the project's CI does so.
    /// SwiftPM then runs XCTest's alone, and writes no swift-testing report.
    @Test(
        .enabled(
            if: available && FileManager.default.fileExists(atPath: "/opt/swift/usr/bin/swift"), "needs /opt/swift"))
    func swiftCoverageFollowsTheTargetsAndTestsAreDiscovered() throws {
        let manifest = """
            // swift-tools-version: 6.0
            import PackageDescription

            let package = Package(
                name: "Greeter",
                targets: [
                    .target(name: "Greeter", path: "lib/Greeter"),
                    .testTarget(name: "GreeterTests", dependencies: ["Greeter"]),
                ]
            )

            """
        let linuxMain = """
            import XCTest

            @testable import GreeterTests

            XCTMain([
                testCase([("testNamed", GreeterTests.testNamed), ("testGone", GreeterTests.testGone)])
            ])

            """
        let (status, verdict, stderr) = try Self.verifyChanged(
            "swift/ready",
            adding: [
                "Package.swift": manifest, "Tests/LinuxMain.swift": linuxMain,
                ".github/workflows/ci.yml":
                    "jobs:\n  linux:\n    steps:\n      - run: swift test --enable-test-discovery\n",
            ]
        ) { tree in
            try FileManager.default.createDirectory(
                at: tree.appendingPathComponent("lib"), withIntermediateDirectories: true)
            try FileManager.default.moveItem(
                at: tree.appendingPathComponent("Sources/Greeter"), to: tree.appendingPathComponent("lib/Greeter"))
        }
        #expect(status == 0, "\(stderr)")
        #expect(
            Self.gate(verdict, "tests-ran")["actual"] as? Int == 2,
            "XCTest's, discovered; beside a LinuxMain.swift SwiftPM runs no swift-testing test")
        #expect(Self.gate(verdict, "line-coverage")["actual"] as? Int == 100, "\(verdict)")
    }

    /// A LinuxMain.swift that is a test framework's own main, not XCTMain (Spectre's
    /// is): under --parallel it runs nothing, so the tests run serially and the TAP
    /// they print is their report, failures and their reasons with them.
    @Test(
        .enabled(
            if: available && FileManager.default.fileExists(atPath: "/opt/swift/usr/bin/swift"), "needs /opt/swift"))
    func aTestFrameworksOwnMainIsReadThroughItsTAP() throws {
        let linuxMain = """
            import Foundation

            print("ok 1 - Greeter keeps the name")
            print("ok 2 - # skip Greeter greets in French")
            print("not ok 3 - Greeter shouts")
            print("# hello is not equal to HELLO from GreeterSpec.swift:9")
            print("1..3")
            exit(1)

            """
        let (status, verdict, stderr) = try Self.verifyChanged(
            "swift/ready", adding: ["Tests/LinuxMain.swift": linuxMain])
        #expect(status == 1, "\(stderr)")
        #expect(Self.gate(verdict, "tests-ran")["actual"] as? Int == 2, "\(verdict)")
        let failures = Self.gate(verdict, "test-failures")
        #expect(
            failures["reasons"] as? [String] == [
                "Greeter shouts failed: hello is not equal to HELLO from GreeterSpec.swift:9"
            ], "\(failures)")
    }

    /// A dependency fetched by the install step alone, through this machine's package
    /// mirror (bound read-only for that step only).
    @Test(
        .enabled(
            if: available && FileManager.default.fileExists(atPath: "/opt/swift/usr/bin/swift")
                && FileManager.default.fileExists(atPath: "/opt/swift-packages/apple/swift-numerics.git"),
            "needs /opt/swift and the package mirror"))
    func swiftDependenciesAreFetchedByTheInstallStep() throws {
        let (status, verdict, stderr) = try Self.verify("swift/with-dependency")
        #expect(status == 0, "\(stderr)")
        #expect(Self.gate(verdict, "tests-ran")["actual"] as? Int == 2)
        #expect(Self.gate(verdict, "line-coverage")["actual"] as? Int == 100, "swift-numerics is not counted")
        #expect(stderr.contains("[swift/install] done: exited 0"))
    }

    /// A compiler warning, a file the formatter would change and a failing
    /// swift-testing test, each named; coverage is still measured although
    /// `swift test` exports it only when every test passes.
    @Test(
        .enabled(
            if: available && FileManager.default.fileExists(atPath: "/opt/swift/usr/bin/swift"), "needs /opt/swift"))
    func notReadySwiftPackageSaysWhy() throws {
        let (status, verdict, stderr) = try Self.verify("swift/not-ready")
        #expect(status == 1, "\(stderr)")
        #expect(
            (Self.gate(verdict, "compiler-warnings")["reasons"] as? [String])?.first?.hasPrefix(
                "Sources/Greeter/Greeter.swift:3: warning: initialization of immutable value 'unused' was never used")
                == true)
        #expect(
            (Self.gate(verdict, "unformatted-files")["reasons"] as? [String])
                == ["Sources/Greeter/Farewell.swift: not formatted"])
        let failures = (Self.gate(verdict, "test-failures")["reasons"] as? [String]) ?? []
        #expect(failures.count == 1 && failures[0].hasPrefix("GreeterTests.farewellIsPolite() failed"), "\(failures)")
        #expect(Self.gate(verdict, "line-coverage")["actual"] as? Int == 100)
        #expect(Self.gate(verdict, "step-failures")["actual"] as? Int == 0)
    }

    /// A test that starts processes without end: refused at the process limit,
    /// and the verdict says so.
    @Test(.enabled(if: available && FileManager.default.fileExists(atPath: "/usr/bin/go"), "needs Debian's golang-go"))
    func forkBombIsRefusedAtTheProcessLimit() throws {
        let (status, verdict, _) = try Self.verify("go/fork-bomb")
        #expect(status == 1)
        #expect(
            (Self.gate(verdict, "containment")["reasons"] as? [String])
                == ["go/test: failed after a process was refused at the 256-process limit"])
        let failure = (Self.gate(verdict, "test-failures")["reasons"] as? [String])?.first ?? ""
        #expect(failure.contains("resource temporarily unavailable"), "\(failure)")
    }

    /// No .NET SDK here: a C# project gets a verdict that says so, step by step.
    @Test(.enabled(if: available && !FileManager.default.fileExists(atPath: "/usr/bin/dotnet"), "needs no dotnet"))
    func csharpWithoutTheSDKSaysToolchainNotFound() throws {
        let tree = Harness.temporaryDirectory().appendingPathComponent("tree")
        defer { try? FileManager.default.removeItem(at: tree.deletingLastPathComponent()) }
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        try "<Project Sdk=\"Microsoft.NET.Sdk\" />\n".write(
            to: tree.appendingPathComponent("App.csproj"), atomically: true, encoding: .utf8)
        let outcome = try Harness.cli(["verify", "--format", "json", tree.path])
        #expect(outcome.status == 1)
        let verdict = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any] ?? [:]
        let reasons = (Self.gate(verdict, "containment")["reasons"] as? [String]) ?? []
        #expect(
            reasons.map { $0.prefix { $0 != ":" } } == ["csharp/install", "csharp/format", "csharp/test"], "\(reasons)")
        #expect(reasons.allSatisfy { $0.contains("toolchain not found: /usr/bin/dotnet (image dotnet)") })
        #expect(Self.gate(verdict, "tests-ran")["status"] as? String == "failed")
    }

    /// Project code that swaps a report for a FIFO once its writer is done (here
    /// pytest's junit.xml, from a conftest hook that runs after pytest wrote it): the
    /// report is refused as not a regular file, instead of the reader waiting on the
    /// FIFO until its one-minute limit and calling it missing. Node's test step, which
    /// writes its reports last, writes them afresh over whatever stands there.
    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func aReportSwappedForAFIFOIsRefused() throws {
        let plant = """
            import os
            import pytest


            @pytest.hookimpl(trylast=True)
            def pytest_sessionfinish(session):
                report = "/workspace/.sandbox/reports/junit.xml"
                os.remove(report)
                os.mkfifo(report)

            """
        let (status, verdict, _) = try Self.verifyChanged("python/ready", adding: ["conftest.py": plant])
        #expect(status == 1)
        #expect(
            (Self.gate(verdict, "tests-ran")["reasons"] as? [String])
                == ["python/test: junit.xml: not a regular file"])
        let node = """
            'use strict';
            const { it } = require('node:test');
            const fs = require('node:fs');
            const { execFileSync } = require('node:child_process');
            it('swaps the coverage report for a FIFO', () => {
              const report = '/workspace/.sandbox/reports/lcov.info';
              fs.rmSync(report, { force: true });
              execFileSync('/usr/bin/mkfifo', [report]);
            });

            """
        let (nodeStatus, nodeVerdict, nodeStderr) = try Self.verifyChanged(
            "node/ready", adding: ["test/plant.test.js": node])
        #expect(nodeStatus == 0, "\(nodeStderr)")
        #expect(Self.gate(nodeVerdict, "line-coverage")["actual"] as? Int == 100)
    }

    /// A tree with folders its owner alone may read (root's `swift build` leaves
    /// 0700 ones in .build) is still verified; what the sandbox's uid could not read
    /// is named in the verdict's notes, not silently dropped.
    @Test(
        .enabled(
            if: available && geteuid() == 0 && FileManager.default.fileExists(atPath: "/usr/bin/go"),
            "needs root and go"))
    func unreadablePartsOfTheTreeAreLeftOutAndNamed() throws {
        // A planted .sandbox is dropped even when the copy was partial.
        let plantedCheck = """
            package mathx

            import (
            \t"os"
            \t"testing"
            )

            func TestNothingPlanted(t *testing.T) {
            \tif _, err := os.Stat("/workspace/.sandbox/planted"); err == nil {
            \t\tt.Fatal("a planted file survived the copy")
            \t}
            }

            """
        let (status, verdict, stderr) = try Self.verifyChanged(
            "go/ready",
            adding: [
                ".build/ModuleCache/entry": "x", ".sandbox/planted": "planted", "mathx/planted_test.go": plantedCheck,
            ]
        ) { copy in
            #expect(chmod(copy.appendingPathComponent(".build/ModuleCache").path, 0o700) == 0)
        }
        #expect(status == 0, "\(stderr)")
        #expect(
            (verdict["notes"] as? [String]) == [
                "left out of the working copy, unreadable to the sandbox's uid: .build/ModuleCache"
            ])
        #expect(Self.gate(verdict, "tests-ran")["actual"] as? Int == 3, "the planted-file check ran")
    }

    /// A root the sandbox's uid cannot read (a root-owned 0700 directory, as
    /// `mktemp -d` makes) is a usage error that says what to do, not an empty copy.
    @Test(.enabled(if: available && Harness.isRoot, "needs the built sandbox executable, as root"))
    func anUnreadableTreeRootIsAUsageError() throws {
        let (status, _, stderr) = try Self.verifyChanged("go/ready") { copy in
            #expect(chmod(copy.path, 0o700) == 0)
        }
        #expect(status == 2, "\(stderr)")
        #expect(stderr.contains("cannot read the tree's root; make it readable (chmod o+rx "), "\(stderr)")
    }

    /// A repository cannot loosen: what it asked for is refused and shown.
    @Test(.enabled(if: available && FileManager.default.fileExists(atPath: "/usr/bin/go"), "needs Debian's golang-go"))
    func looseningRequestsAreRefusedAndShown() throws {
        let (status, verdict, stderr) = try Self.verifyChanged(
            "go/ready", adding: [".sandbox.yaml": "limits:\n  memory: 64G\ngates:\n  line-coverage: \">= 10\"\n"])
        #expect(status == 0, "\(stderr)")
        let notes = verdict["notes"] as? [String] ?? []
        #expect(notes.contains("repository asked for line-coverage >= 10, looser than >= 80: refused"))
        #expect(notes.contains("repository asked for a higher memory limit for format, vet, test: refused"), "once")
        #expect(Self.gate(verdict, "line-coverage")["threshold"] as? Int == 80)
    }

    /// rustup's cargo, offline: libtest's output, clippy's JSON, rustfmt.
    @Test(.enabled(if: available && FileManager.default.fileExists(atPath: "/root/.cargo/bin/cargo"), "needs cargo"))
    func readyRustCrateIsMergeReady() throws {
        let (status, verdict, stderr) = try Self.verify("rust/ready")
        #expect(status == 0, "\(stderr)")
        #expect(Self.gate(verdict, "tests-ran")["actual"] as? Int == 1)
        #expect(verdict["skippedTests"] as? Int == 1)
        #expect(Self.gate(verdict, "compiler-warnings")["actual"] as? Int == 0)
        // llvm-cov export on the same profile: 9 of src/lib.rs's 10 lines.
        #expect(Self.gate(verdict, "line-coverage")["actual"] as? Int == 90)
    }

    /// Coverage through -C instrument-coverage: an untested function pulls the
    /// crate under the bar, with llvm-cov's own figure.
    @Test(.enabled(if: available && FileManager.default.fileExists(atPath: "/root/.cargo/bin/cargo"), "needs cargo"))
    func untestedRustCodeFailsTheCoverageGate() throws {
        let (status, verdict, stderr) = try Self.verifyChanged("rust/ready", adding: [:]) { copy in
            let library = copy.appendingPathComponent("src/lib.rs")
            let untested = """

                /// The smaller of two numbers.
                pub fn min(a: i64, b: i64) -> i64 {
                    if a < b {
                        a
                    } else {
                        b
                    }
                }

                """
            try (String(contentsOf: library, encoding: .utf8) + untested).write(
                to: library, atomically: true, encoding: .utf8)
        }
        #expect(status == 1, "\(stderr)")
        let coverage = Self.gate(verdict, "line-coverage")
        #expect(coverage["status"] as? String == "failed")
        // llvm-cov report on the same crate, run bare: 9 of 15 lines.
        let actual = try #require(coverage["actual"] as? Double)
        #expect(abs(actual - 100.0 * 9 / 15) < 0.01)
    }

    /// Code a build script generates under the target directory is not the
    /// crate's own: llvm-cov's bare report counts it (9 of 15 lines); the verdict
    /// counts src/lib.rs only (9 of 10).
    @Test(.enabled(if: available && FileManager.default.fileExists(atPath: "/root/.cargo/bin/cargo"), "needs cargo"))
    func generatedRustCodeDoesNotCount() throws {
        let buildScript = """
            use std::{env, fs, path::Path};

            fn main() {
                let out = env::var("OUT_DIR").unwrap();
                let code = "/// Generated, never called.\\npub fn generated(a: i64) -> i64 {\\n    if a > 0 {\\n        a\\n    } else {\\n        -a\\n    }\\n}\\n";
                fs::write(Path::new(&out).join("gen.rs"), code).unwrap();
            }

            """
        let (status, verdict, stderr) = try Self.verifyChanged("rust/ready", adding: ["build.rs": buildScript]) {
            copy in
            let library = copy.appendingPathComponent("src/lib.rs")
            try
                (String(contentsOf: library, encoding: .utf8) + "\ninclude!(concat!(env!(\"OUT_DIR\"), \"/gen.rs\"));\n")
                .write(to: library, atomically: true, encoding: .utf8)
        }
        #expect(status == 0, "\(stderr)")
        #expect(Self.gate(verdict, "line-coverage")["actual"] as? Int == 90)
    }

    /// A developer's own build folder at the root (target/) stays out of the copy.
    @Test(.enabled(if: available && FileManager.default.fileExists(atPath: "/root/.cargo/bin/cargo"), "needs cargo"))
    func buildOutputAtTheRootIsNotCopied() throws {
        let check = """
            #[test]
            fn target_is_left_out() {
                assert!(!std::path::Path::new("/workspace/target").exists());
            }

            """
        let (status, verdict, stderr) = try Self.verifyChanged(
            "rust/ready", adding: ["target/debug/stale": "old", "tests/copy.rs": check])
        #expect(status == 0, "\(stderr)")
        #expect(Self.gate(verdict, "tests-ran")["actual"] as? Int == 2)
    }

    /// A project's .cargo/config.toml may alias `cargo fmt` to something that finds
    /// nothing; the policy runs cargo-fmt itself.
    @Test(.enabled(if: available && FileManager.default.fileExists(atPath: "/root/.cargo/bin/cargo"), "needs cargo"))
    func cargoAliasesCannotStandInForTheFormatter() throws {
        let (status, verdict, stderr) = try Self.verifyChanged(
            "rust/ready", adding: [".cargo/config.toml": "[alias]\nfmt = \"version\"\nclippy = \"version\"\n"]
        ) { copy in
            let library = copy.appendingPathComponent("src/lib.rs")
            try (String(contentsOf: library, encoding: .utf8) + "pub fn  sloppy( ) {}\n").write(
                to: library, atomically: true, encoding: .utf8)
        }
        #expect(status == 1, "\(stderr)")
        #expect((Self.gate(verdict, "unformatted-files")["reasons"] as? [String]) == ["src/lib.rs: not formatted"])
    }

    /// `sandbox verify` on this repository: its own build, formatting, tests and
    /// coverage, judged in sandboxes. The suites that start sandboxes skip there
    /// (creating namespaces is refused inside one) and are counted as skipped;
    /// the rest must pass and cover at least 80% of Sources/.
    @Test(
        .enabled(
            if: available && FileManager.default.fileExists(atPath: "/opt/swift/usr/bin/swift"),
            "needs the Swift toolchain at /opt/swift"))
    func thisRepositoryIsMergeReady() throws {
        let outcome = try Harness.cli(["verify", "--format", "json", Harness.packageRoot.path])
        let verdict = (try? JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8))) as? [String: Any] ?? [:]
        #expect(outcome.status == 0, "\(outcome.stdout)\n\(outcome.stderr.suffix(2000))")
        #expect(Self.gate(verdict, "containment")["actual"] as? Int == 0, "no probe tried to clone")
        #expect(Self.gate(verdict, "compiler-warnings")["actual"] as? Int == 0)
        #expect(Self.gate(verdict, "test-failures")["actual"] as? Int == 0)
        #expect((Self.gate(verdict, "tests-ran")["actual"] as? Int ?? 0) > 100)
        #expect((verdict["skippedTests"] as? Int ?? 0) > 0, "the sandbox-starting suites skip inside a sandbox")
        #expect((Self.gate(verdict, "line-coverage")["actual"] as? Double ?? 0) >= 80)
    }

    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func usageErrorsExitTwo() throws {
        let empty = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: empty) }
        let outcome = try Harness.cli(["verify", empty.path])
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("no language detected"))
        let missing = try Harness.cli(["verify", "/nonexistent/tree"])
        #expect(missing.status == 2)
        let format = try Harness.cli(["verify", "--format", "yaml", empty.path])
        #expect(format.status == 2, "the parser's own refusals exit 2 too, as the help says")
        #expect(try Harness.cli(["policy", "show"]).status == 2)
    }

    /// Where results go is checked before any step runs: a mistake there costs
    /// seconds, not the whole verification.
    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func outputPathsAreCheckedFirst() throws {
        let tree = Self.examples.appendingPathComponent("go/ready").path
        let junit = try Harness.cli(["verify", "--junit", "/nonexistent/results.xml", tree])
        #expect(junit.status == 2)
        #expect(junit.stderr == "sandbox: --junit /nonexistent/results.xml: no such directory\n")
        let full = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: full) }
        try "x".write(to: full.appendingPathComponent("kept"), atomically: true, encoding: .utf8)
        let out = try Harness.cli(["verify", "--out", full.path, tree])
        #expect(out.status == 2)
        #expect(out.stderr == "sandbox: --out \(full.path): give a new or empty directory\n", "no step ran")
        // Checked as they will be written: never through a link, never a file shared by a hard link.
        try FileManager.default.createSymbolicLink(
            atPath: full.appendingPathComponent("link").path, withDestinationPath: full.path)
        let linked = try Harness.cli([
            "verify", "--sarif", full.appendingPathComponent("link/findings.sarif").path, tree,
        ])
        #expect(linked.status == 2)
        #expect(linked.stderr.contains("goes through a symbolic link"), "\(linked.stderr)")
        #expect(link(full.appendingPathComponent("kept").path, full.appendingPathComponent("shared.xml").path) == 0)
        let shared = try Harness.cli(["verify", "--junit", full.appendingPathComponent("shared.xml").path, tree])
        #expect(shared.status == 2)
        #expect(shared.stderr.hasSuffix(": something other than a plain file of its own is there\n"))
    }

    /// `policy show --repository` shows the policy a tree's .sandbox.yaml makes.
    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func policyShowAppliesARepositorysFile() throws {
        let tree = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tree) }
        try "gates:\n  line-coverage: \">= 90\"\nlimits:\n  memory: 64G\n  timeout: 2m\n".write(
            to: tree.appendingPathComponent(".sandbox.yaml"), atomically: true, encoding: .utf8)
        let shown = try Harness.cli(["policy", "show", "go", "--repository", tree.path])
        #expect(shown.status == 0, "\(shown.stderr)")
        let lines = shown.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("  line-coverage: \">= 90\""))
        #expect(lines.contains("# repository asked for a higher memory limit for format, vet, test: refused"))
        let limits = lines.filter { $0.hasPrefix("    limits: ") }
        #expect(limits.count == 3, "one line per step")
        #expect(limits.allSatisfy { $0.hasPrefix("    limits: memory 2 GiB,") && $0.contains(" timeout 2m,") })
        let missing = try Harness.cli(["policy", "show", "go", "--repository", tree.path + "/absent"])
        #expect(missing.status == 2)
    }

    /// Policies copied without their images would start steps with no toolchain.
    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func policiesWithoutTheirImagesAreRefused() throws {
        let parent = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let policies = parent.appendingPathComponent("policies")
        try FileManager.default.createDirectory(at: policies, withIntermediateDirectories: true)
        let shipped = Harness.packageRoot.appendingPathComponent("policies")
        for name in ["defaults.yaml", "go.yaml"] {
            try FileManager.default.copyItem(
                at: shipped.appendingPathComponent(name), to: policies.appendingPathComponent(name))
        }
        let expected =
            "go.yaml: image 'go' is not in \(parent.path)/images (images are read from images/ beside the policy directory)\n"
        let check = try Harness.cli(["policy", "check", policies.path])
        #expect(check.status == 2)
        #expect(check.stderr == expected)
        let verify = try Harness.cli([
            "verify", "--policy-dir", policies.path, Self.examples.appendingPathComponent("go/ready").path,
        ])
        #expect(verify.status == 2)
        #expect(verify.stderr == "sandbox: " + expected)
    }
}

/// How verify ends when it is stopped: a signal stops the step running and
/// removes the working copy; a run killed outright leaves its copy to the next.
/// The step's shell, given SIGINT, waits for its `sleep` before it acts on it:
/// verify kills the step when it has not ended soon after.
@Suite(.serialized) struct VerifyInterruptionTests {
    static let available = VerifyTests.available

    /// Policies with two languages: `waits` sleeps in its one step, `quick` ends at once.
    static func policies(in parent: URL) throws -> URL {
        let policies = parent.appendingPathComponent("policies")
        let images = parent.appendingPathComponent("images")
        for directory in [policies, images] {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        try FileManager.default.copyItem(
            at: Harness.packageRoot.appendingPathComponent("policies/defaults.yaml"),
            to: policies.appendingPathComponent("defaults.yaml"))
        try "image: shell\nrequires: [/bin/sh]\n".write(
            to: images.appendingPathComponent("shell.yaml"), atomically: true, encoding: .utf8)
        for (language, command) in [("waits", "echo started; sleep 120"), ("quick", "true")] {
            let policy = """
                language: \(language)
                detect: [\(language).txt]
                image: shell
                steps:
                  - name: step
                    kind: build
                    run: [/bin/sh, -c, "\(command)"]

                """
            try policy.write(to: policies.appendingPathComponent("\(language).yaml"), atomically: true, encoding: .utf8)
        }
        return policies
    }

    static func tree(_ language: String, in parent: URL) throws -> URL {
        let tree = parent.appendingPathComponent(language)
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        try "".write(to: tree.appendingPathComponent("\(language).txt"), atomically: true, encoding: .utf8)
        chmod(parent.path, 0o755)
        return tree
    }

    static func copies() -> Set<String> {
        Set(
            ((try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []).filter {
                $0.hasPrefix("sandbox-verify-")
            })
    }

    /// Starts verify on the `waits` tree; returns it once its step runs (its
    /// progress says so), with its new working copy.
    static func startWaiting(_ policies: URL, _ tree: URL) throws -> (Process, String) {
        let before = copies()
        let progress = tree.deletingLastPathComponent().appendingPathComponent("progress")
        try Data().write(to: progress)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Harness.binary)
        process.arguments = ["verify", "--policy-dir", policies.path, tree.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: progress)
        try process.run()
        for _ in 0..<400 {
            let said = (try? String(contentsOf: progress, encoding: .utf8)) ?? ""
            if said.contains("[waits/step] running"), let copy = copies().subtracting(before).first {
                usleep(300_000)
                return (process, copy)
            }
            usleep(50_000)
        }
        process.terminate()
        throw CocoaError(.fileNoSuchFile)
    }

    @Test(.enabled(if: available, "needs the built sandbox executable"), arguments: [SIGTERM, SIGINT, SIGHUP])
    func aSignalStopsTheStepAndRemovesTheCopy(signal: Int32) throws {
        let parent = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let (process, copy) = try Self.startWaiting(try Self.policies(in: parent), try Self.tree("waits", in: parent))
        let sent = ContinuousClock.now
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        #expect(ContinuousClock.now - sent < .seconds(30), "the step's sleep of 120 s was stopped")
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == signal, "dies of it")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/\(copy)"), "the working copy is removed")
    }

    /// The supervisor killed outright mid-step: the step dies with it (init's death
    /// signal, and the PID namespace with init), and the next run removes the step's
    /// cgroup that it left.
    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func aKilledSupervisorLeavesNoProcessAndNoCgroup() throws {
        func sleepers() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { entry in
                guard Int(entry) != nil, let cmdline = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
                else { return false }
                return String(decoding: cmdline, as: UTF8.self) == "/bin/sleep\u{0}3171\u{0}"
            }
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Harness.binary)
        process.arguments = ["run", "--", "/bin/sleep", "3171"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<200 where sleepers().isEmpty { usleep(25_000) }
        #expect(!sleepers().isEmpty, "the step started")
        let supervisor = process.processIdentifier
        // Where a step group can be: under a v1 controller (or a delegated part of one),
        // or the v2 hierarchy, a few levels down.
        func groups() -> [String] {
            var found: [String] = []
            for depth in 0..<4 {
                let pattern =
                    "/sys/fs/cgroup/" + String(repeating: "*/", count: depth)
                    + "sandbox-steps/step-\(supervisor)-*"
                var matches = glob_t()
                defer { globfree(&matches) }
                guard glob(pattern, 0, nil, &matches) == 0 else { continue }
                for index in 0..<Int(matches.gl_pathc) {
                    if let path = matches.gl_pathv[index] { found.append(String(cString: path)) }
                }
            }
            return found
        }
        let grouped = !groups().isEmpty
        #expect(grouped || geteuid() != 0, "root's step runs in a cgroup of its own")
        kill(supervisor, SIGKILL)
        process.waitUntilExit()
        for _ in 0..<200 where !sleepers().isEmpty { usleep(25_000) }
        #expect(sleepers().isEmpty, "the step died with its supervisor")
        let next = try Harness.cli(["run", "--", "/bin/true"])
        #expect(next.status == 0, "\(next.stderr)")
        if grouped { #expect(groups().isEmpty, "the next run removed the step group the killed one left") }
    }

    @Test(.enabled(if: available, "needs the built sandbox executable"))
    func aCopyLeftByAKilledRunIsRemovedByTheNext() throws {
        let parent = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let policies = try Self.policies(in: parent)
        let (process, copy) = try Self.startWaiting(policies, try Self.tree("waits", in: parent))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(FileManager.default.fileExists(atPath: "/tmp/\(copy)"), "SIGKILL leaves it")
        let next = try Harness.cli(["verify", "--policy-dir", policies.path, try Self.tree("quick", in: parent).path])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/\(copy)"), "the next run removed it")
    }
}
