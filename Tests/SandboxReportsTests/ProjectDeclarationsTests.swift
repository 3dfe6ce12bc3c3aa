import SandboxPolicy
import Testing

/// What a project's CI and configuration files say it runs. The inputs follow the
/// shapes of real projects' files (spf13/pflag's golangci-lint v2 configuration,
/// hashicorp/golang-lru's workflow, bluss/scopeguard's feature matrix, a Travis
/// configuration like julienschmidt/httprouter's).
struct ProjectDeclarationsTests {
    static func read(_ files: [String: String], present: [String] = []) -> ProjectDeclarations {
        ProjectDeclarations.read(
            files: files.sorted { $0.key < $1.key }.map { ($0.key, Array($0.value.utf8)) }, present: present)
    }

    @Test func workflowCommandsNameTheToolsTheyRun() {
        let workflow = """
            name: ci
            on: [push]
            jobs:
              lint:
                runs-on: ubuntu-latest
                steps:
                  - uses: actions/checkout@v4
                  - name: format
                    run: test -z "$(gofmt -l .)"
                  - run: |
                      # go vet ./... is not run here
                      GOFLAGS=-mod=mod go vet ./... && echo done
                  - uses: golangci/golangci-lint-action@v6
              rust:
                runs-on: ubuntu-latest
                steps:
                  - run: cargo +nightly fmt --all -- --check
                  - run: sudo cargo clippy --workspace -- -D warnings

            """
        let declarations = Self.read([".github/workflows/ci.yml": workflow])
        #expect(
            declarations.described == [
                "gofmt: .github/workflows/ci.yml:9: gofmt -l .",
                "go-vet: .github/workflows/ci.yml:10: go vet ./...",
                "golangci-lint: .github/workflows/ci.yml:13: uses: golangci/golangci-lint-action",
                "rustfmt: .github/workflows/ci.yml:17: cargo +nightly fmt --all -- --check",
                "clippy: .github/workflows/ci.yml:18: cargo clippy --workspace -- -D warnings",
            ])
    }

    @Test func wordsThatOnlyMentionAToolRunNothing() {
        #expect(ProjectDeclarations.tools(inCommandLine: "echo gofmt; go test ./... # then go vet").isEmpty)
        #expect(ProjectDeclarations.tools(inCommandLine: "cargo test --features fmt").isEmpty)
        #expect(ProjectDeclarations.tools(inCommandLine: "'gofmt' -l .").map(\.0) == [.gofmt])
        #expect(ProjectDeclarations.tools(inCommandLine: "diff <(gofmt -d .) /dev/null").map(\.0) == [.gofmt])
    }

    @Test func travisPhasesAndItsMatrixCount() {
        let travis = """
            language: go
            script:
              - go vet ./...
            jobs:
              include:
                - script: gofmt -d -s .

            """
        #expect(
            Self.read([".travis.yml": travis]).described == [
                "gofmt: .travis.yml:6: gofmt -d -s .", "go-vet: .travis.yml:3: go vet ./...",
            ])
    }

    /// golangci-lint's configuration declares the linter; a formatter it enables
    /// (version 2's formatters, version 1's linters) declares gofmt.
    @Test func golangciConfigurationDeclaresItsFormatters() {
        let version2 = "version: \"2\"\nformatters:\n  enable:\n    - gofmt\nlinters:\n  enable: [revive]\n"
        #expect(
            Self.read([".golangci.yaml": version2]).described == [
                "gofmt: .golangci.yaml:4: formatters enable: gofmt",
                "golangci-lint: .golangci.yaml: golangci-lint's configuration",
            ])
        let version1 = "linters:\n  enable:\n    - errcheck\n"
        #expect(!Self.read([".golangci.yml": version1]).uses(.gofmt))
        #expect(Self.read([".golangci.yml": version1]).uses(.golangciLint))
    }

    @Test func configurationFilesDeclareTheirToolsByBeingThere() {
        let declarations = Self.read([:], present: ["clippy.toml", ".rustfmt.toml"])
        #expect(declarations.uses(.clippy) && declarations.uses(.rustfmt) && !declarations.uses(.gofmt))
    }

    /// Feature selections pass as checked words only; a name that is not one
    /// drops the whole selection.
    @Test func cargoFeatureSelectionsOfTheCI() {
        let workflow = """
            jobs:
              test:
                steps:
                  - run: cargo build && cargo test --no-default-features
                  - run: cargo test --features "alloc std" -F=x
                  - run: cargo test --features 'std,serde/derive'
                  - run: cargo test --features "$(cat /etc/passwd)"
                  - run: cargo test --no-default-features

            """
        let declarations = Self.read([".github/workflows/test.yml": workflow])
        #expect(declarations.cargoFeatureSets == ["--no-default-features", "--features=std,serde/derive"])
    }

    /// A CI whose every `swift test` has a filter runs those tests only; one run
    /// without (or with a pattern that is not a plain name) runs them all. Test
    /// discovery is the CI's choice too.
    @Test func swiftTestFiltersOfTheCI() {
        let filtered = """
            jobs:
              linux:
                steps:
                  - run: swift build -v && swift test -v --filter CodableCSVTests --enable-test-discovery
              macos:
                steps:
                  - run: swift test --filter=CodableCSVTests
            """
        #expect(Self.read([".github/workflows/t.yml": filtered]).swiftTestFilters == ["CodableCSVTests"])
        #expect(Self.read([".github/workflows/t.yml": filtered]).swiftTestDiscovery)
        let mixed = filtered + "\n  all:\n    steps:\n      - run: swift test\n"
        #expect(Self.read([".github/workflows/t.yml": mixed]).swiftTestFilters == [])
        #expect(
            !Self.read([".github/workflows/t.yml": "jobs:\n  a:\n    steps:\n      - run: swift test\n"])
                .swiftTestDiscovery)
        #expect(ProjectDeclarations.filters(ofSwiftTest: ["--filter", ".*Slow"]) == [])
        #expect(ProjectDeclarations.filters(ofSwiftTest: ["--filter", "--help"]) == [])
    }

    /// Not YAML, not UTF-8, or too large: the file declares nothing.
    @Test func unreadableFilesDeclareNothing() {
        let large = "jobs:\n  a:\n    steps:\n      - run: gofmt -l .\n" + String(repeating: "#", count: 600_000)
        #expect(
            Self.read([".github/workflows/a.yml": "jobs: [unclosed", ".github/workflows/b.yml": large]).facts.isEmpty)
        let invalid = ProjectDeclarations.read(files: [(".travis.yml", [0xff, 0xfe, 0x00])], present: [])
        #expect(invalid.facts.isEmpty)
    }

    /// Aliases cannot make the walk unbounded: a billion-laughs document is read
    /// within the node budget, quickly, and declares what it can.
    @Test func aliasesDoNotMultiplyTheWalk() {
        var lines = ["a0: &a0 [\"gofmt -l .\"]"]
        for level in 1..<30 {
            lines.append("a\(level): &a\(level) [*a\(level - 1), *a\(level - 1), *a\(level - 1), *a\(level - 1)]")
        }
        lines.append("script: *a29")
        let declarations = Self.read([".travis.yml": lines.joined(separator: "\n") + "\n"])
        #expect(declarations.described == ["gofmt: .travis.yml:1: gofmt -l ."])
    }

    /// A step the project has no use for is not run, and says why; a step left
    /// out where another tool reports the same names it.
    @Test func stepsFollowWhatTheProjectUses() {
        var format = StepPolicy(name: "format", kind: .format, run: ["gofmt", "-l", "."])
        format.ifProjectUses = [.gofmt]
        var build = StepPolicy(name: "build", kind: .build, run: ["cargo", "check"])
        build.unlessProjectUses = [.clippy]
        let none = ProjectDeclarations()
        #expect(
            format.skipReason(none)
                == "the project does not use gofmt: neither its CI nor its configuration runs it")
        #expect(build.skipReason(none) == nil)
        let clippy = Self.read([:], present: ["clippy.toml"])
        #expect(build.skipReason(clippy) == "the project uses clippy (clippy.toml), whose step reports this")
        #expect(format.skipReason(Self.read([:], present: ["clippy.toml"])) != nil)
    }
}

