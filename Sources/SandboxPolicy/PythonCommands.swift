import Yams

/// The Python tools a project's CI runs, as it runs them: each pytest, pylint
/// and mypy command, with the options that change what the tool judges (pytest's
/// doctests and ignored paths, mypy's strictness, pylint's disabled checks) and
/// the paths it names. Every option passes through its tool's allowlist: one
/// outside it is dropped, and where it may have taken a value, no path after it
/// is trusted. What comes out are words of letters, digits and a few
/// punctuation marks, options in their `--name=value` form and paths after `--`.
extension ProjectDeclarations {
    struct ToolRun: Sendable, Equatable {
        var tool: ProjectTool
        /// Options, then `--` and the paths, when there are any.
        var arguments: [String]
        /// Whether the command measures coverage (`coverage run`, `--cov`).
        var coverage: Bool
        /// `NAME=VALUE`, checked; for pytest's run only.
        var environment: [String]
        /// The command as read.
        var text: String
        /// Whether tox.ini says so.
        var fromTox = false
    }

    /// The arguments of each of the CI's commands that run `tool`, in the order read.
    public func runs(of tool: ProjectTool) -> [[String]] {
        toolRuns.filter { $0.tool == tool }.map(\.arguments)
    }

    /// The pytest run the CI measures coverage with, else its first.
    var measuredTestRun: ToolRun? {
        let tests = toolRuns.filter { $0.tool == .pytest }
        return tests.first(where: \.coverage) ?? tests.first
    }

    /// That run's arguments (SANDBOX_PYTEST_ARGUMENTS).
    public var pytestArguments: [String] { measuredTestRun?.arguments ?? [] }
    /// The environment that run sets (SANDBOX_PYTEST_ENVIRONMENT), sorted.
    public var pytestEnvironment: [String] { measuredTestRun?.environment ?? [] }

    /// What the CI's `pip install` commands install besides the project itself
    /// (SANDBOX_CI_REQUIREMENTS): requirements that name a package of the index,
    /// with extras and version bounds, and the requirement files they name in the
    /// tree (SANDBOX_CI_REQUIREMENT_FILES). No option, path, URL or marker passes;
    /// pip itself is left as the policy pins it.
    static func pipInstall(_ command: [String]) -> (requirements: [String], files: [String])? {
        guard let index = invoked(command, among: ["pip", "pip3"]), command.dropFirst(index + 1).first == "install"
        else { return nil }
        var requirements: [String] = []
        var files: [String] = []
        var rest = command[(index + 2)...]
        let withValue: Set<String> = [
            "-e", "--editable", "-c", "--constraint", "-i", "--index-url", "--extra-index-url", "-f", "--find-links",
            "--only-binary", "--no-binary", "--group", "-t", "--target", "--prefix", "--root", "--python-version",
            "--platform", "--config-settings", "-C", "--progress-bar", "--log", "--cache-dir", "--src",
        ]
        while let word = rest.popFirst() {
            if word == "-r" || word == "--requirement" {
                if let path = rest.popFirst().flatMap(OptionGrammar.treePath) { files.append(path) }
            } else if word.hasPrefix("--requirement=") {
                if let path = OptionGrammar.treePath(String(word.dropFirst("--requirement=".count))) {
                    files.append(path)
                }
            } else if word.hasPrefix("-r"), word.count > 2 {
                if let path = OptionGrammar.treePath(String(word.dropFirst(2))) { files.append(path) }
            } else if withValue.contains(word) {
                _ = rest.popFirst()
            } else if !word.hasPrefix("-"), isRequirement(word) {
                requirements.append(word)
            }
        }
        return (requirements, files)
    }

    /// The tools the Python policy pins (its own versions, or the project's pre-commit
    /// pins): a CI's `pip install pytest==7` must not replace them.
    static let pinnedTools: Set<String> = ["pip", "pytest", "coverage", "ruff", "black", "flake8", "mypy", "pylint"]

