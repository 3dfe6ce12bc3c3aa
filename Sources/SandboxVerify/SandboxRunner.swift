import Glibc
package import SandboxKernel
package import SandboxModel
package import SandboxSupervisor

/// A finished sandbox: how it ended, and what it wrote, each stream cut at its cap.
package struct CapturedRun: Sendable {
    package var result: StepResult
    package var stdout: [UInt8]
    package var stderr: [UInt8]

    package init(result: StepResult, stdout: [UInt8] = [], stderr: [UInt8] = []) {
        self.result = result
        self.stdout = stdout
        self.stderr = stderr
    }

    /// A sandbox that could not be set up.
    package static func setupFailed(stage: SetupStage, errno: Int32?, message: String) -> CapturedRun {
        var result = StepResult(status: .setupFailed)
        result.setupFailure = .init(stage: stage, errno: errno, message: message)
        return CapturedRun(result: result)
    }
}

/// How verification reaches sandboxes. `sandbox verify` always uses the
/// `Supervisor`; only this package's tests give another (for the verifier's own
/// logic, where no sandbox can start), which is why this is not public: a
/// verdict is a statement about steps run under containment.
package protocol SandboxRunner: Sendable {
    /// Runs `configuration` to its end, keeping at most the caps of its output.
    func capture(_ configuration: RunConfiguration, stdoutCap: Int, stderrCap: Int) -> CapturedRun
    /// How this runner's limits fall short of a cgroup's, for the verdict's notes.
    var enforcementNote: String? { get }
    /// The host uid and gid its sandboxes run as, which own the working copy.
    var hostIdentity: (uid: UInt32, gid: UInt32) { get }
    /// This runner with one host uid held for every run it makes from here on
    /// (a verification's steps share one working copy, which that uid owns).
    func holdingOneIdentity() throws(SystemError) -> any SandboxRunner
}

extension SandboxRunner {
    package var hostIdentity: (uid: UInt32, gid: UInt32) { (geteuid(), getegid()) }
    package func holdingOneIdentity() throws(SystemError) -> any SandboxRunner { self }
}

extension Supervisor: SandboxRunner {
    package var enforcementNote: String? { weakerEnforcement }

    /// Root's runs are the leased uid's; an ordinary user's, that user's.
    package var hostIdentity: (uid: UInt32, gid: UInt32) {
        identity.map { ($0.uid, $0.uid) } ?? (geteuid(), getegid())
    }

    package func holdingOneIdentity() throws(SystemError) -> any SandboxRunner {
        guard geteuid() == 0, identity == nil else { return self }
        var holding = self
        holding.identity = try IdentityLease.acquire()
        return holding
    }

    /// Runs a sandbox with its output captured in anonymous files.
    package func capture(_ configuration: RunConfiguration, stdoutCap: Int, stderrCap: Int) -> CapturedRun {
        do throws(SystemError) {
            let out = try Descriptor.anonymousFile()
            defer { Descriptor.close(out) }
            let err = try Descriptor.anonymousFile()
            defer { Descriptor.close(err) }
            let result = run(configuration, stdout: out, stderr: err)
            return CapturedRun(
                result: result, stdout: Descriptor.contents(of: out, limit: stdoutCap),
                stderr: Descriptor.contents(of: err, limit: stderrCap))
        } catch {
            return .setupFailed(
                stage: .supervisor("capture"), errno: error.errno, message: "cannot capture output: \(error)")
        }
    }
}
