import Foundation
import SandboxModel
import SandboxVerdict
import Testing

@testable import SandboxPolicy

@Suite struct PolicyTests {
    static let policyDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("policies")

    static func shipped() throws -> [(name: String, text: String)] {
        try FileManager.default.contentsOfDirectory(atPath: policyDirectory.path).filter { $0.hasSuffix(".yaml") }.map {
            ($0, try String(contentsOf: policyDirectory.appendingPathComponent($0), encoding: .utf8))
        }
    }

    @Test func shippedPoliciesAreValid() throws {
        let (set, errors) = PolicySet.load(try Self.shipped())
        #expect(errors.isEmpty, "\(errors)")
        #expect(Set(set.languages.map(\.language)) == ["python", "node", "go", "swift", "rust", "csharp"])
        #expect(set.defaults.limits.memory == .gibibytes(2))
        #expect(set.defaults.gates.first { $0.metric == .lineCoverage }?.threshold == 80)
    }

    @Test func onlyInstallStepsHaveNetwork() throws {
        let (set, _) = PolicySet.load(try Self.shipped())
        for policy in set.languages {
            for step in policy.steps where step.network == .host {
                #expect(step.kind == .install, "\(policy.language)/\(step.name)")
            }
        }
    }

    @Test func detectionByRootEntries() throws {
        let (set, _) = PolicySet.load(try Self.shipped())
        #expect(set.detect(rootEntries: ["go.mod", "main.go"]).map(\.language) == ["go"])
        #expect(set.detect(rootEntries: ["App.sln", "src"]).map(\.language) == ["csharp"])
        #expect(
            Set(set.detect(rootEntries: ["pyproject.toml", "package.json"]).map(\.language)) == ["python", "node"])
        #expect(set.detect(rootEntries: ["README.md"]).isEmpty)
    }

    @Test(
        arguments: [
            (
                "language: x\ndetect: [a]\nimage: i\nsteps:\n  - name: t\n    kind: tset\n    run: [t]\n",
                "x.yaml:6:11: 'tset' is not a step kind; expected one of: install, build, test, lint, format, coverage"
            ),
            (
                "language: x\ndetect: [a]\nimage: i\nstep: []\n",
                "x.yaml:4:1: unknown key 'step' in a language policy (did you mean steps?); expected one of: language, detect, image, environment, steps, gates, copy-exclude, judged-by"
            ),
            (
                "language: x\ndetect: [a]\nimage: i\nsteps:\n  - name: t\n    kind: test\n    network: host\n    run: [t]\n",
                "x.yaml:7:14: step 't' is a test step; only install steps may have network"
            ),
            (
                "language: x\ndetect: [a]\nimage: i\nsteps:\n  - name: t\n    kind: test\n    run: t --all\n",
                "x.yaml:7:10: run must be a list"
            ),
            (
                "language: x\ndetect: [a]\nimage: i\nsteps:\n  - name: t\n    kind: test\n    run: [t]\n    limits: {memory: 2X}\n",
                "x.yaml:8:22: memory: '2X' has an unknown unit 'X'; use K, M, G or T"
            ),
            (
                "language: x\ndetect: [a]\nimage: i\nsteps:\n  - name: t\n    kind: test\n    run: [t]\ngates:\n  line-coverage: 80\n",
                "x.yaml:9:18: a gate reads like \">= 80\" or \"<= 0\""
            ),
            (
                "language: x\ndetect: [a]\nimage: i\nsteps:\n  - name: t\n    kind: test\n    run: [t]\n    reports:\n      - path: ../x\n        format: junit\n",
                "x.yaml:9:15: a report path is absolute, inside the sandbox, without '..'"
            ),
            (
                "language: x\ndetect: [a]\nimage: i\nsteps:\n  - name: t\n    kind: test\n    run: [t]\n    reports:\n      - stream: stdout\n        format: junit\n        include: [src/]\n",
                "x.yaml:11:18: 'include' applies to coverage reports only"
            ),
            (
                "language: x\ndetect: [a]\nimage: i\nsteps:\n  - name: t\n    kind: test\n    run: [t]\n    reports:\n      - stream: stdout\n        format: junit\n        exclude: [test/]\n",
                "x.yaml:11:18: 'exclude' applies to coverage reports only"
            ),
            ("language: [x\n", nil),
        ] as [(String, String?)])
    func errorsPointAtTheLine(text: String, message: String?) {
        do {
            _ = try PolicyParser.language(text, file: "x.yaml")
            Issue.record("accepted")
        } catch {
            if let message {
                #expect(error.description == message)
            } else {
                #expect(error.description.hasPrefix("x.yaml: not valid YAML"))
            }
        }
    }

    @Test func aStepMayContinueOnError() throws {
        let text = """
            language: x
            detect: [a]
            image: i
            steps:
              - name: install
                kind: install
                continue-on-error: true
                run: [pip, install, -e, .]
              - name: test
                kind: test
                run: [pytest]

            """
        let policy = try PolicyParser.language(text, file: "x.yaml")
        #expect(policy.steps.map(\.continueOnError) == [true, false])
        let bad = text.replacingOccurrences(of: "continue-on-error: true", with: "continue-on-error: sometimes")
        #expect(throws: PolicyError.self) { try PolicyParser.language(bad, file: "x.yaml") }
        do {
            _ = try PolicyParser.language(bad, file: "x.yaml")
        } catch {
            #expect(error.description == "x.yaml:7:24: continue-on-error is true or false")
        }
    }

    @Test func repositoryMayOnlyTighten() throws {
        let (set, _) = PolicySet.load(try Self.shipped())
        let python = try #require(set.language("python"))
        let override = try PolicyParser.repositoryOverride(
            Array(
                "gates:\n  line-coverage: \">= 90\"\n  test-failures: \"<= 3\"\nlimits:\n  memory: 1G\n  timeout: 2h\n"
                    .utf8),
            file: ".sandbox.yaml")
        let effective = EffectivePolicy.resolve(python, defaults: set.defaults, repository: override)
        #expect(effective.gates.first { $0.metric == .lineCoverage }?.threshold == 90)
        #expect(effective.gates.first { $0.metric == .testFailures }?.threshold == 0)
        #expect(effective.limits["test"]?.memory == .gibibytes(1))
        #expect(effective.limits["test"]?.timeout == .minutes(15))
        #expect(effective.limits["install"]?.timeout == .minutes(10), "the policy's own lower limit stays")
        #expect(
            effective.refused == [
                // One line for the limit, its steps in the policy's order.
                "repository asked for a higher timeout limit for tools, lint, format, black, flake8, mypy-environment, "
                    + "requirements, test-dependencies, translations, install, typecheck, pylint, test: refused",
                "repository asked for test-failures <= 3, looser than <= 0: refused",
            ])
    }

    /// Several languages in one tree: each metric's strictest threshold, and a gate
    /// that blocks in one language still blocks when another only informs.
    @Test func gatesAcrossLanguagesAreTheStrictest() {
        let python = [
            GateDefinition(.lineCoverage, .atLeast, 80), GateDefinition(.lintErrors, .atMost, 0, blocking: false),
        ]
        let node = [
            GateDefinition(.lineCoverage, .atLeast, 90, blocking: false), GateDefinition(.lintErrors, .atMost, 5),
            GateDefinition(.testsRan, .atLeast, 1),
        ]
        let merged = python.strictest(with: node)
        #expect(
            merged == [
                GateDefinition(.lineCoverage, .atLeast, 90), GateDefinition(.lintErrors, .atMost, 0),
                GateDefinition(.testsRan, .atLeast, 1),
            ])
    }

    @Test func aLayerReplacesGatesOfItsMetricsAndAddsOthers() {
        let base = [GateDefinition(.lineCoverage, .atLeast, 80), GateDefinition(.lintErrors, .atMost, 0)]
        let layer = [
            GateDefinition(.lineCoverage, .atLeast, 60, blocking: false), GateDefinition(.testsRan, .atLeast, 3),
        ]
        #expect(
            base.overridden(by: layer) == [
                GateDefinition(.lineCoverage, .atLeast, 60, blocking: false), GateDefinition(.lintErrors, .atMost, 0),
                GateDefinition(.testsRan, .atLeast, 3),
            ])
    }

    @Test func repositoryCannotAddSteps() {
        #expect(throws: PolicyError.self) {
            try PolicyParser.repositoryOverride(Array("steps:\n  - run: [curl, evil]\n".utf8), file: ".sandbox.yaml")
        }
        #expect(throws: PolicyError(file: ".sandbox.yaml", reason: "larger than 64 KiB")) {
            try PolicyParser.repositoryOverride([UInt8](repeating: 0x20, count: 70_000), file: ".sandbox.yaml")
        }
    }

    @Test func showPrintsTheEffectivePolicy() throws {
        let (set, _) = PolicySet.load(try Self.shipped())
        let text = EffectivePolicy.resolve(try #require(set.language("go")), defaults: set.defaults).text
        #expect(text.contains("language: go\n"))
        #expect(text.contains("  GOPROXY: off\n"))
        #expect(text.contains("  line-coverage: \">= 80\"\n"))
        #expect(text.contains("    if-project-uses: [gofmt]\n"))
        let declared = ProjectDeclarations(facts: [.init(tool: .goVet, source: "ci.yml:3", evidence: "go vet ./...")])
        let shown = EffectivePolicy.resolve(try #require(set.language("go")), defaults: set.defaults).text(
            for: declared)
        #expect(shown.contains("    not run for this tree: the project does not use gofmt"))
        #expect(shown.hasSuffix("project declares:\n  go-vet: ci.yml:3: go vet ./...\n"))
        let node = EffectivePolicy.resolve(try #require(set.language("node")), defaults: set.defaults).text
        #expect(
            node.contains("(lcov) exclude [test/, tests/, __tests__/, coverage/, tap-snapshots/, *.spec.js,"),
            "which files count is part of the policy")
    }

    /// Each argument is a JSON string, so a script's own quotes survive: the
    /// printed argv is the argv that runs.
    @Test func showQuotesArgumentsAsJSONStrings() throws {
        let (set, _) = PolicySet.load(try Self.shipped())
        let text = EffectivePolicy.resolve(try #require(set.language("swift")), defaults: set.defaults).text
        let line = try #require(text.split(separator: "\n").first { $0.contains("swift test") })
        let json = String(line.drop { $0 != "[" })
        let argv = try JSONDecoder().decode([String].self, from: Data(json.utf8))
        #expect(argv.count == 3 && argv[2].contains("dir=$(dirname \"$json\")"), "\(argv)")
    }

    /// Coverage tools list test files too; `exclude` drops them by directory or by name.
    @Test func coverageExcludesTestFilesByDirectoryOrName() throws {
        let text = """
            language: x
            detect: [a]
            image: i
            steps:
              - name: t
                kind: test
                run: [t]
                reports:
                  - path: /workspace/lcov.info
                    format: lcov
                    exclude: [test/, "*.test.js", "test-*.mjs"]

            """
        let policy = try PolicyParser.language(text, file: "x.yaml")
        let spec = try #require(policy.steps.first?.reports.first)
        #expect(spec.counts("lib/math.js"))
        #expect(spec.counts("contest/x.js"), "a directory pattern matches whole names only")
        #expect(spec.counts("lib/test.js"))
        #expect(!spec.counts("test/math.js"))
        #expect(!spec.counts("pkg/test/deep/math.js"))
        #expect(!spec.counts("lib/math.test.js"))
        #expect(!spec.counts("math.test.js"))
        #expect(!spec.counts("lib/test-util.mjs"))
        #expect(spec.counts("lib/test-util.js"))

        #expect(!spec.counts(String(repeating: "a", count: 5000) + ".js"), "no real path is that long")

        let both = ReportSpec(source: .stdout, format: .lcov, include: ["src/"], exclude: ["*_test.go"])
        #expect(both.counts("src/a.go"))
        #expect(!both.counts("src/a_test.go"))
        #expect(!both.counts("vendor/a.go"))
    }

    /// An install step may see host paths that only some machines have (a package
    /// mirror, the host's git configuration), read-only; the image's mounts are for all.
    @Test func aStepMayMountHostPathsWhenPresent() throws {
        let text = """
            language: x
            detect: [a]
            image: i
            steps:
              - name: fetch
                kind: install
                network: host
                run: [fetch]
                mounts-if-present: [/opt/mirror, "/etc/gitconfig:/opt/host/gitconfig"]

            """
        let step = try #require(try PolicyParser.language(text, file: "x.yaml").steps.first)
        #expect(
            step.mountsIfPresent == [
                BindMount(source: "/opt/mirror", destination: "/opt/mirror"),
                BindMount(source: "/etc/gitconfig", destination: "/opt/host/gitconfig"),
            ])
        let reserved = text.replacingOccurrences(of: "/opt/host/gitconfig", with: "/etc/gitconfig")
        #expect(
            throws: PolicyError(
                file: "x.yaml", line: 9, column: 38,
                reason:
                    "--ro-bind: '/etc/gitconfig' is laid out by the sandbox itself; choose a destination outside /etc")
        ) {
            try PolicyParser.language(reserved, file: "x.yaml")
        }
    }

    /// Build output at the tree's root (Swift's .build, Rust's target) is not copied:
    /// the steps build their own, and a developer's can be gigabytes.
    @Test func copyExcludeNamesTopLevelEntriesOnly() throws {
        let base = "language: x\ndetect: [a]\nimage: i\nsteps:\n  - name: t\n    kind: test\n    run: [t]\n"
        let policy = try PolicyParser.language(base + "copy-exclude: [.build, target]\n", file: "x.yaml")
        #expect(policy.copyExclude == [".build", "target"])
        #expect(
            throws: PolicyError(
                file: "x.yaml", line: 8, column: 16,
                reason: "copy-exclude names entries at the tree's root: 'a/b' is a path")
        ) {
            try PolicyParser.language(base + "copy-exclude: [a/b]\n", file: "x.yaml")
        }
        #expect(throws: PolicyError.self) { try PolicyParser.language(base + "copy-exclude: [..]\n", file: "x.yaml") }
        let (set, _) = PolicySet.load(try Self.shipped())
        #expect(try #require(set.language("swift")).copyExclude == [".build"])
        #expect(try #require(set.language("rust")).copyExclude == ["target"])
    }

    /// An image hands untrusted code toolchains only: never a home directory, what
    /// lies under one (registry tokens, keys), or a credentials file, wherever it is.
    @Test(arguments: [
        "/root", "/root/.cargo", "/root/.cargo:/opt/rust/cargo", "/home/ci", "/home/ci/.rustup", "/home/ci/src/tools",
        "/home", "/", "/etc/ssh", "/opt/tools/.ssh", "/srv/ci/.docker/config.json", "/opt/cred/.netrc",
        "/root/.rustup/toolchains/../../.cargo",
    ])
    func anImageMountsNoHomeOrCredentials(mount: String) throws {
        let text = "image: x\nhost-toolchains: [\"\(mount)\"]\n"
        #expect(throws: PolicyError.self) { try PolicyParser.image(text, file: "x.yaml") }
    }

    /// rustup's toolchain directories hold binaries and libraries only, and are
    /// where rustup installs them; the rest of its home (settings, downloads) is not.
    @Test func anImageMayMountARustupToolchain() throws {
        let text =
            "image: x\nhost-toolchains: [\"/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu:/opt/rust\"]\n"
        #expect(try PolicyParser.image(text, file: "x.yaml").mounts.count == 1)
        #expect(throws: PolicyError.self) {
            try PolicyParser.image("image: x\nhost-toolchains: [/root/.rustup/toolchains]\n", file: "x.yaml")
        }
    }

    /// An image built from Debian and PyPI: its base, packages and pins are read,
    /// and each mistake is refused at its line.
    @Test func anImageRecipeIsReadAndChecked() throws {
        let text = """
            image: py
            base:
              suite: bookworm
              variant: apt
              mirrors: ["deb http://deb.debian.org/debian bookworm main"]
            apt: [python3, python3-venv, libc6-dev=2.36-9]
            pypi: [pytest==8.3.4, ruff==0.6.9]
            """
        let image = try PolicyParser.image(text, file: "py.yaml")
        let recipe = try #require(image.recipe)
        #expect(recipe.suite == "bookworm")
        #expect(recipe.mirrors == ["deb http://deb.debian.org/debian bookworm main"])
        #expect(recipe.apt == ["python3", "python3-venv", "libc6-dev=2.36-9"])
        #expect(recipe.pypi == ["pytest==8.3.4", "ruff==0.6.9"])
        #expect(try PolicyParser.image("image: host\nrequires: [/usr/bin/python3]\n", file: "h.yaml").recipe == nil)

        let base =
            "image: py\nbase:\n  suite: bookworm\n  mirrors: [\"deb http://deb.debian.org/debian bookworm main\"]\n"
        let refused: [(String, Int, String)] = [
            (base + "pypi: [pytest]\n", 5, "pinned as NAME==VERSION"),
            (base + "pypi: [pytest>=8]\n", 5, "pinned"),
            (base + "apt: [--allow-unauthenticated]\n", 5, "Debian package name"),
            (base + "apt: [\"python3;rm\"]\n", 5, "Debian package name"),
            (
                "image: py\nbase:\n  suite: bookworm\n  mirrors: [\"deb file:/etc bookworm main\"]\n", 4,
                "apt source line"
            ),
            ("image: py\nbase:\n  suite: bookworm\n  variant: huge\n  mirrors: []\n", 4, "variants"),
            ("image: py\nbase:\n  suite: bookworm\n", 3, "needs 'mirrors'"),
            ("image: py\napt: [python3]\n", 1, "need a 'base'"),
            ("image: Py/../x\n", 1, "not an image name"),
            ("image: py\nbase:\n  suite: bookworm\n  keyring: /etc/shadow\n  mirrors: []\n", 4, "/usr/share/keyrings"),
        ]
        for (text, line, words) in refused {
            let error = #expect(throws: PolicyError.self) { try PolicyParser.image(text, file: "py.yaml") }
            #expect(error?.line == line, "\(text)")
            #expect(error?.reason.contains(words) == true, "\(error?.reason ?? "") for \(text)")
        }
    }

    /// A step's optional mounts are held to the same rule as an image's.
    @Test func aStepMountsNoHomeIfPresentEither() {
        let text =
            "language: x\ndetect: [a]\nimage: i\nsteps:\n  - name: t\n    kind: install\n    mounts-if-present: [/root/.ssh]\n    run: [t]\n"
        #expect(throws: PolicyError.self) { try PolicyParser.language(text, file: "x.yaml") }
    }

    @Test func theBundledImagesMountNoHome() throws {
        let directory = Self.policyDirectory.deletingLastPathComponent().appendingPathComponent("images")
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name.hasSuffix(".yaml") {
            let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            #expect(throws: Never.self) { try PolicyParser.image(text, file: name) }
        }
    }

    /// Coverage counts what ships: Rust's tests, examples and benches do not count
    /// (as cargo-llvm-cov counts), nor Node's test folders and spec files.
    @Test func testCodeDoesNotCountTowardCoverage() throws {
        let (set, _) = PolicySet.load(try Self.shipped())
        func coverageSpec(_ language: String) throws -> ReportSpec {
            let steps = try #require(set.language(language)).steps
            return try #require(steps.flatMap(\.reports).first { $0.format.isCoverage })
        }
        let rust = try coverageSpec("rust")
        for path in [
            "tests/support/mod.rs", "tests/no_std.rs", "examples/demo.rs", "benches/b.rs",
        ] {
            #expect(!rust.counts(path), "\(path)")
        }
        // cargo-llvm-cov leaves out those directories only: a module of unit tests counts.
        for path in ["src/lib.rs", "src/tests.rs", "src/parse_tests.rs"] { #expect(rust.counts(path), "\(path)") }
        let node = try coverageSpec("node")
        for path in ["tests/a.js", "src/__tests__/a.js", "lib/a.spec.js", "test/a.js"] {
            #expect(!node.counts(path), "\(path)")
        }
        #expect(node.counts("lib/index.js"))
    }
}