    /// `name`, `name[extra,other]`, `name>=1.2,<2`: a package of the index, never
    /// a path (an archive's name: `x.whl`, `x.tar.gz`), URL, marker or option; and
    /// not a tool the policy pins.
    static func isRequirement(_ word: String) -> Bool {
        let name = word.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
        let archives = [".whl", ".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".egg"]
        guard let first = name.first, first.isLetter || first.isNumber,
            !pinnedTools.contains(String(name.lowercased().map { $0 == "_" ? "-" : $0 })),
            !archives.contains(where: { name.lowercased().hasSuffix($0) })
        else { return false }
        var rest = word.dropFirst(name.count)
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]"),
                rest[rest.index(after: rest.startIndex)..<close].allSatisfy({
                    $0.isASCII && ($0.isLetter || $0.isNumber || "._,-".contains($0))
                })
            else { return false }
            rest = rest[rest.index(after: close)...]
        }
        guard let operator0 = rest.first else { return true }
        return "<>=!~".contains(operator0)
            && rest.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "<>=!~.,*+".contains($0)) }
    }

    /// The tool one command runs, behind the words that may come first
    /// (`python -m`, `coverage run … -m`, `poetry run`, variable assignments).
    static func pythonRun(_ command: [String], environment: [String: String]) -> ToolRun? {
        guard let index = invoked(command, among: Set(OptionGrammar.tools.keys)) else { return nil }
        let name = command[index].split(separator: "/").last.map(String.init) ?? command[index]
        guard let (tool, grammar) = OptionGrammar.tools[name] else { return nil }
        let before = command[..<index]
        let after = command[(index + 1)...]
        let coverage = before.contains("coverage") || after.contains { $0.hasPrefix("--cov") && $0 != "--no-cov" }
        let checked = tool == .pytest ? environment.map { "\($0.key)=\($0.value)" }.sorted() : []
        return ToolRun(
            tool: tool, arguments: grammar.read(after), coverage: coverage, environment: checked,
            text: command[index...].joined(separator: " "))
    }

    /// Where in a command one of `names` is what runs: its first word, or after
    /// the words that may come first (`python -m`, `coverage run … -m`, `poetry
    /// run`, `pipx run`, variable assignments); nil where it is only mentioned.
    static func invoked(_ command: [String], among names: Set<String>) -> Int? {
        let leading: Set<String> = [
            "sudo", "time", "env", "exec", "!", "coverage", "run", "poetry", "pdm", "uv", "uvx", "pipx", "pipenv",
            "hatch", "xvfb-run",
        ]
        for (index, word) in command.enumerated() {
            let name = word.split(separator: "/").last.map(String.init) ?? word
            if names.contains(name) { return index }
            let python = name.hasPrefix("python") && isWord(name, alsoAllowing: ".")
            guard leading.contains(name) || python || word.hasPrefix("-") || word.contains("=") else { return nil }
        }
        return nil
    }

    /// The variables of a workflow's `env` mapping that reach the tests: names
    /// of capitals, digits and `_` that no trusted tool reads (`PYTHON*`,
    /// `PYTEST*`, `COV*`, `LD_*` and the like are left out), and values without
    /// blanks or substitutions.
    static func environment(_ node: Node?) -> [String: String] {
        var checked: [String: String] = [:]
        for (key, value) in node?.mapping ?? [:] {
            if let name = key.string, let value = value.scalar?.string, reachesTheTests(name, value) {
                checked[name] = value
            }
        }
        return checked
    }

    /// Prefixes of the variables left out: what Python and its tools read (`PY*`,
    /// `_PYTHON_SYSCONFIGDATA_NAME`, `COV*`, `PIP_*`), the dynamic loader and libc,
    /// OpenSSL, the shells, and the sandbox's own.
    static let trustedVariablePrefixes = [
        "PY", "_", "COV", "PIP_", "UV_", "LD_", "SANDBOX", "VIRTUAL_ENV", "PATH", "HOME", "TMP", "TEMP", "GCONV",
        "LOCPATH", "NLSPATH", "MALLOC", "GLIBC", "HOSTALIASES", "RES_OPTIONS", "LOCALDOMAIN", "TZDIR", "NODE", "SSL_",
        "OPENSSL", "CURL_", "REQUESTS_", "HTTP", "HTTPS", "NO_PROXY", "ALL_PROXY", "FTP_PROXY", "BASH", "ENV", "SHELL",
        "IFS", "PS4", "CDPATH",
    ]

    static func reachesTheTests(_ name: String, _ value: String) -> Bool {
        let capitals = name.utf8.allSatisfy { ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5f }
        return capitals && name.first.map { !$0.isNumber } == true
            && !trustedVariablePrefixes.contains(where: name.hasPrefix) && isPlain(value, alsoAllowing: "-_./:,=+@%")
    }
}

/// The options of one tool that are read, with their values; those that are
/// known and dropped, with a value or without; anything else is unknown.
struct OptionGrammar {
    enum Value {
        /// A path in the tree: no `..`, not absolute.
        case path
        /// A glob of file names.
        case glob
        /// Names, `,` between them (checks, modules).
        case names
    }

