public import SandboxModel
public import SandboxPolicy
import SandboxReports

/// Stage 2, Plan: pure. The trusted policies and images, and what the source
/// tree declares, become the steps to run, in order, each a complete
/// configuration (the working copy's path aside, known once it is made).
public struct VerifyPlan: Sendable {
    /// The languages verified, in the policies' order.
    public var languages: [String]
    public var steps: [PlannedStep]
    /// Each metric's strictest gate across the languages.
    public var gates: [GateDefinition]
    /// What the repository asked for and was refused (the verdict shows each once).
    public var notes: [String]
    /// Entries at the tree's root left out of the working copy (build output).
    public var copyExclude: [String]

    /// `languages`, when given, are the ones the trusted side expects: they run
    /// whatever marker files the (untrusted) tree has or lacks. `hostHas` says
    /// whether a host path exists (an image's required files, optional mounts).
    public init(
        policies: PolicySet, images: [String: ToolchainImage], source: SourceTree, languages expected: [String] = [],
        hostHas: (String) -> Bool
    ) throws(VerifyError) {
        let chosen = try Self.languages(policies, source: source, expected: expected)
        languages = chosen.map(\.language)
        copyExclude = Set(chosen.flatMap(\.copyExclude)).sorted()
        steps = []
        gates = []
        notes = []
        for language in chosen {
            let effective = EffectivePolicy.resolve(language, defaults: policies.defaults, repository: source.override)
            notes += effective.refused
            gates = gates.strictest(with: effective.gates)
            let image = images[language.image] ?? ToolchainImage(name: language.image)
            for step in language.steps {
                var planned = PlannedStep(step, of: effective, image: image, hostHas: hostHas)
                planned.skipped = step.skipReason(source.declarations)
                planned.declare(source.declarations)
                steps.append(planned)
            }
        }
    }

    /// The images the steps that will run need built roots of.
    public func builtImages(_ images: [String: ToolchainImage]) -> [ToolchainImage] {
        let names = Set(
            steps.filter { step in
                guard step.skipped == nil, case .run = step.launch else { return false }
                return true
            }.map(\.image))
        return names.sorted().compactMap { images[$0] }.filter { $0.recipe != nil }
    }

    /// Each step of an image in `roots` runs on that root (its resolved host path
    /// and digest).
    public mutating func place(on roots: [String: (root: String, digest: String)]) {
        for index in steps.indices {
            guard let placed = roots[steps[index].image], case .run(var configuration) = steps[index].launch else {
                continue
            }
            configuration.imageRoot = placed.root
            steps[index].launch = .run(configuration)
            steps[index].imageDigest = placed.digest
        }
    }

    static func languages(_ policies: PolicySet, source: SourceTree, expected: [String]) throws(VerifyError)
        -> [LanguagePolicy]
    {
        guard !expected.isEmpty else {
            let detected = policies.detect(rootEntries: source.rootEntries)
            guard !detected.isEmpty else {
                let markers = policies.languages.flatMap(\.detect).joined(separator: ", ")
                throw .usage(
                    "no language detected in \(source.path): none of the policies' marker files (\(markers)) is at its root"
                )
            }
            return detected
        }
        var chosen: [LanguagePolicy] = []
        for name in expected {
            guard let policy = policies.language(name) else {
                let known = policies.languages.map(\.language).joined(separator: ", ")
                throw .usage("no policy for language '\(name)'; there are: \(known)")
            }
            chosen.append(policy)
        }
        return chosen
    }
}

/// One step of the plan: what it is, the limits it runs under, and how it starts.
public struct PlannedStep: Sendable {
    /// How the step starts: a sandbox's configuration, or why it cannot.
    public enum Launch: Sendable {
        case run(RunConfiguration)
        /// The toolchain is not on this host: the step is reported, not started.
        case cannotStart(StepResult.SetupFailure)
    }

    /// "python/test".
    public var label: String
    public var language: String
    /// The policy's step: its kind, reports, only-if files and whether it may fail.
    public var step: StepPolicy
    public var limits: ResourceLimits
    public var launch: Launch
    /// Why the step is not run for this project (it does not use the tool), if so.
    public var skipped: String?
    /// The image's name, and the digest of the stored root it runs on (nil: the
    /// host's toolchain; set by `VerifyPlan.place(on:)`).
    public var image: String
    public var imageDigest: String?

    /// The largest report collected, and the most of each stream kept.
    public static let reportCap = ReportLimits.maximumBytes

