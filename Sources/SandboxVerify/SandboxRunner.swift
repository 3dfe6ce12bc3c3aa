import Glibc
import SandboxKernel
public import SandboxModel
public import SandboxSupervisor

/// How verification reaches sandboxes: it runs one configuration and returns
/// the result with what the command wrote, each stream cut at its cap. The
/// `Supervisor` is the one `sandbox verify` uses. Tests of the verifier's own
/// logic may give another, which must honour the configuration's paths
/// (/workspace, its binds) the way a sandbox would.
public protocol SandboxRunner: Sendable {
    func capture(_ configuration: RunConfiguration, stdoutCap: Int, stderrCap: Int) -> (StepResult, [UInt8], [UInt8])
}

extension Supervisor: SandboxRunner {
    /// Runs a sandbox with its output captured in anonymous files.
    public func capture(_ configuration: RunConfiguration, stdoutCap: Int, stderrCap: Int) -> (
        StepResult, [UInt8], [UInt8]
    ) {
        let out = try? Descriptor.anonymousFile()
        let err = try? Descriptor.anonymousFile()
        defer {
            if let out { close(out) }
            if let err { close(err) }
        }
        guard let out, let err else {
            var result = StepResult(status: .setupFailed)
            result.setupFailure = .init(stage: "capture", errno: errno, message: "cannot create capture files in /tmp")
            return (result, [], [])
        }
        let result = run(configuration, stdout: out, stderr: err)
        return (result, Descriptor.contents(of: out, limit: stdoutCap), Descriptor.contents(of: err, limit: stderrCap))
    }
}
