/// A signal, by its number on this host, and what it means for a step when it
/// means anything. The kernel layer, which knows the numbers, says which.
public struct Signal: Equatable, Sendable {
    public enum Meaning: Equatable, Sendable {
        /// SIGKILL: what the memory limit and a torn-down namespace send.
        case kill
        /// SIGXCPU: RLIMIT_CPU reached.
        case cpuTimeExceeded
        /// SIGXFSZ: RLIMIT_FSIZE reached.
        case fileSizeExceeded
        /// SIGSYS: a system call the filter refused.
        case badSystemCall
    }

    public var number: Int32
    public var meaning: Meaning?

    public init(number: Int32, meaning: Meaning? = nil) {
        self.number = number
        self.meaning = meaning
    }
}

/// How the command's process ended, as wait(2) said, decoded by the kernel layer.
public enum CommandEnd: Equatable, Sendable {
    case exited(Int32)
    case signaled(Signal)
}

/// What the supervisor saw of a step, before it is judged: how the command
/// ended, the cgroup counters and the supervisor's own actions.
public struct StepObservation: Equatable, Sendable {
    /// Why the supervisor itself ended the step, if it did.
    public enum SupervisorKill: Equatable, Sendable {
        case timeout
        case outputLimit
        case cpuTime
        /// A refused system call, under a profile that says `on-deny kill`.
        case refusedSyscall
    }

    /// How the command ended, as init reported it; nil when the step was torn
    /// down before the command ended.
    public var commandEnd: CommandEnd?
    /// What a command torn down with its PID namespace died of (SIGKILL).
    public var teardownSignal: Signal
    /// What a call refused under `on-deny kill` is reported as (SIGSYS).
    public var refusalSignal: Signal
    public var supervisorKill: SupervisorKill?
    /// Processes the memory limit killed (cgroup oom_kill).
    public var memoryLimitKills: UInt64 = 0
    /// Forks the process limit refused (cgroup pids.events max).
    public var pidsLimitRefusals: UInt64 = 0
    public var cpuSeconds: Double = 0
    public var cpuLimitSeconds: Double = .infinity
    public var setupFailure: StepResult.SetupFailure?

    public init(commandEnd: CommandEnd?, teardownSignal: Signal, refusalSignal: Signal) {
        self.commandEnd = commandEnd
        self.teardownSignal = teardownSignal
        self.refusalSignal = refusalSignal
    }

    /// Judges how the step ended. Every limit reached is listed; the status names
    /// the one that ended it.
    public func judged() -> StepResult {
        if let setupFailure {
            var result = StepResult(status: .setupFailed)
            result.setupFailure = setupFailure
            return result
        }
        var exitCode: Int32?
        var signal: Signal?
        // Without an end of its own, the command was torn down with its PID namespace.
        switch commandEnd ?? .signaled(teardownSignal) {
        case .exited(let code): exitCode = code
        case .signaled(let received): signal = received
        }
        var limits = Set<Limit>()
        if memoryLimitKills > 0 { limits.insert(.memory) }
        if pidsLimitRefusals > 0 { limits.insert(.pids) }
        if signal?.meaning == .fileSizeExceeded { limits.insert(.fileSize) }
        let killed = signal?.meaning == .kill
        let cpuExhausted =
            supervisorKill == .cpuTime || signal?.meaning == .cpuTimeExceeded
            || (killed && cpuSeconds >= cpuLimitSeconds)
        if cpuExhausted { limits.insert(.cpuTime) }

        var status: StepResult.Status = signal == nil ? .exited : .signaled
        switch supervisorKill {
        case .timeout:
            limits.insert(.timeout)
            status = .timeout
        case .outputLimit:
            limits.insert(.output)
            status = .outputLimit
        case .refusedSyscall:
            limits.insert(.seccomp)
            signal = refusalSignal
        case .cpuTime:
            status = .cpuTimeLimit
        case nil:
            if cpuExhausted {
                status = .cpuTimeLimit
            } else if killed && memoryLimitKills > 0 {
                status = .memoryLimit
            } else if pidsLimitRefusals > 0 && (signal != nil || exitCode != 0) {
                status = .pidsLimit
            }
        }
        var result = StepResult(status: status, exitCode: signal == nil ? exitCode : nil, signal: signal?.number)
        result.limitsHit = limits.sorted()
        result.cpuSeconds = cpuSeconds
        return result
    }
}
