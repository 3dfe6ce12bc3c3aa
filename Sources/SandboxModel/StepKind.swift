/// What a step is for, as a policy names it.
public enum StepKind: String, Sendable, CaseIterable {
    case install, build, test, lint, format, coverage
}