    /// Read options, by every spelling, with their long name and value kind
    /// (nil for a flag).
    var kept: [String: (name: String, value: Value?)]
    /// Dropped options that take a value, and those that may (`--cov [SOURCE]`).
    var withValue: Set<String>
    var optionalValue: Set<String> = []
    /// Dropped flags; short ones also in groups (`-vv`, `-qx`).
    var flags: Set<String>

    static let tools: [String: (ProjectTool, OptionGrammar)] = [
        "pytest": (.pytest, pytest), "py.test": (.pytest, pytest), "pylint": (.pylint, pylint), "mypy": (.mypy, mypy),
    ]

    static let pytest = OptionGrammar(
        kept: [
            "--doctest-modules": ("--doctest-modules", nil), "--doctest-glob": ("--doctest-glob", .glob),
            "--ignore": ("--ignore", .path), "--ignore-glob": ("--ignore-glob", .glob),
            "--doctest-continue-on-failure": ("--doctest-continue-on-failure", nil),
            "--strict-markers": ("--strict-markers", nil), "--import-mode": ("--import-mode", .names),
        ],
        withValue: [
            "-c", "--rootdir", "--basetemp", "--junitxml", "--junit-xml", "--junit-prefix", "--durations",
            "--durations-min", "--log-format", "--log-date-format", "--log-level", "--log-file", "--log-cli-level",
            "--tb", "--maxfail", "-n", "--numprocesses", "--dist", "--timeout", "-W", "-o", "--override-ini",
            "--color", "-r", "-p", "--confcutdir", "--cov-report", "--cov-config", "--cov-fail-under", "-m", "-k",
            "--deselect", "--capture", "--cov-context", "--reruns", "--count", "--html", "--benchmark-columns",
        ],
        optionalValue: ["--cov"],
        flags: [
            "-v", "-q", "-s", "-x", "-l", "--verbose", "--quiet", "--showlocals", "--exitfirst", "--no-header",
            "--lf", "--ff", "--nf", "--sw", "--cov-branch", "--cov-append", "--no-cov", "--strict", "--runxfail",
            "--disable-warnings", "--benchmark-skip", "--benchmark-disable", "--doctest-ignore-import-errors",
            "--no-cov-on-fail", "--forked",
        ])

    static let pylint = OptionGrammar(
        kept: [
            "--rcfile": ("--rcfile", .path), "--ignore": ("--ignore", .names), "--disable": ("--disable", .names),
            "-d": ("--disable", .names), "--enable": ("--enable", .names), "-e": ("--enable", .names),
            "--recursive": ("--recursive", .names),
        ],
        withValue: [
            "-j", "--jobs", "--output-format", "-f", "--reports", "-r", "--score", "-s", "--msg-template",
            "--fail-under", "--fail-on", "--load-plugins", "--init-hook", "--ignore-patterns", "--ignore-paths",
            "--output", "--py-version", "--extension-pkg-allow-list", "--extension-pkg-whitelist",
        ],
        flags: ["--exit-zero", "-v", "--verbose"])

    static let mypy = OptionGrammar(
        kept: Dictionary(
            uniqueKeysWithValues: [
                "--strict", "--warn-unused-ignores", "--warn-redundant-casts", "--warn-return-any",
                "--ignore-missing-imports", "--check-untyped-defs", "--disallow-untyped-defs",
                "--disallow-incomplete-defs", "--no-implicit-optional", "--strict-optional", "--no-strict-optional",
                "--warn-unreachable", "--explicit-package-bases", "--namespace-packages", "--scripts-are-modules",
                "--allow-redefinition", "--strict-equality", "--disallow-any-generics", "--no-implicit-reexport",
                "--disallow-untyped-calls", "--warn-unused-configs",
            ].map { ($0, (name: $0, value: OptionGrammar.Value?.none)) }
        ).merging([
            "--config-file": ("--config-file", .path), "-p": ("--package", .names),
            "--package": ("--package", .names), "-m": ("--module", .names), "--module": ("--module", .names),
            "--python-version": ("--python-version", .names),
        ]) { $1 },
        withValue: [
            "--cache-dir", "--junit-xml", "--html-report", "--txt-report", "--linecount-report", "--exclude",
            "--custom-typeshed-dir", "--python-executable", "--always-true", "--always-false", "--shadow-file",
        ],
        flags: [
            "--install-types", "--non-interactive", "--pretty", "--no-error-summary", "--show-column-numbers",
            "--no-color-output", "--color-output", "--show-error-codes", "--hide-error-codes", "--show-traceback",
            "--show-error-context", "--no-incremental", "-v", "--verbose", "--show-absolute-path", "--error-summary",
        ])

