import Yams

/// A tool a project can declare that it runs: its CI invokes it, or a
/// configuration file of the tool's own is at the tree's root. A policy step
/// names these in `if-project-uses` / `unless-project-uses`.
public enum ProjectTool: String, Sendable, CaseIterable, Comparable {
    case gofmt
    case goVet = "go-vet"
    case golangciLint = "golangci-lint"
    case rustfmt
    case clippy
    case pytest
    case pylint
    case mypy

    public static func < (left: ProjectTool, right: ProjectTool) -> Bool {
        allCases.firstIndex(of: left)! < allCases.firstIndex(of: right)!
    }
}

/// What a project declares about the tools it runs, each fact with where it
/// came from ("`.github/workflows/ci.yml:23`: `gofmt -l .`"). Read from the
/// tree's CI configuration (GitHub workflows, `.travis.yml`, tox's commands),
/// golangci-lint's configuration, and the tools' own configuration files. Pure: the caller reads
/// the files (bounded, links refused) and hands over their bytes; nothing here
/// runs or follows anything.
public struct ProjectDeclarations: Sendable, Equatable {
    public struct Fact: Sendable, Equatable {
        public var tool: ProjectTool
        /// "file:line", or the file alone.
        public var source: String
        /// What there says so: the command, the linter, the file.
        public var evidence: String

        public init(tool: ProjectTool, source: String, evidence: String) {
            self.tool = tool
            self.source = source
            self.evidence = evidence
        }
    }

    public var facts: [Fact] = []
    /// The cargo feature selections the project's CI builds with, other than the
    /// default ("--no-default-features", "--features=std"): flags and feature
    /// names only, each checked to be one (`[A-Za-z0-9_-]`, `/` and `,` between).
    public var cargoFeatureSets: [String] = []
    /// The `--filter`s of the CI's `swift test`, where every `swift test` it runs
    /// has one (a benchmark target left out, say); empty when any runs them all.
    /// Each a test name pattern of letters, digits and `_ . / -` only.
    public var swiftTestFilters: [String] {
        swiftTestRuns.contains { $0.filters.isEmpty }
            ? [] : Array(Set(swiftTestRuns.flatMap(\.filters))).sorted()
    }
    /// Whether the CI's `swift test` discovers the tests (`--enable-test-discovery`),
    /// where a LinuxMain.swift would otherwise list them.
    public var swiftTestDiscovery: Bool { swiftTestRuns.contains(where: \.discovery) }
    /// Each `swift test` of the CI: its filters, and whether it discovers the tests.
    var swiftTestRuns: [SwiftTestRun] = []
    /// Each pytest, pylint and mypy command of the CI, its options as read
    /// through the tool's allowlist (`PythonCommands.swift`).
    var toolRuns: [ToolRun] = []
    /// Whether any command of the CI was read (a workflow's `run`, a Travis
    /// phase, a tox environment's commands): where none was, the CI runs its
    /// tools in a way this does not read, and what is not named there is not
    /// known to be unused.
    public var readsCommands = false
    /// What the CI's `pip install` commands install besides the project (checked
    /// requirements), and the requirement files they name.
    public var ciRequirements: [String] = []
    public var ciRequirementFiles: [String] = []

    struct SwiftTestRun: Sendable, Equatable {
        var filters: [String]
        var discovery: Bool
    }

    public init(facts: [Fact] = [], cargoFeatureSets: [String] = []) {
        self.facts = facts
        self.cargoFeatureSets = cargoFeatureSets
    }

    public func uses(_ tool: ProjectTool) -> Bool { facts.contains { $0.tool == tool } }

