/// What in a tree judges it: the files a trusted policy names as the rules of
/// its tools. Against a base (`verify --ref --base`), the branch is judged by
/// the base's rules: a file that only configures the tools is taken from the
/// base; in a file shared with other purposes (`pyproject.toml`), the parts that
/// judge are compared, and a change to them is shown; a file that runs as code
/// inside a tool (`conftest.py`) cannot be taken from the base, so a change to
/// it is named. Every change blocks through the `judging-changes` gate.
///
/// Paths are relative to the tree's root, `/` between names. A pattern's
/// components match a path's one for one, `*` standing for any characters
/// within a name; a `**` component stands for any number of directories
/// (`**/conftest.py` at any depth).
public struct JudgingFiles: Equatable, Sendable {
    /// Files that only configure the tools that judge (`.coveragerc`, `ruff.toml`,
    /// the CI's workflows): the base's version is used.
    public var configuration: [String] = []
    /// Files with other purposes too, each with the parts of it that judge:
    /// TOML tables or JSON keys (`tool.coverage`, a dotted prefix) and INI sections
    /// (`coverage:*`). The branch's file is used; a change to those parts is shown.
    public var sections: [String: [String]] = [:]
    /// Files that run as code inside a tool that judges: the branch's are used.
    public var code: [String] = []

    public init(configuration: [String] = [], sections: [String: [String]] = [:], code: [String] = []) {
        self.configuration = configuration
        self.sections = sections
        self.code = code
    }

    /// What a file is to the tools that judge.
    public enum Role: Equatable, Sendable {
        case configuration
        /// The parts of the file that judge.
        case sections([String])
        case code
    }

    /// The role of the file at `path`, if it judges: code first, then
    /// configuration, then shared files.
    public func role(of path: String) -> Role? {
        if code.contains(where: { Self.matches($0, path) }) { return .code }
        if configuration.contains(where: { Self.matches($0, path) }) { return .configuration }
        let parts = sections.filter { Self.matches($0.key, path) }.values.flatMap { $0 }
        return parts.isEmpty ? nil : .sections(Array(Set(parts)).sorted())
    }

    /// Whether `path` could be a directory on the way to a file a pattern anchored
    /// at the root names (`.cargo` for `.cargo/config.toml`): a symbolic link
    /// there would lead the tools to files no pattern names.
    public func isOnTheWay(_ path: String) -> Bool {
        let components = path.split(separator: "/")
        return (configuration + code + Array(sections.keys)).contains { pattern in
            let parts = pattern.split(separator: "/")
            guard !parts.contains("**"), components.count < parts.count else { return false }
            return zip(parts, components).allSatisfy { ReportSpec.glob(Array($0.utf8), matches: Array($1.utf8)) }
        }
    }

    /// Both lists together: the organisation's defaults and a language's own.
    public func merged(with other: JudgingFiles) -> JudgingFiles {
        JudgingFiles(
            configuration: configuration + other.configuration.filter { !configuration.contains($0) },
            sections: sections.merging(other.sections) { mine, theirs in mine + theirs.filter { !mine.contains($0) } },
            code: code + other.code.filter { !code.contains($0) })
    }

    /// Whether `pattern` names `path` (see the type's description).
    public static func matches(_ pattern: String, _ path: String) -> Bool {
        matches(pattern.split(separator: "/")[...], path.split(separator: "/")[...])
    }

    private static func matches(_ pattern: ArraySlice<Substring>, _ path: ArraySlice<Substring>) -> Bool {
        guard let first = pattern.first else { return path.isEmpty }
        if first == "**" {
            // Zero or more directories, never the file's own name.
            return path.indices.contains { matches(pattern.dropFirst(), path[$0...]) }
        }
        guard let name = path.first, ReportSpec.glob(Array(first.utf8), matches: Array(name.utf8)) else {
            return false
        }
        return matches(pattern.dropFirst(), path.dropFirst())
    }

    /// Whether a part (`tool.coverage.report`, or an INI section `coverage:run`)
    /// is one that judges: it is `part`, lies under it (`part.` its prefix), or
    /// matches it as a glob (`coverage:*`, `testenv*`).
    public static func judges(_ parts: [String], _ section: String) -> Bool {
        parts.contains { part in
            section == part || section.hasPrefix(part + ".")
                || (part.contains("*") && ReportSpec.glob(Array(part.utf8), matches: Array(section.utf8)))
        }
    }
}
