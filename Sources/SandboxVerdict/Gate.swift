public import SandboxModel

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
        let threshold = GateDefinition.format(definition.threshold) + unit
        let value = actual.map { GateDefinition.format($0) + unit } ?? "not measured"
        return "\(metric.rawValue) \(definition.comparison.rawValue) \(threshold): \(value)"
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
    /// The commits judged, when verify read them from a repository: the branch,
    /// its base and their merge base.
    public var revisions: [JudgedRevision] = []
    /// The lines the branch adds or changes by file, when judged against a base:
    /// annotations on them come first.
    public var changes: [String: Set<Int>]?

    /// Merge-ready when every blocking gate passed (or measured nothing it needed).
    public var mergeReady: Bool {
        gates.allSatisfy { !$0.definition.blocking || $0.status != .failed }
    }
}

/// The base's own line coverage, for the ratchet, and where the figure came from.
public struct BaseCoverage: Equatable, Sendable {
    /// Nil where the base's verification measured none.
    public var percent: Double?
    /// "verified now", "kept from a verification of tree 4e04a52".
    public var source: String

    public init(percent: Double?, source: String) {
        self.percent = percent
        self.source = source
    }
}

/// A commit verify judged or judged against, named as the user named it.
public struct JudgedRevision: Equatable, Sendable {
    public enum Role: String, Sendable {
        case ref
        case base
        case mergeBase = "merge-base"
    }
    public var role: Role
    /// The name given (`--ref main`), or the commit for the merge base.
    public var name: String
    public var commit: String
    public var tree: String

    public init(role: Role, name: String, commit: String, tree: String) {
        self.role = role
        self.name = name
        self.commit = commit
        self.tree = tree
    }

    /// "ref main: commit 1f2e…, tree 9a8b…".
    public var summary: String {
        "\(role == .mergeBase ? "merge base" : role.rawValue) \(role == .mergeBase ? "" : name + ": ")"
            + "commit \(commit), tree \(tree)"
    }
}
