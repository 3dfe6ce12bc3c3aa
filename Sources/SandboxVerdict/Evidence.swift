public import SandboxModel
public import SandboxReports

/// A report a step was expected to produce, and what reading it gave.
public struct ReportEvidence: Sendable {
    /// What the report measures.
    public enum Content: Sendable {
        case tests(TestReport)
        case coverage(CoverageReport)
        /// Lint and analyzer findings.
        case findings(FindingsReport)
        /// Compiler diagnostics: warnings count against the warnings gate.
        case diagnostics(FindingsReport)
        /// Files a formatter would change.
        case unformatted([String])
    }

    /// Which gate family a report feeds, known even when it could not be read.
    public enum Kind: String, Sendable {
        case tests, coverage, findings, diagnostics, unformatted
    }

    /// The report's name ("junit.xml").
    public var name: String
    public var kind: Kind
    /// The parsed report, or why it could not be read (missing, empty, malformed).
    public var content: Result<Content, ReportError>

    public init(name: String, kind: Kind, content: Result<Content, ReportError>) {
        self.name = name
        self.kind = kind
        self.content = content
    }
}

/// One step as it ran: its result record, its limits, its reports.
public struct StepEvidence: Sendable {
    public var name: String
    public var kind: StepKind
    public var result: StepResult
    public var limits: ResourceLimits
    public var reports: [ReportEvidence]
    /// The end of what the step wrote to standard error, or to standard output
    /// when standard error had nothing and no report is read from it (untrusted
    /// text): for saying why a step failed when no report explains it.
    public var outputTail = ""
    /// The policy lets this step fail: an unexplained non-zero exit is a note.
    public var continuesOnError = false
    /// The image the step ran on: its name and digest ("python sha256:…"), or
    /// "host toolchain, not pinned".
    public var image = StepEvidence.hostImage

    public static let hostImage = "host toolchain, not pinned"

    public init(
        name: String, kind: StepKind, result: StepResult, limits: ResourceLimits, reports: [ReportEvidence] = []
    ) {
        self.name = name
        self.kind = kind
        self.result = result
        self.limits = limits
        self.reports = reports
    }
}

extension StepEvidence {
    /// How much output is kept for `outputTail`.
    public static let outputTailBytes = 4096

    /// The line of `outputTail` most likely to say what went wrong: the last that
    /// starts like an error ("error:", "Error:", "fatal:"), else the last naming an
    /// exception, else a warning, else the last non-empty one; without the rules
    /// around it ("==== no tests ran ===="), at most 300 characters.
    public var failureClue: String? {
        let lines = tailLines
        let clue =
            Self.errorLine(in: lines)
            // Python's "ModuleNotFoundError: …", "CoverageWarning: …" end their tracebacks.
            ?? lines.last { $0.contains("Error: ") || $0.contains("Exception: ") }
            ?? lines.last { $0.contains("Warning: ") } ?? lines.last
        return clue.map { String($0.prefix(300)) }
    }

    /// The last line of `outputTail` that starts like an error ("error:",
    /// "fatal:", "panic"), at most 300 characters: why a step that passed may
    /// still have left a report unwritten.
    public var errorLine: String? { Self.errorLine(in: tailLines) }

    static func errorLine(in lines: [String]) -> String? {
        let markers = ["error", "fatal", "panic"]
        let errors = lines.filter { line in markers.contains { line.lowercased().hasPrefix($0) } }
        // pip ends with a wrapper ("error: subprocess-exited-with-error", pip 25's
        // "ERROR: Failed to build …") after the build backend's own error line, which
        // says what is wrong.
        let said = errors.last { !Self.isWrapper($0) } ?? errors.last
        return said.map { String($0.prefix(300)) }
    }

    /// Error lines that only say that another program failed.
    static let wrapperErrors: Set<String> = [
        "error: subprocess-exited-with-error", "error: metadata-generation-failed",
    ]

    static func isWrapper(_ line: String) -> Bool {
        wrapperErrors.contains(line) || line.hasPrefix("ERROR: Failed to build ")
    }

    /// `outputTail`'s non-empty lines, without the rules around them ("==== no tests ran ====").
    var tailLines: [String] {
        let decoration: (Character) -> Bool = { $0.isWhitespace || $0 == "=" || $0 == "-" || $0 == "*" }
        return outputTail.split(whereSeparator: \.isNewline)
            .map { line in line.drop(while: decoration).reversed().drop(while: decoration).reversed() }
            .map { String($0) }.filter { !$0.isEmpty }
    }
}

/// A step as the verdict reports it: its name, kind and how it ended.
public struct StepOutcome: Equatable, Sendable {
    public var name: String
    public var kind: StepKind
    public var result: StepResult
    /// The policy let it fail (continue-on-error): a failure here is a note.
    public var continuesOnError: Bool
    /// The image it ran on, as `StepEvidence.image` says it.
    public var image = StepEvidence.hostImage

    public init(name: String, kind: StepKind, result: StepResult, continuesOnError: Bool = false) {
        self.name = name
        self.kind = kind
        self.result = result
        self.continuesOnError = continuesOnError
    }
}
