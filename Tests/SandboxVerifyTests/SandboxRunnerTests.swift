import SandboxModel
import SandboxSupervisor
import SandboxVerify
import Testing

/// The supervisor as the verifier's runner: a sandbox that cannot be set up
/// comes back as a setup failure, with nothing captured.
@Suite struct SandboxRunnerTests {
    @Test func aSetupFailureComesBackAsOne() {
        var supervisor = Supervisor(cgroups: .unavailable(reason: "no hierarchy in this test"))
        supervisor.notices = -1
        let (result, stdout, stderr) = supervisor.capture(RunConfiguration(command: []), stdoutCap: 16, stderrCap: 16)
        #expect(result.status == .setupFailed)
        #expect(result.setupFailure?.message == "command (no command given)")
        #expect(stdout.isEmpty && stderr.isEmpty)
    }
}
