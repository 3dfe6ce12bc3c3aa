import Glibc
public import SandboxImage
import SandboxKernel
public import SandboxModel
public import SandboxPolicy
public import SandboxReports
import SandboxSupervisor
public import SandboxVerdict

/// A step as it went, for progress and for `--out`.
public struct StepRecord: Sendable {
    public var language: String
    public var evidence: StepEvidence
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    /// The report files as they were read from inside the sandbox, when the
    /// verifier keeps them (`Verifier.keepsReportFiles`).
    public var reportFiles: [KeptReport] = []
}

/// A report file's bytes, kept for `--out`.
public struct KeptReport: Sendable {
    public var name: String
    public var bytes: [UInt8]
}

/// What a verification found.
public struct VerifyOutcome: Sendable {
    public var languages: [String]
    public var steps: [StepRecord]
    public var verdict: Verdict
}

/// Progress, as steps move from queued to running to done.
public enum VerifyProgress: Sendable {
    case queued(String)
    case running(String)
    case done(String, StepResult)
    case skipped(String, String)
    /// What a stage other than a step is doing ("image:python", "building: …").
    case status(String, String)
}

/// Decides whether a tree is ready to merge, in one line of named stages:
/// Source → Plan → Execute → Evidence → Verdict. (Outputs, the sixth, writes
/// the outcome: `VerifyOutputs`.)
public struct Verifier: Sendable {
    public var policies: PolicySet
    public var images: [String: ToolchainImage]
    /// The trusted policies' fingerprint, which keys the verdict store.
    public var fingerprint = ""
    /// Where a base's verification is kept for the next branch against it; nil
    /// keeps nothing, and every base is verified anew.
    var store = VerdictStore.standard()
    /// Where built images are kept; nil for this user's standard store.
    public var imageStore: ImageStore?
    /// What runs the sandboxes: a supervisor, and every sandbox of a
    /// verification shares its one probe of the host.
    package var runner: any SandboxRunner
    /// Gives this process mounts of its own before the working copy's tmpfs is
    /// mounted (as root), so that it vanishes with the process however it ends.
    package var isolateMounts: @Sendable () throws -> Void
    /// The working copy's size bound (a tmpfs when running as root).
    public var workspaceSize = ByteSize.gibibytes(4)
    /// Keep each report file's bytes in its step's record (for `--out`).
    public var keepsReportFiles = false
    /// The signals that stop verification (SIGINT, SIGTERM, SIGHUP, SIGQUIT):
    /// the step running is given the signal, no later step starts, the working
    /// copy is removed, and `verify` throws `.interrupted`.
    var interruption: SignalRelay?

    /// A verifier whose steps run under the supervisor. Call `verify` while this
    /// process is still single-threaded: as root it first unshares its mounts.
    /// With `stopsOnSignals`, those signals are caught from here on (by every
    /// thread started later too) and stop it.
    public init(_ trusted: TrustedPolicies, stopsOnSignals: Bool = false) {
        let interruption = stopsOnSignals ? SignalRelay() : nil
        var supervisor = Supervisor(host: HostProbe.layout(), cgroups: CgroupHost.detect())
        supervisor.sharedSignals = interruption
        let isolate: @Sendable () throws -> Void = {
            if geteuid() == 0 { try HostProbe.privateMountNamespace() }
        }
        self.init(policies: trusted.policies, images: trusted.images, runner: supervisor, isolateMounts: isolate)
        self.interruption = interruption
        fingerprint = trusted.fingerprint
    }

    /// With another runner than the supervisor: for this package's tests only.
    package init(
        policies: PolicySet, images: [String: ToolchainImage], runner: any SandboxRunner,
        isolateMounts: @escaping @Sendable () throws -> Void = {}
    ) {
        self.policies = policies
        self.images = images
        self.runner = runner
        self.isolateMounts = isolateMounts
    }

