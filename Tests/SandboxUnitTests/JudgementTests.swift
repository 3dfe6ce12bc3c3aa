import Glibc
import SandboxKernel
import Testing

@testable import SandboxModel

/// How a step's end is judged from what the supervisor saw.
@Suite struct JudgementTests {
    static func exited(_ code: Int32) -> CommandEnd { CommandEnd(waitStatus: code << 8) }
    static func signaled(_ signal: Int32) -> CommandEnd { CommandEnd(waitStatus: signal) }

    @Test func cleanExit() {
        let result = StepObservation(commandEnd: Self.exited(0)).judged()
        #expect(result.status == .exited)
        #expect(result.exitCode == 0)
        #expect(result.signal == nil)
        #expect(result.limitsHit.isEmpty)
        #expect(result.exitStatus == 0)
    }

    @Test func exitCodeIsKept() {
        let result = StepObservation(commandEnd: Self.exited(3)).judged()
        #expect(result.status == .exited)
        #expect(result.exitStatus == 3)
    }

    @Test func plainSignal() {
        let result = StepObservation(commandEnd: Self.signaled(SIGSEGV)).judged()
        #expect(result.status == .signaled)
        #expect(result.signal == SIGSEGV)
        #expect(result.exitCode == nil)
        #expect(result.exitStatus == 139)
    }

    @Test func killedAtTheMemoryLimit() {
        var observation = StepObservation(commandEnd: Self.signaled(SIGKILL))
        observation.memoryLimitKills = 1
        let result = observation.judged()
        #expect(result.status == .memoryLimit)
        #expect(result.limitsHit == [.memory])
        #expect(result.exitStatus == 137)
    }

    @Test func memoryLimitHitButTheCommandSurvived() {
        var observation = StepObservation(commandEnd: Self.exited(0))
        observation.memoryLimitKills = 2
        let result = observation.judged()
        #expect(result.status == .exited)
        #expect(result.limitsHit == [.memory])
    }

    @Test func forkRefusedAndTheCommandFailed() {
        var observation = StepObservation(commandEnd: Self.exited(1))
        observation.pidsLimitRefusals = 40
        #expect(observation.judged().status == .pidsLimit)
        #expect(observation.judged().exitCode == 1)
    }

    @Test func forkRefusedButTheCommandSucceeded() {
        var observation = StepObservation(commandEnd: Self.exited(0))
        observation.pidsLimitRefusals = 1
        let result = observation.judged()
        #expect(result.status == .exited)
        #expect(result.limitsHit == [.pids])
    }

    @Test func timeoutTearsDownWithoutAWaitStatus() {
        var observation = StepObservation()
        observation.supervisorKill = .timeout
        let result = observation.judged()
        #expect(result.status == .timeout)
        #expect(result.signal == SIGKILL)
        #expect(result.limitsHit == [.timeout])
        #expect(result.exitStatus == 137)
    }

    @Test func outputLimit() {
        var observation = StepObservation()
        observation.supervisorKill = .outputLimit
        #expect(observation.judged().status == .outputLimit)
        #expect(observation.judged().limitsHit == [.output])
    }

    @Test func cpuLimitBySIGXCPU() {
        var observation = StepObservation(commandEnd: Self.signaled(SIGXCPU))
        observation.cpuSeconds = 1.0
        observation.cpuLimitSeconds = 1.0
        #expect(observation.judged().status == .cpuTimeLimit)
        #expect(observation.judged().limitsHit == [.cpuTime])
    }

    @Test func cpuLimitOfTheWholeGroup() {
        var observation = StepObservation()
        observation.supervisorKill = .cpuTime
        #expect(observation.judged().status == .cpuTimeLimit)
    }

    @Test func fileSizeLimitIsASignalWithTheLimitNamed() {
        let result = StepObservation(commandEnd: Self.signaled(SIGXFSZ)).judged()
        #expect(result.status == .signaled)
        #expect(result.limitsHit == [.fileSize])
    }

