public import SandboxModel

/// The format of a report a step writes, which says how to read it.
public enum ReportFormat: String, Sendable, CaseIterable {
    case junit, trx, cobertura, lcov
    case goCoverprofile = "go-coverprofile"
    case goTestJSON = "go-test-json"
    /// `cargo test`'s human output.
    case libtest
    /// The Test Anything Protocol (Spectre's, node-tap's).
    case tap
    case coveragePyJSON = "coverage-py-json"
    case llvmCovJSON = "llvm-cov-json"
    case sarif
    case ruffJSON = "ruff-json"
    case pylintJSON = "pylint-json"
    case eslintJSON = "eslint-json"
    case cargoJSON = "cargo-json"
    /// `file:line:col: level: message` text.
    case diagnostics
    /// One path per line: files a formatter would change.
    case unformattedList = "unformatted-list"

    /// Whether the format measures coverage (and so may say which files count).
    public var isCoverage: Bool {
        switch self {
        case .cobertura, .lcov, .goCoverprofile, .coveragePyJSON, .llvmCovJSON: true
        default: false
        }
    }
}

/// A report a step produces: where (inside the sandbox, or the step's standard
/// output) and in what format.
public struct ReportSpec: Equatable, Sendable {
    public enum Source: Equatable, Sendable {
        /// A path inside the sandbox, read from inside it.
        case file(String)
        case stdout
        case stderr
    }

    public var source: Source
    public var format: ReportFormat
    /// For coverage: only files under these paths (relative to the tree) count;
    /// empty means all. Coverage tools list tests and generated code too.
    public var include: [String]
    /// For coverage: files that never count. "dir/" drops every file under a
    /// directory of that name at any depth ("a/b/" under that path from the root);
    /// any other pattern is matched against the file's name, `*` standing for any
    /// characters ("*.test.js").
    public var exclude: [String]

    public init(source: Source, format: ReportFormat, include: [String] = [], exclude: [String] = []) {
        self.source = source
        self.format = format
        self.include = include
        self.exclude = exclude
    }

    /// Whether a covered file (relative to the tree) counts toward coverage. A
    /// path longer than Linux allows (a report's invention) never counts.
    public func counts(_ path: String) -> Bool {
        guard path.utf8.count <= 4096 else { return false }
        if !include.isEmpty, !include.contains(where: { path.hasPrefix($0) }) { return false }
        let components = path.split(separator: "/")
        let name = Array((components.last ?? Substring(path)).utf8)
        return !exclude.contains { pattern in
            if pattern.hasSuffix("/") {
                let directory = pattern.dropLast()
                return path.hasPrefix(pattern) || components.dropLast().contains { $0 == directory }
            }
            return Self.glob(Array(pattern.utf8), matches: name)
        }
    }

