/// What the supervisor saw of a step, before it is judged: the raw facts from
/// wait(2), the cgroup counters and its own actions.
public struct StepObservation: Equatable, Sendable {
    /// Why the supervisor itself ended the step, if it did.
    public enum SupervisorKill: Equatable, Sendable {
        case timeout
        case outputLimit
        case cpuTime
        /// A refused system call, under a profile that says `on-deny kill`.
        case refusedSyscall
    }

    /// The command's wait status as init reported it; nil when the step was torn
    /// down before the command ended.
    public var commandWaitStatus: Int32?
    public var supervisorKill: SupervisorKill?
    /// Processes the memory limit killed (cgroup oom_kill).
    public var memoryLimitKills: UInt64 = 0
    /// Forks the process limit refused (cgroup pids.events max).
    public var pidsLimitRefusals: UInt64 = 0
    public var cpuSeconds: Double = 0
    public var cpuLimitSeconds: Double = .infinity
    public var setupFailure: StepResult.SetupFailure?

    public init(commandWaitStatus: Int32? = nil) {
        self.commandWaitStatus = commandWaitStatus
    }

    static let sigkill: Int32 = 9
    static let sigxcpu: Int32 = 24
    static let sigxfsz: Int32 = 25
    static let sigsys: Int32 = 31

    /// Judges how the step ended. Every limit reached is listed; the status names
    /// the one that ended it.
    public func judged() -> StepResult {
        if let setupFailure {
            var result = StepResult(status: .setupFailed)
            result.setupFailure = setupFailure
            return result
        }
        var exitCode: Int32?
        var signal: Int32?
        if let status = commandWaitStatus {
            if status & 0x7F == 0 {
                exitCode = (status >> 8) & 0xFF
            } else {
                signal = status & 0x7F
            }
        } else {
            // Torn down with its whole PID namespace.
            signal = Self.sigkill
        }
        var limits = Set<Limit>()
        if memoryLimitKills > 0 { limits.insert(.memory) }
        if pidsLimitRefusals > 0 { limits.insert(.pids) }
        if signal == Self.sigxfsz { limits.insert(.fileSize) }
        let cpuExhausted =
            supervisorKill == .cpuTime || signal == Self.sigxcpu
            || (signal == Self.sigkill && cpuSeconds >= cpuLimitSeconds)
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
            signal = Self.sigsys
        case .cpuTime:
            status = .cpuTimeLimit
        case nil:
            if cpuExhausted {
                status = .cpuTimeLimit
            } else if signal == Self.sigkill && memoryLimitKills > 0 {
                status = .memoryLimit
            } else if pidsLimitRefusals > 0 && (signal != nil || exitCode != 0) {
                status = .pidsLimit
            }
        }
        var result = StepResult(status: status, exitCode: signal == nil ? exitCode : nil, signal: signal)
        result.limitsHit = limits.sorted()
        result.cpuSeconds = cpuSeconds
        return result
    }
}
