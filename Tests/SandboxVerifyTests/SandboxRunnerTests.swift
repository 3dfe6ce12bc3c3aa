import SandboxModel
import SandboxSupervisor
import Testing

@testable import SandboxVerify

/// The supervisor as the verifier's runner: a sandbox that cannot be set up
/// comes back as a setup failure, with nothing captured.
@Suite struct SandboxRunnerTests {
    @Test func aSetupFailureComesBackAsOne() {
        let supervisor = Supervisor(cgroups: .unavailable(reason: "no hierarchy in this test"))
        let run = supervisor.capture(RunConfiguration(command: []), stdoutCap: 16, stderrCap: 16)
        #expect(run.result.status == .setupFailed)
        #expect(run.result.setupFailure?.message == "command (no command given)")
        #expect(run.stdout.isEmpty && run.stderr.isEmpty)
    }
}