/// What a Python project's CI runs: its pytest, pylint and mypy commands, read
/// through allowlists of their options. The inputs follow real projects' files
/// (jquast/wcwidth's and tkem/cachetools' tox.ini, pytoolz/toolz's workflow).
struct PythonCommandsTests {
    static func read(_ files: [String: String]) -> ProjectDeclarations {
        ProjectDeclarationsTests.read(files)
    }

    @Test func toxCommandsAreReadAsToxRunsThem() {
        let tox = """
            [tox]
            envlist = pylint, py{38, 39}

            [testenv]
            deps = -r requirements-tests39.txt
            setenv = TERM=
                     THREADING_TESTS = 1
                     PYTHONPATH = {toxinidir}
            commands = {envpython} -m pytest --cov-config={toxinidir}/tox.ini {posargs:\\
                         --verbose \\
                         --junit-xml=.tox/results.{envname}.xml \\
                         } \\
                      --log-format='%(levelname)s %(message)s' \\
                      tests

            [testenv:pylint]
            deps = pylint
            commands = pylint --rcfile={toxinidir}/.pylintrc \\
                       --ignore=tests,docs,conf.py \\
                       {posargs:{toxinidir}}/wcwidth
            ; a comment
            [testenv:pylint_tests]
            commands = pylint --rcfile={toxinidir}/.pylintrc \\
                       --disable=protected-access,unused-argument \\
                       --load-plugins=tests.plugin \\
                       tests

            [testenv:mypy]
            commands =
                unit: mypy --strict --cache-dir=/tmp/x wcwidth
                {[testenv:pylint]commands}

            [testenv:benchmark]
            commands = pytest {posargs:testing/benchmark.py}

            """
        let declarations = Self.read(["tox.ini": tox])
        #expect(declarations.uses(.pylint) && declarations.uses(.mypy) && declarations.uses(.pytest))
        #expect(
            declarations.runs(of: .pylint) == [
                ["--rcfile=.pylintrc", "--ignore=tests,docs,conf.py", "--", "wcwidth"],
                ["--rcfile=.pylintrc", "--disable=protected-access,unused-argument", "--", "tests"],
            ])
        #expect(declarations.runs(of: .mypy) == [["--strict", "--", "wcwidth"]])
        #expect(declarations.pytestArguments == ["--", "tests"])
        // PYTHONPATH would reach the trusted tools as well as the tests: left out.
        #expect(declarations.pytestEnvironment == ["TERM=", "THREADING_TESTS=1"])
        #expect(declarations.readsCommands)
        #expect(
            declarations.described.contains(
                "pylint: tox.ini:18: pylint --rcfile=.pylintrc --ignore=tests,docs,conf.py ./wcwidth"))
    }

    @Test func theTestRunUnderCoverageIsTheOneMeasured() {
        let workflow = """
            jobs:
              test:
                env:
                  COV_CORE_SOURCE: everything
                  _PYTHON_SYSCONFIGDATA_NAME: planted
                  PY_IGNORE_IMPORTMISMATCH: "1"
                  OPENSSL_CONF: /workspace/x.cnf
                  BASH_ENV: /workspace/x.sh
                  LEVEL: "2"
                steps:
                  - run: pip install -e .
                  - run: |
                      pytest bench/
                      coverage run -m pytest --doctest-modules --ignore benchmark --doctest-glob="README.md" toolz/
                    env:
                      FAST: yes

            """
        let declarations = Self.read([".github/workflows/test.yml": workflow])
        #expect(
            declarations.pytestArguments == [
                "--doctest-modules", "--ignore=benchmark", "--doctest-glob=README.md", "--", "toolz/",
            ])
        #expect(declarations.pytestEnvironment == ["FAST=yes", "LEVEL=2"])
    }

    @Test func whatTheCIInstallsBesidesTheProject() {
        let workflow = """
            jobs:
              test:
                steps:
                  - run: python -m pip install --upgrade pip setuptools wheel
                  - run: |
                      pip install pytest pytest-cov numpy pandas "wcwidth>=0.6.0" "coverage[toml]" -e .[tests]
                      pip install -r requirements/test.txt --index-url https://example.invalid/simple evil
                      pip install ./local git+https://example.invalid/x.git "name @ https://x" "six; python_version<'3'"
                      pip install pytest==7.0 Coverage_X dist.whl pkg.tar.gz
                      pip install -r ../outside.txt --requirement=docs/requirements.txt
                      echo pip install not-this

            """
        let declarations = Self.read([".github/workflows/ci.yml": workflow])
        #expect(
            declarations.ciRequirements == [
                "setuptools", "wheel", "pytest-cov", "numpy", "pandas", "wcwidth>=0.6.0", "evil", "Coverage_X",
            ], "the tools the policy pins, archives and paths are left out")
        #expect(declarations.ciRequirementFiles == ["requirements/test.txt", "docs/requirements.txt"])
    }

    @Test func optionsOutsideTheAllowlistKeepTheirPlaceButNotTheirEffect() {
        func arguments(_ line: String) -> [String] {
            Self.read([".github/workflows/ci.yml": "jobs:\n  t:\n    steps:\n      - run: \(line)\n"]).pytestArguments
        }
        // Options with a value of their own take it with them.
        #expect(
            arguments("python -m pytest -n 4 -k 'not slow' -p xdist --junitxml out.xml -rfsxX tests") == [
                "--", "tests",
            ])
        #expect(arguments("pytest --cov tabulate --cov-report=xml tests") == ["--", "tests"])
        // An option this does not know may take a value: no path after it is trusted.
        #expect(arguments("pytest --doctest-modules --frobnicate tests") == ["--doctest-modules"])
        // Paths that leave the tree, or are not plain words, choose nothing.
        #expect(arguments("pytest ../outside tests") == [])
        #expect(arguments("pytest /etc tests") == [])
        #expect(
            arguments("pytest --ignore=../x --doctest-glob=*.rst tests/unit") == [
                "--doctest-glob=*.rst", "--", "tests/unit",
            ])
        // A benchmark environment's pytest is not the test run; an unreadable one is nothing.
        let benchmark =
            "[testenv]\ncommands = {env:CMD:pytest} {posargs}\n[testenv:benchmark]\ncommands = pytest bench.py\n"
        #expect(Self.read(["tox.ini": benchmark]).pytestArguments == [])
        // tox.ini speaks for the CI where the CI runs tox, or runs nothing readable.
        let legacy = "[testenv:coverage]\ncommands = py.test --doctest-glob=README.rst --cov schema\n"
        let pytest = "jobs:\n  t:\n    steps:\n      - run: pytest\n"
        let direct = Self.read([".github/workflows/ci.yml": pytest, "tox.ini": legacy])
        #expect(direct.pytestArguments == [] && direct.facts.allSatisfy { !$0.source.hasPrefix("tox.ini") })
        let tox = "jobs:\n  t:\n    steps:\n      - run: python -m tox -e coverage\n"
        #expect(
            Self.read([".github/workflows/ci.yml": tox, "tox.ini": legacy]).pytestArguments == [
                "--doctest-glob=README.rst"
            ])
        #expect(Self.read(["tox.ini": legacy]).pytestArguments == ["--doctest-glob=README.rst"])
        // A .travis.yml beside workflows that run commands is what the project ran before.
        let travis = "script: tox -e coverage\n"
        #expect(
            Self.read([".github/workflows/ci.yml": pytest, ".travis.yml": travis, "tox.ini": legacy]).pytestArguments
                == [])
        #expect(Self.read([".travis.yml": travis, "tox.ini": legacy]).pytestArguments == ["--doctest-glob=README.rst"])
        // Defaults nested beyond reason are unreadable, not a deep recursion.
        let nested = String(repeating: "{posargs:", count: 20_000) + "tests" + String(repeating: "}", count: 20_000)
        #expect(Self.read(["tox.ini": "[testenv]\ncommands = pytest " + nested + "\n"]).pytestArguments == [])
        // A command that only mentions pytest runs nothing.
        #expect(arguments("echo pytest --doctest-modules") == [])
        #expect(
            !Self.read([".github/workflows/ci.yml": "jobs:\n  t:\n    steps:\n      - run: echo pytest\n"]).uses(
                .pytest))
    }
}
