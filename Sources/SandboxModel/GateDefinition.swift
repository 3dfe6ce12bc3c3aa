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
        /// The share of the lines a branch changes that its tests run (Codecov's
        /// patch status, diff-cover): measured only against a base.
        case patchCoverage = "patch-coverage"
        /// What the branch changed of what judges it (tool configuration, CI
        /// commands, files that run inside the test runner): measured only
        /// against a base, whose rules the branch is judged by.
        case judgingChanges = "judging-changes"
        /// Error-level lint findings on the lines the branch changes, counted apart
        /// from the rest as SonarQube counts new code: measured only against a base.
        case newLintErrors = "new-lint-errors"
        /// How many points of line coverage the branch loses against its base's own
        /// (Codecov's project target `auto` with a threshold): only against a base.
        case coverageDrop = "coverage-drop"

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
            case .patchCoverage: "Patch coverage"
            case .judgingChanges: "Changes to what judges the branch"
            case .newLintErrors: "Lint findings at error level on changed lines"
            case .coverageDrop: "Line coverage lost against the base (points)"
            }
        }

        /// Whether a passing gate still gives its details: patch coverage's
        /// uncovered changed lines are for a reviewer to see, whatever the share.
        public var explainsPasses: Bool { self == .patchCoverage || self == .coverageDrop }

        /// Whether it judges a branch against a base, and is left out without one.
        public var needsBase: Bool {
            self == .patchCoverage || self == .judgingChanges || self == .newLintErrors || self == .coverageDrop
        }

        /// Whether it is a percentage (shown with %).
        public var isPercent: Bool { self == .lineCoverage || self == .patchCoverage }
    }

    public enum Comparison: String, Sendable {
        case atLeast = ">="
        case atMost = "<="

        public func holds(_ actual: Double, _ threshold: Double) -> Bool {
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
        GateDefinition(.patchCoverage, .atLeast, 80),
        GateDefinition(.judgingChanges, .atMost, 0),
        GateDefinition(.newLintErrors, .atMost, 0),
        GateDefinition(.coverageDrop, .atMost, 1),
    ]

    /// A threshold or value as people read it: "80", "81.6".
    public static func format(_ value: Double) -> String {
        guard value.isFinite, abs(value) < 1e15 else { return "\(value)" }
        if value == value.rounded() { return String(Int(value)) }
        let tenths = (value * 10).rounded() / 10
        return tenths == tenths.rounded() ? String(Int(tenths)) : String(tenths)
    }
}

extension GateDefinition {
    /// Whether this gate asks at least as much as `other`: the same operator, a
    /// threshold no looser, and blocking if `other` blocks.
    public func isAtLeastAsStrict(as other: GateDefinition) -> Bool {
        comparison == other.comparison && !other.hasStricterThreshold(than: self) && (blocking || !other.blocking)
    }

    /// Whether this threshold demands more than `other`'s, under the same operator.
    func hasStricterThreshold(than other: GateDefinition) -> Bool {
        comparison == other.comparison
            && (comparison == .atLeast ? threshold > other.threshold : threshold < other.threshold)
    }
}

extension [GateDefinition] {
    /// These gates with `layer`'s in place of those of the same metric, and the
    /// metrics only `layer` has appended: how a policy layer sets its gates.
    public func overridden(by layer: [GateDefinition]) -> [GateDefinition] {
        var gates = self
        for gate in layer {
            if let index = gates.firstIndex(where: { $0.metric == gate.metric }) {
                gates[index] = gate
            } else {
                gates.append(gate)
            }
        }
        return gates
    }

    /// The strictest of each metric across both: for a tree of several languages.
    /// A threshold is only ever raised, and a gate blocks if either blocks.
    public func strictest(with other: [GateDefinition]) -> [GateDefinition] {
        var gates = self
        for gate in other {
            guard let index = gates.firstIndex(where: { $0.metric == gate.metric }) else {
                gates.append(gate)
                continue
            }
            if gate.hasStricterThreshold(than: gates[index]) { gates[index].threshold = gate.threshold }
            gates[index].blocking = gates[index].blocking || gate.blocking
        }
        return gates
    }
}