    /// The kept options of a tool's words, each `--name` or `--name=value`,
    /// then `--` and the paths, when every word was understood.
    func read(_ words: ArraySlice<String>) -> [String] {
        var options: [String] = []
        var paths: [String] = []
        var pathsTrusted = true
        var rest = words
        while let word = rest.popFirst() {
            if word == "--" {
                for path in rest {
                    if let path = Self.treePath(path) { paths.append(path) } else { pathsTrusted = false }
                }
                break
            }
            guard word.hasPrefix("-"), word.count > 1 else {
                if let path = Self.treePath(word) { paths.append(path) } else { pathsTrusted = false }
                continue
            }
            let long = word.hasPrefix("--")
            let name = long ? String(word.prefix { $0 != "=" }) : String(word.prefix(2))
            let attached: String? =
                long
                ? (name.count < word.count ? String(word.dropFirst(name.count + 1)) : nil)
                : (word.count > 2 ? String(word.dropFirst(2)) : nil)
            if let (spelled, kind) = kept[name], attached == nil || kind != nil {
                guard let kind else {
                    options.append(spelled)
                    continue
                }
                guard let value = attached ?? rest.popFirst() else { break }
                if let value = Self.checked(value, kind) { options.append(spelled + "=" + value) }
            } else if withValue.contains(name) {
                if attached == nil { _ = rest.popFirst() }
            } else if optionalValue.contains(name) {
                if attached == nil, let next = rest.first, !next.hasPrefix("-") { _ = rest.popFirst() }
            } else if flags.contains(word) || !long && word.dropFirst().allSatisfy({ flags.contains("-\($0)") }) {
                continue
            } else {
                pathsTrusted = false
            }
        }
        return options + (pathsTrusted && !paths.isEmpty ? ["--"] + paths : [])
    }

    /// A path inside the tree, without a leading `./`; nil for anything else.
    static func treePath(_ word: String) -> String? {
        var path = Substring(word)
        while path.hasPrefix("./") { path = path.dropFirst(2) }
        if path.isEmpty { path = "." }
        guard ProjectDeclarations.isWord(String(path), alsoAllowing: "-_./"), !path.hasPrefix("/"),
            !path.split(separator: "/").contains("..")
        else { return nil }
        return String(path)
    }

    /// The value as passed on, or nil where it is not of its kind.
    static func checked(_ value: String, _ kind: Value) -> String? {
        switch kind {
        case .path: treePath(value)
        case .glob: ProjectDeclarations.isWord(value, alsoAllowing: "-_.*?/") ? value : nil
        case .names: ProjectDeclarations.isWord(value, alsoAllowing: "-_.,") ? value : nil
        }
    }
}

/// tox's configuration, as tox reads it: INI sections, values continued on
/// indented lines, commands continued by a trailing `\`, factor conditions
/// (`unit: pytest`), and substitutions (`{toxinidir}`, `{posargs:DEFAULT}`).
/// A substitution this does not know makes its word unreadable.
extension ProjectDeclarations.Walk {
    mutating func tox(_ text: String) {
        let sections = ToxINI.sections(text)
        let base = ToxINI.setenv(sections.first { $0.name == "testenv" })
        for section in sections where section.name == "testenv" || section.name.hasPrefix("testenv:") {
            environment = base.merging(ToxINI.setenv(section)) { $1 }
            let runs = toolRuns.count
            for (line, value) in section.values where value.key == "commands" {
                readsCommands = true
                for (offset, command) in ToxINI.commandLines(value.text) {
                    for words in ProjectDeclarations.commands(command) {
                        read(words, at: "\(file):\(line + offset)")
                    }
                }
            }
            // The tests are those of the default environment and of the ones named
            // for an interpreter or for testing (py311, tests, unit-cov); a
            // benchmark's or a docs build's pytest is not the test run.
            if !ToxINI.runsTheTests(section.name) {
                toolRuns[runs...].removeAll { $0.tool == .pytest }
            }
        }
    }
}

enum ToxINI {
    struct Section {
        var name: String
        /// Each key's first line and its value's text, continuation lines joined by newlines.
        var values: [(line: Int, value: (key: String, text: String))]
    }

    /// A byte that no word may hold: what an unknown substitution becomes.
    static let unreadable = "\u{1}"