    /// `*` matches any run of bytes; everything else matches itself.
    static func glob(_ pattern: [UInt8], matches name: [UInt8]) -> Bool {
        let star8 = UInt8(ascii: "*")
        var p = 0
        var n = 0
        var star: Int?
        var resume = 0
        while n < name.count {
            if p < pattern.count, pattern[p] != star8, pattern[p] == name[n] {
                p += 1
                n += 1
            } else if p < pattern.count, pattern[p] == star8 {
                star = p
                resume = n
                p += 1
            } else if let star {
                p = star + 1
                resume += 1
                n = resume
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == star8 { p += 1 }
        return p == pattern.count
    }
}

/// Limits a policy sets; unset ones come from the layer below.
public struct LimitSettings: Equatable, Sendable {
    public var memory: ByteSize?
    public var pids: UInt64?
    public var cpuTime: TimeSpan?
    public var timeout: TimeSpan?
    public var output: ByteSize?
    public var tmpSize: ByteSize?
    public var fileSize: ByteSize?

    public init() {}

    /// `base` with these settings applied.
    public func applied(to base: ResourceLimits) -> ResourceLimits {
        var limits = base
        if let memory { limits.memory = memory }
        if let pids { limits.pids = pids }
        if let cpuTime { limits.cpuTime = cpuTime }
        if let timeout { limits.timeout = timeout }
        if let output { limits.output = output }
        if let tmpSize { limits.tmpSize = tmpSize }
        if let fileSize { limits.fileSize = fileSize }
        return limits
    }
}

/// One step of a language's pipeline.
public struct StepPolicy: Equatable, Sendable {
    public var name: String
    public var kind: StepKind
    /// The argv; never a shell string.
    public var run: [String]
    public var reports: [ReportSpec]
    public var limits: LimitSettings
    public var network: NetworkMode
    /// Files of which one must exist in the tree for the step to run (an ESLint config, say).
    public var onlyIf: [String]
    /// Host paths this step alone sees, read-only, on hosts that have them (a
    /// package mirror for an install step); absent ones are left out.
    public var mountsIfPresent: [BindMount] = []
    /// A non-zero exit no report explains is a note with the verdict, not a failed
    /// step (an install that may fail while the tests still run on the tree).
    /// Containment incidents still count.
    public var continueOnError = false
    /// The step runs only where the project declares one of these tools (its CI
    /// runs it, or its configuration file is there): a formatter the project does
    /// not use is not measured.
    public var ifProjectUses: [ProjectTool] = []
    /// The step runs only where the project declares none of these (a build for
    /// warnings where clippy, which reports them too, does not run).
    public var unlessProjectUses: [ProjectTool] = []

    /// Why the step does not run for a project that declares `declarations`, if it does not.
    public func skipReason(_ declarations: ProjectDeclarations) -> String? {
        if !ifProjectUses.isEmpty, !ifProjectUses.contains(where: declarations.uses) {
            let names = ifProjectUses.map(\.rawValue).joined(separator: " or ")
            return "the project does not use \(names): neither its CI nor its configuration runs it"
        }
        if let used = unlessProjectUses.first(where: declarations.uses) {
            let source = declarations.facts.first { $0.tool == used }?.source ?? ""
            return "the project uses \(used.rawValue) (\(source)), whose step reports this"
        }
        return nil
    }

    public init(
        name: String, kind: StepKind, run: [String], reports: [ReportSpec] = [],
        limits: LimitSettings = LimitSettings(),
        network: NetworkMode = .none, onlyIf: [String] = []
    ) {
        self.name = name
        self.kind = kind
        self.run = run
        self.reports = reports
        self.limits = limits
        self.network = network
        self.onlyIf = onlyIf
    }
}

/// A language's policy: how it is detected, its toolchain image, its steps and gates.
public struct LanguagePolicy: Equatable, Sendable {
    public var language: String
    /// File names at the tree's root that mark the language (`*.csproj` patterns allowed).
    public var detect: [String]
    /// The toolchain image: host paths mounted read-only (see images/).
    public var image: String
    public var environment: [String: String]
    public var steps: [StepPolicy]
    /// Gates that differ from the defaults.
    public var gates: [GateDefinition]
    /// The file it came from, for messages.
    public var source: String
    /// Entries at the tree's root left out of the working copy (build output the
    /// steps make anew: Swift's .build, Rust's target).
    public var copyExclude: [String] = []
    /// What in a tree of this language judges it (`judged-by`).
    public var judging = JudgingFiles()

    public init(
        language: String, detect: [String], image: String, environment: [String: String] = [:], steps: [StepPolicy],
        gates: [GateDefinition] = [], source: String = ""
    ) {
        self.language = language
        self.detect = detect
        self.image = image
        self.environment = environment
        self.steps = steps
        self.gates = gates
        self.source = source
    }

    /// Whether the tree (its root entries) holds this language.
    public func detects(rootEntries: [String]) -> Bool {
        detect.contains { pattern in
            if pattern.hasPrefix("*") {
                let suffix = pattern.dropFirst()
                return rootEntries.contains { $0.hasSuffix(suffix) }
            }
            return rootEntries.contains(pattern)
        }
    }
}
