public import SandboxModel

/// The organisation's defaults: limits and gates every language starts from.
public struct PolicyDefaults: Equatable, Sendable {
    public var limits: ResourceLimits
    public var gates: [GateDefinition]
    /// What in every tree judges it, whatever its language (`judged-by`).
    public var judging = JudgingFiles()

    public init(limits: ResourceLimits = ResourceLimits(), gates: [GateDefinition] = GateDefinition.defaults) {
        self.limits = limits
        self.gates = gates
    }
}

/// What a repository may say about its own verification: only tighter gates and
/// lower limits. Anything that would loosen them is refused and shown.
public struct RepositoryOverride: Equatable, Sendable {
    public var gates: [GateDefinition]
    public var limits: LimitSettings

    public init(gates: [GateDefinition] = [], limits: LimitSettings = LimitSettings()) {
        self.gates = gates
        self.limits = limits
    }

    /// The largest override file read; it comes from the untrusted tree.
    public static let maximumBytes = 64 << 10
}

/// A language's policy with every layer applied, ready to run.
public struct EffectivePolicy: Equatable, Sendable {
    public var policy: LanguagePolicy
    public var gates: [GateDefinition]
    /// Each step's limits, defaults and policy and repository applied.
    public var limits: [String: ResourceLimits]
    /// What the repository asked for and did not get, in words.
    public var refused: [String]

    /// Layers: built-in defaults, then the trusted defaults file, then the
    /// language's policy, then the repository's override (tightening only).
    public static func resolve(
        _ policy: LanguagePolicy, defaults: PolicyDefaults, repository: RepositoryOverride? = nil
    ) -> EffectivePolicy {
        var gates = defaults.gates.overridden(by: policy.gates)
        var refused: [String] = []
        for wish in repository?.gates ?? [] {
            guard let index = gates.firstIndex(where: { $0.metric == wish.metric }) else {
                gates.append(wish)
                continue
            }
            let current = gates[index]
            if wish.isAtLeastAsStrict(as: current) {
                gates[index] = wish
            } else {
                refused.append(
                    "repository asked for \(wish.metric.rawValue) \(wish.comparison.rawValue) \(GateDefinition.format(wish.threshold))"
                        + (wish.blocking ? "" : " (informational)")
                        + ", looser than \(current.comparison.rawValue) \(GateDefinition.format(current.threshold)): refused"
                )
            }
        }
        var limits: [String: ResourceLimits] = [:]
        // One refusal per limit, naming the steps in the policy's order.
        var loosenedFor: [(limit: String, steps: [String])] = []
        for step in policy.steps {
            var stepLimits = step.limits.applied(to: defaults.limits)
            if let wish = repository?.limits {
                let (tightened, loosened) = tighten(stepLimits, with: wish)
                stepLimits = tightened
                for limit in loosened {
                    if let index = loosenedFor.firstIndex(where: { $0.limit == limit }) {
                        loosenedFor[index].steps.append(step.name)
                    } else {
                        loosenedFor.append((limit, [step.name]))
                    }
                }
            }
            limits[step.name] = stepLimits
        }
        refused += loosenedFor.map {
            "repository asked for a higher \($0.limit) limit for \($0.steps.joined(separator: ", ")): refused"
        }
        return EffectivePolicy(policy: policy, gates: gates, limits: limits, refused: Array(Set(refused)).sorted())
    }

    static func tighten(_ base: ResourceLimits, with wish: LimitSettings) -> (ResourceLimits, [String]) {
        var limits = base
        var loosened: [String] = []
        func apply<T: Comparable>(_ value: T?, _ keyPath: WritableKeyPath<ResourceLimits, T>, _ name: String) {
            guard let value else { return }
            if value <= limits[keyPath: keyPath] { limits[keyPath: keyPath] = value } else { loosened.append(name) }
        }
        apply(wish.memory, \.memory, "memory")
        apply(wish.pids, \.pids, "pids")
        apply(wish.cpuTime, \.cpuTime, "cpu-time")
        apply(wish.timeout, \.timeout, "timeout")
        apply(wish.output, \.output, "output")
        apply(wish.tmpSize, \.tmpSize, "tmp-size")
        apply(wish.fileSize, \.fileSize, "file-size")
        return (limits, loosened)
    }
}

extension PolicyParser {
    /// The trusted defaults file: `limits` and `gates`.
    public static func defaults(_ text: String, file: String) throws(PolicyError) -> PolicyDefaults {
        var defaults = PolicyDefaults()
        guard let root = try YAMLValue.parse(text, file: file) else { return defaults }
        for (key, value) in try root.mapping(allowed: ["limits", "gates", "judged-by"], context: "the defaults") {
            if key == "limits" { defaults.limits = try limits(value).applied(to: defaults.limits) }
            if key == "gates" { defaults.gates = defaults.gates.overridden(by: try gates(value)) }
            if key == "judged-by" { defaults.judging = try judging(value) }
        }
        return defaults
    }

    /// A repository's own `.sandbox.yaml`: `gates` and `limits` only, size-capped.
    public static func repositoryOverride(_ bytes: [UInt8], file: String) throws(PolicyError) -> RepositoryOverride {
        guard bytes.count <= RepositoryOverride.maximumBytes else {
            throw PolicyError(file: file, reason: "larger than \(RepositoryOverride.maximumBytes >> 10) KiB")
        }
        var override = RepositoryOverride()
        guard let root = try YAMLValue.parse(String(decoding: bytes, as: UTF8.self), file: file) else {
            return override
        }
        for (key, value) in try root.mapping(
            allowed: ["gates", "limits"], context: "a repository's policy (it may only tighten gates and lower limits)")
        {
            if key == "gates" { override.gates = try gates(value) }
            if key == "limits" { override.limits = try limits(value) }
        }
        return override
    }
}
