import Glibc
package import SandboxKernel
public import SandboxModel
public import SandboxPolicy
public import SandboxReports
import SandboxSupervisor
public import SandboxVerdict

/// Why `sandbox verify` could not give a verdict at all.
public enum VerifyError: Error, CustomStringConvertible, Sendable {
    /// A mistake in what the user gave (exit 2).
    case usage(String)
    /// Policies that do not validate (exit 2).
    case policy([PolicyError])
    /// The sandbox itself could not run (exit 3).
    case sandbox(String)

    public var description: String {
        switch self {
        case .usage(let message), .sandbox(let message): message
        case .policy(let errors): errors.map(\.description).joined(separator: "\n")
        }
    }
}

/// A step as it went, for progress and for the logs.
public struct StepRecord: Sendable {
    public var language: String
    public var evidence: StepEvidence
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    /// Set when the step did not run (its only-if files are absent).
    public var skippedBecause: String?
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
    /// Repository requests that were refused, and other policy notes.
    public var policyNotes: [String]
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

/// Progress, as steps move from queued to running to done.
public enum VerifyProgress: Sendable {
    case queued(String)
    case running(String)
    case done(String, StepResult)
    case skipped(String, String)
}

/// Runs each detected language's policy on a copy of a tree, in sandboxes, and
/// decides merge readiness.
public struct Verifier: Sendable {
    public var policies: PolicySet
    public var images: [String: ToolchainImage]
    /// What runs the sandboxes: a supervisor, and every sandbox of a
    /// verification shares its one probe of the host.
    package var runner: any SandboxRunner
    let cgroups: CgroupHost
    /// The working copy's size bound (a tmpfs when running as root).
    public var workspaceSize = ByteSize.gibibytes(4)
    /// Keep each report file's bytes in its step's record (for `--out`); off, they
    /// are dropped once parsed, so that large reports are not held to the end.
    public var keepsReportFiles = false

    public init(policies: PolicySet, images: [String: ToolchainImage]) {
        let cgroups = CgroupHost.detect()
        var supervisor = Supervisor(host: HostProbe.layout(), cgroups: cgroups)
        // One note in the verdict instead of a line per sandbox.
        supervisor.notices = -1
        self.init(policies: policies, images: images, runner: supervisor, cgroups: cgroups)
    }

    /// With another runner than the supervisor: for this package's tests only.
    package init(
        policies: PolicySet, images: [String: ToolchainImage], runner: any SandboxRunner,
        cgroups: CgroupHost = .unavailable(reason: "not probed")
    ) {
        self.policies = policies
        self.images = images
        self.runner = runner
        self.cgroups = cgroups
    }

    /// Where each step's reports go inside the sandbox, cleared before it runs.
    static let reportRoot = "/workspace/.sandbox/reports"
    /// The largest report collected.
    static let reportCap = ReportLimits.maximumBytes