    static func sections(_ text: String) -> [Section] {
        var sections: [Section] = []
        var current: Section?
        var open = false
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            if line.first == " " || line.first == "\t" || line.isEmpty {
                // In place: a copy of the section per line would make a long value quadratic.
                if open, current?.values.isEmpty == false {
                    current!.values[current!.values.count - 1].value.text += "\n" + trimmed
                }
                continue
            }
            if line.hasPrefix("[") {
                if let section = current { sections.append(section) }
                current = Section(name: String(line.dropFirst().prefix { $0 != "]" }), values: [])
                open = false
                continue
            }
            guard current != nil, let delimiter = line.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                open = false
                continue
            }
            let key = line[..<delimiter].trimmingBlanks
            current!.values.append(
                (number + 1, (String(key), String(line[line.index(after: delimiter)...].trimmingBlanks))))
            open = true
        }
        if let section = current { sections.append(section) }
        return sections
    }

    static func runsTheTests(_ section: String) -> Bool {
        guard section.hasPrefix("testenv:") else { return section == "testenv" }
        return section.dropFirst("testenv:".count).split(whereSeparator: { $0 == "-" || $0 == "_" }).contains {
            $0.hasPrefix("py") || ["test", "tests", "unit", "coverage", "cov"].contains($0)
        }
    }

    /// A `setenv` value's variables that reach the tests.
    static func setenv(_ section: Section?) -> [String: String] {
        var variables: [String: String] = [:]
        for (_, value) in section?.values ?? [] where value.key == "setenv" {
            for line in value.text.split(separator: "\n") {
                guard let equals = line.firstIndex(of: "=") else { continue }
                let name = String(line[..<equals].trimmingBlanks)
                let text = substituted(String(line[line.index(after: equals)...].trimmingBlanks))
                if ProjectDeclarations.reachesTheTests(name, text) { variables[name] = text }
            }
        }
        return variables
    }

    /// The commands of a `commands` value, each with its line's offset from the
    /// key's: lines joined where one ends in `\`, factor conditions taken off,
    /// substitutions made.
    static func commandLines(_ text: String) -> [(Int, String)] {
        var commands: [(Int, String)] = []
        var pending: (Int, String)?
        for (offset, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = String(line)
            let continued = line.hasSuffix("\\")
            if continued { line.removeLast() }
            if pending == nil { pending = (offset, "") }
            pending!.1 += line + " "
            if !continued, let (start, command) = pending {
                commands.append((start, substituted(withoutFactors(command))))
                pending = nil
            }
        }
        if let (start, command) = pending { commands.append((start, substituted(withoutFactors(command)))) }
        return commands.filter { !$0.1.allSatisfy { $0 == " " } }
    }

    /// `py39,unit: pytest` → `pytest`.
    static func withoutFactors(_ line: String) -> String {
        let trimmed = line.drop { $0 == " " }
        let head = trimmed.prefix { $0 != " " }
        guard head.count > 1, head.hasSuffix(":"), !head.hasPrefix("{"),
            ProjectDeclarations.isWord(String(head.dropLast()), alsoAllowing: "-_,!.{}")
        else { return line }
        return String(trimmed.dropFirst(head.count))
    }

    /// How deep `{posargs:{posargs:…}}` defaults are read; deeper is unreadable.
    static let maximumNesting = 8

    /// tox's substitutions: the tree's root, the default of the positional
    /// arguments, the environment's python and scripts; any other is unreadable.
    static func substituted(_ text: String, depth: Int = 0) -> String {
        guard depth < maximumNesting else { return unreadable }
        var result = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            result += rest[..<open]
            var level = 0
            var close: Substring.Index?
            for index in rest[open...].indices {
                if rest[index] == "{" { level += 1 }
                if rest[index] == "}" {
                    level -= 1
                    if level == 0 {
                        close = index
                        break
                    }
                }
            }
            guard let close else {
                result += unreadable
                return result
            }
            let inside = String(rest[rest.index(after: open)..<close])
            var after = rest.index(after: close)
            switch inside {
            case "toxinidir":
                // The tree's root: `{toxinidir}/x` is the tree's `x`.
                if after < rest.endIndex, rest[after] == "/" {
                    after = rest.index(after: after)
                } else {
                    result += "."
                }
            case "posargs": break
            case "envpython": result += "python"
            case "envbindir": result += "bin"
            case "/": result += "/"
            case ":": result += ":"
            default:
                if inside.hasPrefix("posargs:") {
                    result += substituted(String(inside.dropFirst("posargs:".count)), depth: depth + 1)
                } else {
                    result += unreadable
                }
            }
            rest = rest[after...]
        }
        return result + rest
    }
}

extension Substring {
    var trimmingBlanks: Substring {
        let start = drop { $0 == " " || $0 == "\t" }
        guard let last = start.lastIndex(where: { $0 != " " && $0 != "\t" }) else { return start[start.endIndex...] }
        return start[...last]
    }
}