    /// Verifies the commit `ref` of the git repository at `repository`, its tree
    /// read from git's objects (`GitExport`), never checked out; `base`, when given,
    /// is the trusted side it is judged against, named in the verdict with the
    /// merge base.
    public func verify(
        repository: String, ref: String, base: String?, languages: [String] = [],
        progress: (VerifyProgress) -> Void = { _ in }
    ) throws(VerifyError) -> VerifyOutcome {
        // A signal that stops a git step stops verify as it stops any step.
        let interruption = self.interruption
        func stage<T>(_ body: () throws(VerifyError) -> T) throws(VerifyError) -> T {
            let result: Result<T, VerifyError>
            do throws(VerifyError) {
                result = .success(try body())
            } catch {
                result = .failure(error)
            }
            if let signal = interruption?.arrived() { throw .interrupted(signal) }
            return try result.get()
        }
        let git = try GitExport(repository: repository, runner: runner)
        let revisions = try stage { () throws(VerifyError) in try git.resolve(ref: ref, base: base) }
        var content = try stage { () throws(VerifyError) in try git.content(of: revisions[0].commit) }
        var judgingChanges: [String]?
        var changes: [String: Set<Int>]?
        if let base = revisions.first(where: { $0.role == .base }),
            let mergeBase = revisions.first(where: { $0.role == .mergeBase })
        {
            changes = try stage { () throws(VerifyError) in
                try git.changes(from: mergeBase.commit, to: revisions[0].commit)
            }
            let rules = try stage { () throws(VerifyError) in
                try rulesFromBase(git, ref: content, base: base.commit, mergeBase: mergeBase.commit, languages)
            }
            let compared = RuleComparison.compare(rules.comparisons, runner: runner)
            switch compared {
            case .success(let outcomes): judgingChanges = rules.words(outcomes)
            case .failure(let failure): judgingChanges = rules.words([:], unread: failure.description)
            }
            content = rules.content
        }
        var baseCoverage: BaseCoverage?
        var storeNotes: [String] = []
        if let base = revisions.first(where: { $0.role == .base }) {
            (baseCoverage, storeNotes) = try baseLineCoverage(git, base, languages, progress: progress)
        }
        let export = try ExportedTree(content, commit: revisions[0].commit)
        defer { export.remove() }
        var judged = JudgedCommits(
            revisions: revisions, changes: changes, judgingChanges: judgingChanges, notes: export.notes + storeNotes)
        judged.base = baseCoverage
        return try verify(tree: export.path, languages: languages, judged: judged, progress: progress)
    }

    /// BASE's own line coverage, for the ratchet: kept from an earlier verification
    /// of BASE's tree under the same fingerprint, else measured now by verifying
    /// BASE as any tree is verified (its steps shown as `base:…`), and kept.
    func baseLineCoverage(
        _ git: GitExport, _ base: JudgedRevision, _ languages: [String], progress: (VerifyProgress) -> Void
    ) throws(VerifyError) -> (BaseCoverage, [String]) {
        let tree = String(base.tree.prefix(12))
        // The languages asked for judge too (--language python on a tree that has more).
        let key = TrustedPolicies.fingerprint([
            ("policies", fingerprint), ("languages", languages.joined(separator: ",")),
        ])
        if let kept = store?.entry(tree: base.tree, fingerprint: key) {
            return (BaseCoverage(percent: kept.lineCoverage, source: "kept from a verification of tree \(tree)"), [])
        }
        let content = try git.content(of: base.commit)
        let export = try ExportedTree(content, commit: base.commit)
        defer { export.remove() }
        let outcome = try verify(tree: export.path, languages: languages, judged: JudgedCommits()) { event in
            switch event {
            case .queued(let label): progress(.queued("base:" + label))
            case .running(let label): progress(.running("base:" + label))
            case .done(let label, let result): progress(.done("base:" + label, result))
            case .skipped(let label, let why): progress(.skipped("base:" + label, why))
            case .status(let label, let what): progress(.status(label, what))
            }
        }
        let percent = outcome.verdict.gates.first { $0.definition.metric == .lineCoverage }?.actual
        var notes: [String] = []
        // A base that measured no coverage is not kept: the next branch tries again.
        if let store, let percent {
            do throws(SystemError) {
                try store.keep(.init(tree: base.tree, fingerprint: key, lineCoverage: percent))
            } catch {
                notes.append("the base's verification could not be kept, so the next will run it again: \(error)")
            }
        }
        return (BaseCoverage(percent: percent, source: "verified now, tree \(tree)"), notes)
    }