    /// `languages`, when given, are the ones the trusted side expects: they run
    /// whatever marker files the (untrusted) tree has or lacks.
    public func verify(
        tree given: String, languages expected: [String] = [], progress: (VerifyProgress) -> Void = { _ in }
    ) throws(VerifyError) -> VerifyOutcome {
        guard HostProbe.isDirectory(given) else { throw .usage("\(given) is not a directory") }
        // The caller's path may go through links of the caller's own; inside the
        // tree, nothing is followed.
        let tree = try Self.resolved(given)
        guard let entries = HostProbe.directoryEntries(tree) else { throw .usage("\(given) is not a directory") }
        var languages = policies.detect(rootEntries: entries)
        if !expected.isEmpty {
            languages = []
            for name in expected {
                guard let policy = policies.language(name) else {
                    throw .usage(
                        "no policy for language '\(name)'; there are: \(policies.languages.map(\.language).joined(separator: ", "))"
                    )
                }
                languages.append(policy)
            }
        }
        guard !languages.isEmpty else {
            throw .usage(
                "no language detected in \(tree): none of the policies' marker files (\(policies.languages.flatMap(\.detect).joined(separator: ", "))) is at its root"
            )
        }
        let override = try Self.readOverride(tree)
        let excluded = Set(languages.flatMap(\.copyExclude)).sorted()
        let work = try Workspace(copying: tree, excluding: excluded, runner: runner, size: workspaceSize)

        var records: [StepRecord] = []
        var notes: [String] = work.notes
        if geteuid() != 0 && !cgroups.canCreateSteps {
            notes.append(
                "no cgroup for this user: memory is limited per process (RLIMIT_AS), processes by RLIMIT_NPROC")
        }
        var gates: [GateDefinition] = []
        for language in languages {
            let effective = EffectivePolicy.resolve(language, defaults: policies.defaults, repository: override)
            notes += effective.refused
            gates = gates.strictest(with: effective.gates)
            for step in language.steps { progress(.queued("\(language.language)/\(step.name)")) }
            for step in language.steps {
                let label = "\(language.language)/\(step.name)"
                // `only-if` names files of which any one must exist (an ESLint config
                // has several names); links resolve inside the copy, never out of it.
                if !step.onlyIf.isEmpty, !step.onlyIf.contains(where: { Descriptor.existsInside(work.path, $0) }) {
                    progress(.skipped(label, "none of \(step.onlyIf.joined(separator: ", ")) is present"))
                    continue
                }
                progress(.running(label))
                let record = run(step, of: effective, in: work, label: label)
                progress(.done(label, record.evidence.result))
                records.append(record)
            }
        }
        if let problem = work.remove(runner: runner) { notes.append(problem) }
        var verdict = VerdictEngine.evaluate(records.map(\.evidence), gates: gates)
        verdict.notes = Self.unique(notes + verdict.notes)
        return VerifyOutcome(
            languages: languages.map(\.language), steps: records, verdict: verdict, policyNotes: Self.unique(notes))
    }

    /// `notes` in order, each once: one refusal per step would otherwise repeat.
    static func unique(_ notes: [String]) -> [String] {
        var seen: Set<String> = []
        return notes.filter { seen.insert($0).inserted }
    }

    /// The tree's `.sandbox.yaml`, read without following links, or nil when it
    /// has none.
    public static func repositoryOverride(in tree: String) throws(VerifyError) -> RepositoryOverride? {
        try Verifier.readOverride(resolved(tree))
    }

    /// `tree` with every link the caller's path goes through resolved.
    static func resolved(_ tree: String) throws(VerifyError) -> String {
        do {
            return try HostProbe.resolve(tree, role: "tree")
        } catch {
            throw .usage("\(tree): \(error)")
        }
    }

    static func readOverride(_ tree: String) throws(VerifyError) -> RepositoryOverride? {
        let path = tree + "/.sandbox.yaml"
        do {
            guard let bytes = try Descriptor.readUntrustedFile(path, limit: RepositoryOverride.maximumBytes) else {
                return nil
            }
            return try PolicyParser.repositoryOverride(bytes, file: ".sandbox.yaml")
        } catch let error as PolicyError {
            throw .policy([error])
        } catch {
            throw .usage(".sandbox.yaml: \(error)")
        }
    }