    init(_ step: StepPolicy, of effective: EffectivePolicy, image: ToolchainImage, hostHas: (String) -> Bool) {
        label = "\(effective.policy.language)/\(step.name)"
        language = effective.policy.language
        self.step = step
        self.image = image.name
        limits = effective.limits[step.name] ?? ResourceLimits()
        if let missing = image.requires.first(where: { !hostHas($0) }) {
            launch = .cannotStart(
                .init(
                    stage: .supervisor("toolchain"), errno: nil,
                    message:
                        "toolchain not found: \(missing) (image \(image.name)); install it or adjust images/\(image.name).yaml"
                ))
            return
        }
        var configuration = RunConfiguration(command: Self.clearingReports(step))
        configuration.binds = image.mounts + step.mountsIfPresent.filter { hostHas($0.source) }
        configuration.network = step.network
        configuration.limits = limits
        // Names and values were checked when the policy and image were read.
        let environment = image.environment.merging(effective.policy.environment) { $1 }
        do {
            for (name, value) in environment.sorted(by: { $0.key < $1.key }) {
                try configuration.setEnvironment(parsing: "\(name)=\(value)")
            }
            if !image.path.isEmpty {
                let base = configuration.environmentValue("PATH") ?? ""
                try configuration.setEnvironment(parsing: "PATH=" + (image.path + [base]).joined(separator: ":"))
            }
        } catch {
            launch = .cannotStart(.init(stage: .supervisor("environment"), errno: nil, message: "\(error)"))
            return
        }
        launch = .run(configuration)
    }

    /// What the project declares that a step's command reads, as environment
    /// variables of checked words: the cargo feature selections its CI builds
    /// with, `;` between them (SANDBOX_CARGO_FEATURE_SETS); its `swift test`
    /// filters, blank between them (SANDBOX_SWIFT_TEST_FILTERS), and whether that
    /// discovers the tests (SANDBOX_SWIFT_TEST_DISCOVERY=1); the arguments and
    /// environment of the pytest run it measures (SANDBOX_PYTEST_ARGUMENTS,
    /// SANDBOX_PYTEST_ENVIRONMENT, blank between words); the arguments of each
    /// pylint and mypy it runs, after the tool's name (SANDBOX_PYLINT_RUNS,
    /// SANDBOX_MYPY_RUNS, `;` between runs); whether any command of its CI was read
    /// (SANDBOX_CI_COMMANDS=1); and what its `pip install`s install besides the
    /// project (SANDBOX_CI_REQUIREMENTS, SANDBOX_CI_REQUIREMENT_FILES).
    mutating func declare(_ declarations: ProjectDeclarations) {
        guard case .run(var configuration) = launch else { return }
        func runs(_ tool: ProjectTool) -> String {
            declarations.runs(of: tool).map { ([tool.rawValue] + $0).joined(separator: " ") }.joined(separator: ";")
        }
        let declared = [
            ("SANDBOX_CARGO_FEATURE_SETS", declarations.cargoFeatureSets.joined(separator: ";")),
            ("SANDBOX_SWIFT_TEST_FILTERS", declarations.swiftTestFilters.joined(separator: " ")),
            ("SANDBOX_SWIFT_TEST_DISCOVERY", declarations.swiftTestDiscovery ? "1" : ""),
            ("SANDBOX_PYTEST_ARGUMENTS", declarations.pytestArguments.joined(separator: " ")),
            ("SANDBOX_PYTEST_ENVIRONMENT", declarations.pytestEnvironment.joined(separator: " ")),
            ("SANDBOX_PYLINT_RUNS", runs(.pylint)),
            ("SANDBOX_MYPY_RUNS", runs(.mypy)),
            ("SANDBOX_CI_COMMANDS", declarations.readsCommands ? "1" : ""),
            ("SANDBOX_CI_REQUIREMENTS", declarations.ciRequirements.joined(separator: " ")),
            ("SANDBOX_CI_REQUIREMENT_FILES", declarations.ciRequirementFiles.joined(separator: " ")),
        ]
        for (name, value) in declared where !value.isEmpty {
            try? configuration.setEnvironment(parsing: name + "=" + value)
        }
        launch = .run(configuration)
    }

    /// The most of each stream kept: the output limit, or the report cap when lower.
    public var captureCap: Int { Int(min(limits.output.bytes, UInt64(Self.reportCap))) }

    /// The step's argv, behind a fixed script that first removes its report files
    /// (a report left in the tree must never pass for this run's) and makes their
    /// directories. Nothing untrusted enters the script: paths are arguments.
    static func clearingReports(_ step: StepPolicy) -> [String] {
        let paths = step.reports.compactMap { spec -> String? in
            if case .file(let path) = spec.source { return path }
            return nil
        }
        guard !paths.isEmpty else { return step.run }
        let script = """
            n=$1; shift; while [ "$n" -gt 0 ]; do rm -rf -- "$1" && mkdir -p -- "$(dirname -- "$1")" || exit 125; \
            shift; n=$((n-1)); done; exec "$@"
            """
        return ["/bin/sh", "-c", script, "sandbox-step", String(paths.count)] + paths + step.run
    }
}
