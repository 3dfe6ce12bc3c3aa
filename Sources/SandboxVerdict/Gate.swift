/// A condition in the SonarQube manner: a metric, an operator, a threshold.
public struct GateDefinition: Equatable, Sendable {
    public enum Metric: String, Sendable, CaseIterable {
        case testsRan = "tests-ran"
        case testFailures = "test-failures"
        case lineCoverage = "line-coverage"
        case lintErrors = "lint-errors"
        case unformattedFiles = "unformatted-files"
        case compilerWarnings = "compiler-warnings"
        case containment = "containment"
        case stepFailures = "step-failures"

        /// How people read it.
        public var title: String {
            switch self {
            case .testsRan: "Tests ran"
            case .testFailures: "Test failures and errors"
            case .lineCoverage: "Line coverage"
            case .lintErrors: "Lint findings at error level"
            case .unformattedFiles: "Files not formatted"
            case .compilerWarnings: "Compiler warnings"
            case .containment: "Containment incidents"
            case .stepFailures: "Steps that failed unexplained"
            }
        }

        /// Whether it is a percentage (shown with %).
        var isPercent: Bool { self == .lineCoverage }
    }

    public enum Comparison: String, Sendable {
        case atLeast = ">="
        case atMost = "<="

        func holds(_ actual: Double, _ threshold: Double) -> Bool {
            switch self {
            case .atLeast: actual >= threshold
            case .atMost: actual <= threshold
            }
        }
    }

    public var metric: Metric
    public var comparison: Comparison
    public var threshold: Double
    /// A blocking gate decides the merge; another only informs.
    public var blocking: Bool

    public init(_ metric: Metric, _ comparison: Comparison, _ threshold: Double, blocking: Bool = true) {
        self.metric = metric
        self.comparison = comparison
        self.threshold = threshold
        self.blocking = blocking
    }

    /// The defaults, before any policy changes them.
    public static let defaults: [GateDefinition] = [
        GateDefinition(.containment, .atMost, 0),
        GateDefinition(.stepFailures, .atMost, 0),
        GateDefinition(.testsRan, .atLeast, 1),
        GateDefinition(.testFailures, .atMost, 0),
        GateDefinition(.lineCoverage, .atLeast, 80),
        GateDefinition(.lintErrors, .atMost, 0),
        GateDefinition(.unformattedFiles, .atMost, 0),
        GateDefinition(.compilerWarnings, .atMost, 0),
    ]
}

/// A gate, evaluated.
public struct GateResult: Equatable, Sendable {
    public enum Status: String, Sendable {
        case passed
        case failed
        /// Nothing was set up to measure it (no step produces such a report).
        case notMeasured = "not-measured"
    }

    public var definition: GateDefinition
    /// The measured value; nil when it could not be measured.
    public var actual: Double?
    public var status: Status
    /// Why, in words a reviewer can act on, one line each.
    public var reasons: [String]

    /// "line-coverage >= 80%: 81.6%".
    public var summary: String {
        let metric = definition.metric
        let unit = metric.isPercent ? "%" : ""
        let threshold = Self.format(definition.threshold) + unit
        let value = actual.map { Self.format($0) + unit } ?? "not measured"
        return "\(metric.rawValue) \(definition.comparison.rawValue) \(threshold): \(value)"
    }

    public static func format(_ value: Double) -> String {
        guard value.isFinite, abs(value) < 1e15 else { return "\(value)" }
        if value == value.rounded() { return String(Int(value)) }
        let tenths = (value * 10).rounded() / 10
        return tenths == tenths.rounded() ? String(Int(tenths)) : String(tenths)
    }
}

/// Every gate, and the decision they make together.
public struct Verdict: Equatable, Sendable {
    public var gates: [GateResult]
    /// Tests skipped and tests that passed only on a rerun: shown, never hidden.
    public var skippedTests: Int
    public var flakyTests: [String]
    /// Notes shown with the verdict: what a repository asked for and was refused,
    /// what the working copy could not hold or bound.
    public var notes: [String] = []
    /// How each step that ran ended, in order: for machines reading the JSON.
    public var steps: [StepOutcome] = []

    /// Merge-ready when every blocking gate passed (or measured nothing it needed).
    public var mergeReady: Bool {
        gates.allSatisfy { !$0.definition.blocking || $0.status != .failed }
    }
}