    func run(_ step: StepPolicy, of effective: EffectivePolicy, in work: Workspace, label: String) -> StepRecord {
        let limits = effective.limits[step.name] ?? ResourceLimits()
        var evidence = StepEvidence(
            name: label, kind: step.kind, result: StepResult(status: .setupFailed), limits: limits, reports: [])
        evidence.continuesOnError = step.continueOnError
        let image = images[effective.policy.image] ?? ToolchainImage(name: effective.policy.image)
        if let missing = image.requires.first(where: { !HostProbe.exists($0) }) {
            evidence.result.setupFailure = .init(
                stage: .supervisor("toolchain"), errno: nil,
                message:
                    "toolchain not found: \(missing) (image \(image.name)); install it or adjust images/\(image.name).yaml"
            )
            evidence.reports = step.reports.map { Self.unread($0, stepKind: step.kind, reason: Self.notStarted) }
            return StepRecord(language: effective.policy.language, evidence: evidence, stdout: [], stderr: [])
        }
        var configuration = RunConfiguration(command: Self.clearingReports(step))
        configuration.workspace = work.path
        configuration.binds = image.mounts + step.mountsIfPresent.filter { HostProbe.exists($0.source) }
        configuration.network = step.network
        configuration.limits = limits
        for (name, value) in image.environment.merging(effective.policy.environment, uniquingKeysWith: { $1 }).sorted(
            by: { $0.key < $1.key })
        {
            try? configuration.setEnvironment(parsing: "\(name)=\(value)")
        }
        if !image.path.isEmpty {
            let base = configuration.environmentValue("PATH") ?? ""
            try? configuration.setEnvironment(parsing: "PATH=" + (image.path + [base]).joined(separator: ":"))
        }
        let cap = Int(min(limits.output.bytes, UInt64(Self.reportCap)))
        let run = runner.capture(configuration, stdoutCap: cap, stderrCap: cap)
        let (result, stdout, stderr) = (run.result, run.stdout, run.stderr)
        evidence.result = result
        evidence.outputTail = String(decoding: Self.tail(of: step, stdout: stdout, stderr: stderr), as: UTF8.self)
        var kept: [KeptReport] = []
        evidence.reports = step.reports.map { spec in
            let (report, bytes) = collect(
                spec, stepKind: step.kind, stdout: stdout, stderr: stderr, work: work,
                stepStarted: evidence.result.status != .setupFailed,
                outputCut: evidence.result.limitsHit.contains(.output))
            if keepsReportFiles, let bytes { kept.append(KeptReport(name: report.name, bytes: bytes)) }
            return report
        }
        var record = StepRecord(language: effective.policy.language, evidence: evidence, stdout: stdout, stderr: stderr)
        record.reportFiles = kept
        return record
    }

    /// What to quote when the step fails unexplained: the end of standard error;
    /// of standard output when standard error is blank and no report reads it.
    static func tail(of step: StepPolicy, stdout: [UInt8], stderr: [UInt8]) -> ArraySlice<UInt8> {
        let blank = stderr.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        let readsStdout = step.reports.contains { $0.source == .stdout }
        return (blank && !readsStdout ? stdout : stderr).suffix(StepEvidence.outputTailBytes)
    }

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

    /// Reads one report. Files are read from inside a sandbox (`cat` in the
    /// sandbox's view of the workspace) and arrive through a pipe, size-capped:
    /// the supervisor never opens a path the step could have planted. A file
    /// report's bytes come back beside it, to be kept with `--out`.
    func collect(
        _ spec: ReportSpec, stepKind: StepKind, stdout: [UInt8], stderr: [UInt8], work: Workspace,
        stepStarted: Bool, outputCut: Bool
    ) -> (ReportEvidence, [UInt8]?) {
        let name: String
        let bytes: [UInt8]
        switch spec.source {
        case .stdout:
            name = "stdout"
            bytes = stdout
        case .stderr:
            name = "stderr"
            bytes = stderr
        case .file(let path):
            name = spec.displayName
            guard stepStarted else { return (Self.unread(spec, stepKind: stepKind, reason: Self.notStarted), nil) }
            switch work.readInside(path, runner: runner, cap: Self.reportCap) {
            case .success(let read): bytes = read
            case .failure(let failure): return (Self.unread(spec, stepKind: stepKind, reason: failure.reason), nil)
            }
        }
        let evidence = ReportReader.evidence(
            bytes, spec: spec, stepKind: stepKind, file: name, outputCut: outputCut && !spec.isFile)
        return (evidence, spec.isFile ? bytes : nil)
    }

    /// Why a step that never started has no report.
    static let notStarted = "not written: the step could not start"

    static func unread(_ spec: ReportSpec, stepKind: StepKind, reason: String) -> ReportEvidence {
        let name = spec.displayName
        return ReportEvidence(
            name: name, kind: ReportReader.kind(of: spec, in: stepKind),
            content: .failure(ReportError(file: name, reason: reason)))
    }
}

extension ReportSpec {
    var isFile: Bool {
        if case .file = source { return true }
        return false
    }

    /// The report's file name, or the stream it is read from.
    var displayName: String {
        switch source {
        case .file(let path): String(path.split(separator: "/").last ?? "report")
        case .stdout: "stdout"
        case .stderr: "stderr"
        }
    }
}