    @Test func refusedCallUnderKillProfile() {
        var observation = StepObservation()
        observation.supervisorKill = .refusedSyscall
        let result = observation.judged()
        #expect(result.status == .signaled)
        #expect(result.signal == SIGSYS)
        #expect(result.limitsHit == [.seccomp])
    }

    @Test func setupFailureWins() {
        var observation = StepObservation(commandEnd: Self.exited(125))
        observation.setupFailure = .init(
            stage: .sandbox(.pivotRoot), errno: 1, message: "pivot_root: Operation not permitted")
        let result = observation.judged()
        #expect(result.status == .setupFailed)
        #expect(result.exitStatus == 125)
    }

    @Test func commandNotFoundIs127AndNotExecutable126() {
        var result = StepResult(status: .setupFailed)
        result.setupFailure = .init(stage: .exec("nope"), errno: 2, message: "")
        #expect(result.exitStatus == 127)
        result.setupFailure = .init(stage: .exec("./x"), errno: 13, message: "")
        #expect(result.exitStatus == 126)
        // Only execve itself: another stage whose name reads like it is the sandbox's failure.
        result.setupFailure = .init(stage: .supervisor("execve helper"), errno: 2, message: "")
        #expect(result.exitStatus == 125)
        result.setupFailure = .init(stage: .rootOperation("mount execve at /x"), errno: 2, message: "")
        #expect(result.exitStatus == 125)
    }

    @Test func severalLimitsAreAllListedInOrder() {
        var observation = StepObservation()
        observation.supervisorKill = .timeout
        observation.memoryLimitKills = 1
        observation.pidsLimitRefusals = 3
        #expect(observation.judged().limitsHit == [.memory, .pids, .timeout])
    }
}

@Suite struct ResultRecordTests {
    @Test func jsonHasEveryFieldInOrder() {
        var result = StepResult(status: .memoryLimit, signal: 9)
        result.wallSeconds = 1.2345
        result.cpuSeconds = 0.5
        result.peakMemoryBytes = 1 << 30
        result.limitsHit = [.memory]
        result.deniedSyscalls = [.init(name: "ptrace", count: 2)]
        #expect(
            result.json == """
                {
                  "status": "memory-limit",
                  "exitCode": null,
                  "signal": 9,
                  "wallSeconds": 1.235,
                  "cpuSeconds": 0.500,
                  "peakMemoryBytes": 1073741824,
                  "stdoutBytes": 0,
                  "stderrBytes": 0,
                  "limitsHit": ["memory"],
                  "deniedSyscalls": [{"name": "ptrace", "count": 2}]
                }

                """)
    }

    @Test func setupFailureMessageIsEscaped() {
        var result = StepResult(status: .setupFailed)
        result.setupFailure = .init(stage: .rootOperation("mount /x\"y"), errno: 1, message: "a\nb\u{1}\\")
        #expect(
            result.json.contains(#""setupFailure": {"stage": "mount /x\"y", "errno": 1, "message": "a\nb\u0001\\"}"#))
    }

    /// The kernel layer decodes wait(2)'s status and names the signals that mean
    /// something for a step; the judgement reads meanings, never numbers.
    @Test func waitStatusesAreDecodedByTheKernelLayer() {
        #expect(CommandEnd(waitStatus: 3 << 8) == .exited(3))
        #expect(CommandEnd(waitStatus: SIGSEGV) == .signaled(Signal(number: SIGSEGV)))
        // A core dump sets 0x80 beside the signal.
        #expect(CommandEnd(waitStatus: SIGKILL | 0x80) == .signaled(Signal(number: SIGKILL, meaning: .kill)))
        #expect(Signal(host: SIGXFSZ).meaning == .fileSizeExceeded)
        #expect(Signal(host: SIGUSR1).meaning == nil)
    }
}