    /// REF's tree judged by the base's rules: the files that judge, read from BASE
    /// and the merge base alone.
    func rulesFromBase(
        _ git: GitExport, ref: GitTreeContent, base: String, mergeBase: String, _ languages: [String]
    ) throws(VerifyError) -> RulesFromBase {
        let root = Array(Set(ref.entries.compactMap { $0.path.split(separator: "/").first.map(String.init) }))
        let judging = policies.judging(rootEntries: root, languages: languages)
        let wanted = { (path: String) in judging.role(of: path) != nil }
        let baseRules = try git.content(of: base, only: wanted, reading: wanted)
        let mergeRules = mergeBase == base ? baseRules : try git.content(of: mergeBase, only: wanted, reading: wanted)
        return RulesFromBase(ref: ref, base: baseRules, mergeBase: mergeRules, judging: judging)
    }

    /// What the export stage says of the commits a tree came from, for the verdict.
    struct JudgedCommits {
        var revisions: [JudgedRevision] = []
        /// The lines the branch changes by file; they make patch coverage measured.
        var changes: [String: Set<Int>]?
        /// What the branch changed of what judges it, in words; it makes that gate measured.
        var judgingChanges: [String]?
        /// The base's own line coverage, for the ratchet.
        var base: BaseCoverage?
        var notes: [String] = []
    }

    /// `languages`, when given, are the ones the trusted side expects: they run
    /// whatever marker files the (untrusted) tree has or lacks.
    public func verify(
        tree: String, languages: [String] = [], progress: (VerifyProgress) -> Void = { _ in }
    ) throws(VerifyError) -> VerifyOutcome {
        try verify(tree: tree, languages: languages, judged: JudgedCommits(), progress: progress)
    }

    func verify(
        tree: String, languages: [String], judged: JudgedCommits, progress: (VerifyProgress) -> Void
    ) throws(VerifyError) -> VerifyOutcome {
        let source = try SourceTree.directory(tree)
        var plan = try VerifyPlan(
            policies: policies, images: images, source: source, languages: languages, hostHas: HostProbe.exists)
        // Held until the steps have run: the store keeps these roots meanwhile.
        var heldImages: [ImageInUse] = []
        let built = plan.builtImages(images)
        if !built.isEmpty {
            let store: ImageStore
            do {
                store = try imageStore ?? ImageStore.standard()
            } catch {
                throw .sandbox("\(error)")
            }
            let provided = try ImageProvisioning(store: store).provide(built, progress: progress)
            plan.place(on: provided.roots)
            heldImages = provided.held
        }
        defer { withExtendedLifetime(heldImages) {} }
        do {
            try isolateMounts()
        } catch {
            throw .sandbox("cannot give the working copy a mount namespace of its own: \(error)")
        }
        // One host uid for every step: they share the working copy, which it owns.
        let runner: any SandboxRunner
        do {
            runner = try self.runner.holdingOneIdentity()
        } catch {
            throw .sandbox("cannot lease a host uid for the steps: \(error)")
        }
        var evidence = EvidenceGathering(keepsReportFiles: keepsReportFiles)
        let interruption = self.interruption
        let execution = PlanExecution(
            runner: runner, workspaceSize: workspaceSize, interrupted: { interruption?.arrived() })
        let copyNotes = try execution.run(
            plan, on: source, progress: progress, finished: { evidence.add($0) })
        let notes = judged.notes + copyNotes + (runner.enforcementNote.map { [$0] } ?? []) + plan.notes
        var verdict = VerdictEngine.evaluate(
            evidence.records.map(\.evidence), gates: plan.gates, notes: notes, changes: judged.changes,
            judgingChanges: judged.judgingChanges, base: judged.base)
        verdict.revisions = judged.revisions
        return VerifyOutcome(languages: plan.languages, steps: evidence.records, verdict: verdict)
    }
}

extension VerifyOutcome {
    /// Each step's test reports, for a merged JUnit file.
    public var testSuites: [(name: String, report: TestReport)] {
        steps.flatMap { record in
            record.evidence.reports.compactMap { report -> (String, TestReport)? in
                if case .success(.tests(let tests)) = report.content { return (record.evidence.name, tests) }
                return nil
            }
        }
    }

    /// Every finding and diagnostic, for a merged SARIF log.
    public var findings: [Finding] {
        steps.flatMap { record in
            record.evidence.reports.flatMap { report -> [Finding] in
                switch report.content {
                case .success(.findings(let found)), .success(.diagnostics(let found)): found.findings
                default: []
                }
            }
        }
    }
}
