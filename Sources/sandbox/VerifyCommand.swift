public import ArgumentParser
import Glibc
import SandboxModel
import SandboxVerdict
import SandboxVerify

/// `sandbox verify`: run a tree's test, lint and coverage steps in sandboxes and
/// decide whether it is ready to merge.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Decide whether a source tree is ready to merge, from its tools run in sandboxes.",
        discussion: "Exit status: 0 merge-ready, 1 not ready, 2 usage or policy error, 3 the sandbox could not run.")

    @Argument(
        help:
            "The source tree, or with --ref the git repository (default: the current directory). It is never modified."
    )
    var path: String = "."

    @Option(
        help: ArgumentHelp(
            "Verify this commit, branch or tag of the repository at <path>, read from git's objects (no checkout).",
            valueName: "REF"))
    var ref: String?

    @Option(
        help: ArgumentHelp(
            "The trusted commit, branch or tag REF is judged against (needs --ref).", valueName: "BASE"))
    var base: String?

    @OptionGroup var policy: PolicyOptions

    @Option(
        name: .customLong("language"),
        help: ArgumentHelp(
            "Verify as this language whatever the tree's marker files say (repeatable); without it, detected.",
            valueName: "LANG"))
    var languages: [String] = []

    @Option(
        name: .customLong("workspace-size"),
        help: ArgumentHelp("Bound of the working copy (tmpfs as root).", valueName: "SIZE"))
    var workspaceSize: String = "4G"

    @Option(help: "text, json, markdown (a PR comment) or github (workflow annotations and a step summary).")
    var format: VerifyOutputs.Format = .text

    @Option(help: ArgumentHelp("Keep every step's output and the verdict here.", valueName: "DIR"))
    var out: String?

    @Option(help: ArgumentHelp("Write every step's test results as one JUnit file.", valueName: "FILE"))
    var junit: String?

    @Option(
        help: ArgumentHelp(
            "Write every lint finding and compiler diagnostic as one SARIF 2.1.0 log.", valueName: "FILE"))
    var sarif: String?

    func validate() throws {
        _ = try workspaceBound()
        if base != nil && ref == nil {
            throw ValidationError("--base needs --ref: the commit judged against it")
        }
    }

    func workspaceBound() throws -> ByteSize {
        do {
            return try ByteSize(parsing: workspaceSize, option: "--workspace-size")
        } catch {
            throw ValidationError("\(error)")
        }
    }

    var outputs: VerifyOutputs {
        var outputs = VerifyOutputs()
        outputs.format = format
        outputs.directory = out
        outputs.junit = junit
        outputs.sarif = sarif
        outputs.stepSummary = getenv("GITHUB_STEP_SUMMARY").flatMap { String(validatingCString: $0) }
        return outputs
    }

    func run() throws {
        // From here, SIGINT, SIGTERM, SIGHUP and SIGQUIT stop verify cleanly: the
        // step running is given the signal, the working copy is removed, and verify
        // dies of the same signal.
        var verifier = Verifier(try policy.load(), stopsOnSignals: true)
        verifier.workspaceSize = try workspaceBound()
        verifier.keepsReportFiles = out != nil
        let outputs = self.outputs
        let outcome = try Failure.exiting { () throws(VerifyError) in
            try outputs.prepare()
            let progress = ProgressDisplay()
            defer { progress.finish() }
            if let ref {
                return try verifier.verify(
                    repository: path, ref: ref, base: base, languages: languages, progress: progress.handle)
            }
            return try verifier.verify(tree: path, languages: languages, progress: progress.handle)
        }
        FileDescriptorOutput.standardOutput.write(outputs.rendered(outcome.verdict))
        try Failure.exiting { () throws(VerifyError) in try outputs.write(outcome) }
        throw ExitCode(outcome.verdict.mergeReady ? 0 : 1)
    }
}

extension VerifyOutputs.Format: ExpressibleByArgument {}

/// The trusted policy directory, shared by `verify` and `policy show`.
struct PolicyOptions: ParsableArguments {
    @Option(name: .customLong("policy-dir"), help: "Trusted policies (default: the bundled policies/).")
    var directory: String?

    /// The policies and images, or the exit their errors call for.
    func load() throws -> TrustedPolicies {
        try Failure.exiting { () throws(VerifyError) in try TrustedPolicies.load(directory) }
    }
}

/// How a `VerifyError` ends `sandbox`: its lines on standard error, each one
/// line however it reads (a message may quote the untrusted tree), and its exit
/// status: 2 for what the user or a policy got wrong, 3 when no sandbox could run.
enum Failure {
    static func exiting<T>(prefix: String = "sandbox: ", _ body: () throws(VerifyError) -> T) throws -> T {
        do {
            return try body()
        } catch {
            for line in "\(error)".split(separator: "\n") {
                FileDescriptorOutput.standardError.write(prefix + Escaping.singleLine(String(line)) + "\n")
            }
            switch error {
            case .usage, .policy, .output: throw ExitCode(2)
            case .sandbox: throw ExitCode(3)
            case .interrupted(let signal):
                // Dies of the signal, the working copy removed: a shell's loop or a CI
                // runner stops as it does for any command the signal ended.
                Glibc.signal(signal, SIG_DFL)
                var set = sigset_t()
                sigemptyset(&set)
                sigaddset(&set, signal)
                pthread_sigmask(SIG_UNBLOCK, &set, nil)
                raise(signal)
                throw ExitCode(128 + signal)
            }
        }
    }
}
