public import SandboxPolicy

/// Why `sandbox verify` (or `sandbox policy`) could not give its answer. Each
/// case is one exit status, mapped in one place by the CLI.
public enum VerifyError: Error, CustomStringConvertible, Sendable {
    /// A mistake in what the user gave: a path, an option's value (exit 2).
    case usage(String)
    /// Policies or images that do not validate, each error at its file:line (exit 2).
    case policy([PolicyError])
    /// A result that could not be written once the verdict was out (exit 2).
    case output(String)
    /// The sandbox itself could not run (exit 3).
    case sandbox(String)
    /// A signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT) stopped the run before its
    /// verdict; the step running was given it, and the working copy removed
    /// (verify then dies of the same signal).
    case interrupted(Int32)

    public var description: String {
        switch self {
        case .usage(let message), .output(let message), .sandbox(let message): message
        case .policy(let errors): errors.map(\.description).joined(separator: "\n")
        case .interrupted(let signal):
            "interrupted by signal \(signal): no verdict; the step running was stopped and the working copy removed"
        }
    }
}
