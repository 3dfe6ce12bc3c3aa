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