    /// One line per fact, tools in order: for `policy show --repository`, and for
    /// a step's skip reason.
    public var described: [String] {
        facts.sorted { ($0.tool, $0.source) < ($1.tool, $1.source) }.map {
            "\($0.tool.rawValue): \($0.source): \($0.evidence)"
        } + cargoFeatureSets.map { "cargo features built by its CI: \($0)" }
            + swiftTestFilters.map { "swift test filter of its CI: \($0)" }
            + (swiftTestDiscovery ? ["swift test of its CI discovers the tests (--enable-test-discovery)"] : [])
            + (pytestArguments.isEmpty ? [] : ["pytest arguments of its CI: " + pytestArguments.joined(separator: " ")])
            + (pytestEnvironment.isEmpty
                ? [] : ["pytest environment of its CI: " + pytestEnvironment.joined(separator: " ")])
            + (ciRequirements.isEmpty ? [] : ["pip installs of its CI: " + ciRequirements.joined(separator: " ")])
            + (ciRequirementFiles.isEmpty
                ? [] : ["requirement files of its CI: " + ciRequirementFiles.joined(separator: " ")])
    }

    /// The files read, relative to the tree: GitHub workflows are every
    /// `*.yml`/`*.yaml` in this directory.
    public static let workflowDirectory = ".github/workflows"
    public static let configurationFiles = [".travis.yml", ".golangci.yml", ".golangci.yaml", "tox.ini"]
    /// Files whose presence alone declares a tool.
    public static let markerFiles: [String: ProjectTool] = [
        "rustfmt.toml": .rustfmt, ".rustfmt.toml": .rustfmt, "clippy.toml": .clippy, ".clippy.toml": .clippy,
    ]
    /// The most bytes read of any one file, and the most workflow files read.
    public static let maximumFileBytes = 512 * 1024
    public static let maximumWorkflows = 64
    /// YAML nodes visited per file: aliases cannot make a walk unbounded.
    static let nodeBudget = 50_000

    /// Reads the files given (path relative to the tree, and bytes); a file that
    /// is not valid YAML declares nothing.
    public static func read(files: [(path: String, bytes: [UInt8])], present markers: [String]) -> ProjectDeclarations {
        var declarations = ProjectDeclarations()
        var runsOtherCommands = false
        var invokesTox = false
        for marker in markers.sorted() {
            if let tool = markerFiles[marker] {
                declarations.facts.append(Fact(tool: tool, source: marker, evidence: "present"))
            }
        }
        // Workflows first: where GitHub's workflows run commands, a .travis.yml
        // beside them is what the project ran before (Travis stopped building open
        // source in 2021), and is not read.
        let workflows = files.filter { $0.path.hasPrefix(workflowDirectory + "/") }
        var workflowCommands = false
        for (path, bytes) in workflows + files.filter({ !$0.path.hasPrefix(workflowDirectory + "/") }) {
            guard bytes.count <= maximumFileBytes, let text = String(validating: bytes, as: UTF8.self) else { continue }
            if path == ".travis.yml" && workflowCommands { continue }
            var walk = Walk(file: path, budget: nodeBudget)
            if path == "tox.ini" {
                walk.tox(text)
            } else if let root = try? Yams.compose(yaml: text) {
                walk.yaml(root)
            }
            declarations.facts += walk.facts
            declarations.cargoFeatureSets.appendNew(walk.cargoFeatureSets)
            declarations.swiftTestRuns += walk.swiftTestRuns
            declarations.toolRuns += walk.toolRuns
            declarations.ciRequirements.appendNew(walk.ciRequirements)
            declarations.ciRequirementFiles.appendNew(walk.ciRequirementFiles)
            declarations.readsCommands = declarations.readsCommands || walk.readsCommands
            if path.hasPrefix(workflowDirectory + "/") { workflowCommands = workflowCommands || walk.readsCommands }
            if path != "tox.ini" {
                runsOtherCommands = runsOtherCommands || walk.readsCommands
                invokesTox = invokesTox || walk.invokesTox
            }
        }
        // tox.ini says what CI runs only where the CI runs tox, or where it has
        // no other commands to read: a workflow that runs pytest itself beside a
        // tox.ini of old environments runs pytest as the workflow says.
        if runsOtherCommands && !invokesTox {
            declarations.facts.removeAll { $0.source == "tox.ini" || $0.source.hasPrefix("tox.ini:") }
            declarations.toolRuns.removeAll(where: \.fromTox)
        }
        return declarations
    }

