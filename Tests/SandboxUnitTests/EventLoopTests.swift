import CSandbox
import Glibc
import SandboxModel
import SystemPackage
import Testing

@testable import SandboxKernel
@testable import SandboxSupervisor

/// The supervisor's loop over pipes it did not create by cloning: the test holds
/// the other ends and plays the sandbox's part, and a plain child process stands
/// in for init. What the loop makes of output, limits, time and setup failures
/// does not depend on namespaces.
@Suite struct EventLoopTests {
    /// The test's ends of one fake sandbox, and the loop's.
    final class FakeSandbox {
        var process: SandboxProcess
        let stdoutWriter: FileDescriptor
        let stderrWriter: FileDescriptor
        let failureWriter: FileDescriptor
        private var writersOpen = true
        let pidfd: FileDescriptor
        let relayedOut: FileDescriptor
        let relayedErr: FileDescriptor

        /// `initCommand` runs as init: its exit is what the loop watches.
        init(initCommand: [String]) throws {
            let out = try Descriptor.pipe()
            let err = try Descriptor.pipe()
            let failures = try Descriptor.pipe()
            let status = try Descriptor.pipe()
            let (listenerSocket, unused) = try Descriptor.socketPair()
            Descriptor.close(unused)
            Descriptor.close(status.write)
            let ours = [out.read, out.write, err.read, err.write, failures.read, failures.write, status.read]
            var pid: pid_t = 0
            let argv = initCommand.map { strdup($0) } + [nil]
            defer { argv.forEach { free($0) } }
            let spawned = posix_spawn(&pid, initCommand[0], nil, nil, argv, nil)
            guard spawned == 0 else {
                (ours + [listenerSocket]).forEach(Descriptor.close)
                throw SystemError("posix_spawn", errno: spawned)
            }
            let opened = sbx_pidfd_open(pid)
            guard opened >= 0 else {
                let error = SystemError.last("pidfd_open")
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
                (ours + [listenerSocket]).forEach(Descriptor.close)
                throw error
            }
            pidfd = FileDescriptor(rawValue: opened)
            process = SandboxProcess(
                initPid: pid, stdout: out.read, stderr: err.read, failures: failures.read, status: status.read,
                listenerSocket: listenerSocket)
            stdoutWriter = out.write
            stderrWriter = err.write
            failureWriter = failures.write
            relayedOut = try Descriptor.anonymousFile()
            relayedErr = try Descriptor.anonymousFile()
        }

        /// Init is reaped only here, so its pid cannot be reused (and another
        /// process killed) while the test holds it.
        deinit {
            kill(process.initPid, SIGKILL)
            var status: Int32 = 0
            waitpid(process.initPid, &status, 0)
            process.closeAll()
            closeWriters()
            [pidfd, relayedOut, relayedErr].forEach(Descriptor.close)
        }

        /// Closes the test's ends, as the sandbox's processes do when they exit.
        /// Each once: tests run in parallel, and a number closed twice may by then
        /// be another test's descriptor.
        func closeWriters() {
            guard writersOpen else { return }
            writersOpen = false
            [stdoutWriter, stderrWriter, failureWriter].forEach(Descriptor.close)
        }

        func loop(limits: ResourceLimits = ResourceLimits(), command: [String] = ["/bin/true"]) -> EventLoop {
            var configuration = RunConfiguration(command: command)
            configuration.limits = limits
            return EventLoop(
                process: process, pidfd: pidfd, configuration: configuration, cgroup: nil,
                outputs: [OutputChannel(relayedOut), OutputChannel(relayedErr)], signals: nil, started: Clock.now())
        }

        func relayed(_ fd: FileDescriptor) -> String {
            String(decoding: Descriptor.contents(of: fd, limit: 1 << 20), as: UTF8.self)
        }
    }