    /// Whether `text` is a word that can be nothing but a value: ASCII letters,
    /// digits and the characters in `extra`, and no leading `-` to make it an option.
    static func isWord(_ text: String, alsoAllowing extra: String) -> Bool {
        !text.isEmpty && !text.hasPrefix("-") && isPlain(text, alsoAllowing: extra)
    }

    /// Whether `text` holds ASCII letters, digits and the characters in `extra` only.
    static func isPlain(_ text: String, alsoAllowing extra: String) -> Bool {
        let allowed = Set(extra.utf8)
        return text.utf8.allSatisfy { byte in
            allowed.contains(byte) || (byte >= 0x30 && byte <= 0x39) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7a)
        }
    }

    /// The `--filter` patterns of `swift test`'s words (after `test`); one that is
    /// not a plain test name (a regular expression, an option) leaves the run
    /// counted as running every test.
    public static func filters(ofSwiftTest words: [String]) -> [String] {
        var filters: [String] = []
        var index = 0
        func plain(_ text: String) -> Bool { !text.hasPrefix(".") && isWord(text, alsoAllowing: "-_./") }
        while index < words.count {
            let word = words[index]
            var value: String?
            if word == "--filter", index + 1 < words.count {
                value = words[index + 1]
                index += 1
            } else if word.hasPrefix("--filter=") {
                value = String(word.dropFirst("--filter=".count))
            }
            if let value {
                guard plain(value) else { return [] }
                filters.append(value)
            }
            index += 1
        }
        return filters
    }

    /// The feature selection of a cargo command's words (after `cargo`), if it
    /// makes one other than the default and every feature name is one.
    static func cargoFeatureSet(_ words: [String]) -> String? {
        var flags: [String] = []
        var index = 0
        func name(_ text: String) -> Bool { isWord(text, alsoAllowing: "-_/,") }
        while index < words.count {
            let word = words[index]
            if word == "--" { break }
            if word == "--no-default-features" || word == "--all-features" {
                flags.append(word)
            } else if word == "--features" || word == "-F" {
                guard index + 1 < words.count, name(words[index + 1]) else { return nil }
                flags.append("--features=" + words[index + 1])
                index += 1
            } else if word.hasPrefix("--features=") {
                let value = String(word.dropFirst("--features=".count))
                guard name(value) else { return nil }
                flags.append(word)
            }
            index += 1
        }
        return flags.isEmpty ? nil : flags.joined(separator: " ")
    }

    /// The tools a shell command line runs: the first word of each command,
    /// after variable assignments and wrappers, with `go` and `cargo`'s
    /// subcommands. Read as words only; nothing is expanded.
    public static func tools(inCommandLine line: String) -> [(ProjectTool, String)] {
        commands(line).compactMap(tool)
    }

    /// The tool one command (its words) runs, and the command as read.
    static func tool(_ command: [String]) -> (ProjectTool, String)? {
        var words = command[...]
        while let first = words.first,
            first.contains("=") && !first.hasPrefix("-")
                || ["sudo", "time", "env", "exec", "xargs", "!"].contains(first)
        {
            words = words.dropFirst()
        }
        guard let first = words.first else { return nil }
        let name = first.split(separator: "/").last.map(String.init) ?? first
        let rest = Array(words.dropFirst())
        // `cargo +nightly fmt`: a toolchain before the subcommand.
        let subcommand = rest.first { !$0.hasPrefix("+") && !$0.hasPrefix("-") }
        let text = words.joined(separator: " ")
        switch (name, subcommand) {
        case ("gofmt", _), ("goimports", _), ("gofumpt", _), ("go", "fmt"): return (.gofmt, text)
        case ("go", "vet"): return (.goVet, text)
        case ("golangci-lint", _): return (.golangciLint, text)
        case ("rustfmt", _), ("cargo", "fmt"), ("cargo-fmt", _): return (.rustfmt, text)
        case ("cargo", "clippy"), ("cargo-clippy", _), ("clippy-driver", _): return (.clippy, text)
        default: return nil
        }
    }

    /// Commands of a shell text: split at newlines, `;`, `&&`, `||`, `|`, and
    /// the openings of subshells and command substitutions; words at blanks, with
    /// quotes grouping (and removed). Comments are left out.
    static func commands(_ text: String) -> [[String]] {
        var commands: [[String]] = [[]]
        var word: String?
        var quote: Character?
        func endWord() {
            if let finished = word { commands[commands.count - 1].append(finished) }
            word = nil
        }
        func endCommand() {
            endWord()
            if !commands[commands.count - 1].isEmpty { commands.append([]) }
        }
        var characters = text.makeIterator()
        var comment = false
        while let character = characters.next() {
            if comment {
                if character == "\n" {
                    comment = false
                    endCommand()
                }
                continue
            }
            if let open = quote {
                if character == open {
                    quote = nil
                } else if "$`".contains(character) {
                    // A substitution inside quotes runs a command too: read on as
                    // unquoted (for this purpose, naming commands, it is).
                    endCommand()
                    quote = nil
                } else {
                    word = (word ?? "") + String(character)
                }
                continue
            }
            switch character {
            case "'", "\"":
                quote = character
                word = word ?? ""
            case "#" where word == nil:
                comment = true
            case " ", "\t", "\r":
                endWord()
            case "\n", ";", "&", "|", "(", ")", "`", "{", "}":
                endCommand()
            case "$":
                endCommand()
            default:
                word = (word ?? "") + String(character)
            }
        }
        endCommand()
        return commands.filter { !$0.isEmpty }
    }

    /// A walk over one file's YAML, within its budget of nodes.
    struct Walk {
        let file: String
        var budget: Int
        var facts: [Fact] = []
        var cargoFeatureSets: [String] = []
        var swiftTestRuns: [SwiftTestRun] = []
        var toolRuns: [ToolRun] = []
        var readsCommands = false
        var invokesTox = false
        var ciRequirements: [String] = []
        var ciRequirementFiles: [String] = []
        /// The environment the commands being read run with (a workflow's,
        /// job's and step's `env`, a tox environment's `setenv`), checked.
        var environment: [String: String] = [:]

        /// One YAML file, by its path: a workflow, Travis's, golangci-lint's.
        mutating func yaml(_ root: Node) {
            if file.hasPrefix(ProjectDeclarations.workflowDirectory + "/") {
                workflow(root)
            } else if file == ".travis.yml" {
                travis(root)
            } else {
                golangci(root)
            }
        }

        mutating func visit() -> Bool {
            budget -= 1
            return budget >= 0
        }

        /// A fact once per tool and place: an alias repeats its node's place.
        mutating func record(_ fact: Fact) {
            guard !facts.contains(where: { $0.tool == fact.tool && $0.source == fact.source }) else { return }
            facts.append(fact)
        }

        func location(of node: Node) -> String {
            node.mark.map { "\(file):\($0.line)" } ?? file
        }

        mutating func commandText(_ node: Node) {
            guard visit() else { return }
            switch node {
            case .scalar(let scalar):
                readsCommands = true
                for command in ProjectDeclarations.commands(scalar.string) { read(command, at: location(of: node)) }
            case .sequence(let items):
                for item in items { commandText(item) }
            default: return
            }
        }

        /// What one command says: the tool it runs, cargo's feature selection, and
        /// swift test's filters and test discovery.
        mutating func read(_ command: [String], at place: String) {
            if let (tool, text) = ProjectDeclarations.tool(command) {
                record(Fact(tool: tool, source: place, evidence: String(text.prefix(120))))
            }
            if var run = ProjectDeclarations.pythonRun(command, environment: environment) {
                record(Fact(tool: run.tool, source: place, evidence: String(run.text.prefix(120))))
                run.fromTox = file == "tox.ini"
                toolRuns.append(run)
            }
            if ProjectDeclarations.invoked(command, among: ["tox"]) != nil { invokesTox = true }
            if file != "tox.ini", let (requirements, files) = ProjectDeclarations.pipInstall(command) {
                ciRequirements.appendNew(requirements)
                ciRequirementFiles.appendNew(files)
            }
            if let at = command.firstIndex(where: { $0 == "cargo" || $0.hasSuffix("/cargo") }),
                let set = ProjectDeclarations.cargoFeatureSet(Array(command[(at + 1)...]))
            {
                cargoFeatureSets.appendNew([set])
            }
            if let at = command.firstIndex(where: { $0 == "swift" || $0.hasSuffix("/swift") }),
                command.dropFirst(at + 1).first == "test"
            {
                let words = Array(command[(at + 2)...])
                swiftTestRuns.append(
                    SwiftTestRun(
                        filters: ProjectDeclarations.filters(ofSwiftTest: words),
                        discovery: words.contains("--enable-test-discovery")))
            }
        }

        /// GitHub Actions: every job's steps, their `run` and the actions they use.
        mutating func workflow(_ root: Node) {
            guard visit(), let jobs = root["jobs"]?.mapping else { return }
            let workflowEnvironment = ProjectDeclarations.environment(root["env"])
            for (_, job) in jobs {
                guard visit(), let steps = job["steps"]?.sequence else { continue }
                let jobEnvironment = workflowEnvironment.merging(ProjectDeclarations.environment(job["env"])) { $1 }
                for step in steps {
                    guard visit() else { return }
                    environment = jobEnvironment.merging(ProjectDeclarations.environment(step["env"])) { $1 }
                    if let run = step["run"] { commandText(run) }
                    if let uses = step["uses"]?.scalar?.string {
                        let action = uses.split(separator: "@").first.map(String.init) ?? uses
                        let tool: ProjectTool? =
                            switch action.lowercased() {
                            case "golangci/golangci-lint-action": .golangciLint
                            case "actions-rs/clippy-check", "auguwu/clippy-action", "giraffate/clippy-action": .clippy
                            case "actions-rust-lang/rustfmt", "mbrobbel/rustfmt-check": .rustfmt
                            default: nil
                            }
                        if let tool {
                            record(Fact(tool: tool, source: location(of: step), evidence: "uses: \(action)"))
                        }
                    }
                }
            }
        }

        /// Travis CI: the phases that run commands, at the top level and in the
        /// jobs of its matrix.
        mutating func travis(_ root: Node) {
            let phases = ["before_install", "install", "before_script", "script", "after_success"]
            var configurations = [root]
            for key in ["jobs", "matrix"] {
                if let include = root[key]?["include"]?.sequence { configurations += include }
            }
            for configuration in configurations {
                for phase in phases {
                    guard visit() else { return }
                    if let commands = configuration[phase] { commandText(commands) }
                }
            }
        }

        /// golangci-lint's configuration: the linter itself, and formatting when it
        /// enables a formatter (version 1's `linters.enable`, version 2's
        /// `formatters.enable`, or every linter).
        mutating func golangci(_ root: Node) {
            guard visit() else { return }
            record(Fact(tool: .golangciLint, source: file, evidence: "golangci-lint's configuration"))
            let formatters: Set<String> = ["gofmt", "gofumpt", "goimports", "gci"]
            for section in ["linters", "formatters"] {
                guard let table = root[section] else { continue }
                if table["enable-all"]?.bool == true || table["default"]?.string == "all" {
                    record(Fact(tool: .gofmt, source: location(of: table), evidence: "\(section): every linter"))
                }
                for item in table["enable"]?.sequence ?? [] {
                    guard visit() else { return }
                    if let name = item.string, formatters.contains(name) {
                        record(Fact(tool: .gofmt, source: location(of: item), evidence: "\(section) enable: \(name)"))
                    }
                }
            }
        }
    }
}

extension Array where Element: Equatable {
    /// Appends the items not already held, in their order: a fact read twice
    /// (an alias, a second workflow) is one fact.
    mutating func appendNew(_ items: some Sequence<Element>) {
        for item in items where !contains(item) { append(item) }
    }
}