    @Test func outputIsRelayedAndCountedPerStream() throws {
        let sandbox = try FakeSandbox(initCommand: ["/bin/true"])
        try Descriptor.writeAll(sandbox.stdoutWriter, "5 tests passed\n")
        try Descriptor.writeAll(sandbox.stderrWriter, "warning\n")
        sandbox.closeWriters()
        var loop = sandbox.loop()
        loop.run()
        #expect(sandbox.relayed(sandbox.relayedOut) == "5 tests passed\n")
        #expect(sandbox.relayed(sandbox.relayedErr) == "warning\n")
        #expect(loop.bytesRead == [15, 8])
        #expect(loop.observation.supervisorKill == nil)
        #expect(loop.initExited != nil)
    }

    /// Output past the limit is counted but not relayed, and ends the step, even
    /// when it was still in the pipe after init exited.
    @Test func outputPastTheLimitIsCutAndEndsTheStep() throws {
        let sandbox = try FakeSandbox(initCommand: ["/bin/true"])
        try Descriptor.writeAll(sandbox.stdoutWriter, "0123456789")
        sandbox.closeWriters()
        var limits = ResourceLimits()
        limits.output = ByteSize(bytes: 4)
        var loop = sandbox.loop(limits: limits)
        loop.run()
        #expect(sandbox.relayed(sandbox.relayedOut) == "0123")
        #expect(loop.bytesRead[0] == 10)
        #expect(loop.observation.supervisorKill == .outputLimit)
        #expect(loop.observation.judged().limitsHit.contains(.output))
    }

    @Test func aStepPastItsDeadlineIsKilled() throws {
        let sandbox = try FakeSandbox(initCommand: ["/bin/sleep", "30"])
        sandbox.closeWriters()
        var limits = ResourceLimits()
        limits.timeout = TimeSpan(milliseconds: 200)
        var loop = sandbox.loop(limits: limits)
        loop.run()
        #expect(loop.observation.supervisorKill == .timeout)
        // Looked at, not reaped (WNOWAIT): the fake sandbox reaps it when it goes.
        var info = siginfo_t()
        #expect(waitid(P_PID, id_t(sandbox.process.initPid), &info, WEXITED | WNOWAIT) == 0)
        #expect(info.si_code == CLD_KILLED, "init was killed, not left to sleep")
        #expect(info._sifields._sigchld.si_status == SIGKILL)
    }

    /// A child's failure record names the stage; the first one is the cause.
    @Test func aSetupFailureNamesItsStage() throws {
        let sandbox = try FakeSandbox(initCommand: ["/bin/true"])
        for stage in [SBX_STAGE_EXEC, SBX_STAGE_CHDIR] {
            var failure = sbx_failure(stage: Int32(stage.rawValue), error: ENOENT, detail: 0)
            try withUnsafeBytes(of: &failure) { try Descriptor.writeAll(sandbox.failureWriter, $0) }
        }
        sandbox.closeWriters()
        var loop = sandbox.loop(command: ["pytest", "-q"])
        loop.run()
        let failure = try #require(loop.observation.setupFailure)
        #expect(failure.stage == .exec("pytest"))
        #expect(failure.errno == ENOENT)
        #expect(failure.message == "execve pytest: No such file or directory")
        #expect(loop.observation.judged().status == .setupFailed)
    }

    /// A root-building operation's failure names the operation from the plan.
    @Test func aFailedOperationIsDescribedFromThePlan() throws {
        let sandbox = try FakeSandbox(initCommand: ["/bin/true"])
        var failure = sbx_failure(stage: Int32(SBX_STAGE_OPERATION.rawValue), error: EACCES, detail: 2)
        try withUnsafeBytes(of: &failure) { try Descriptor.writeAll(sandbox.failureWriter, $0) }
        sandbox.closeWriters()
        var loop = sandbox.loop()
        loop.configurationOperations = [
            .directory("/tmp/root/usr", mode: 0o755),
            .bind(source: "/srv/checkout", target: "/workspace", readOnly: false),
        ]
        loop.run()
        // Index 0 is the root's own tmpfs; the plan's operations follow.
        #expect(loop.observation.setupFailure?.stage == .rootOperation("mount /srv/checkout at /workspace"))
        #expect(loop.observation.setupFailure?.errno == EACCES)
    }
}
