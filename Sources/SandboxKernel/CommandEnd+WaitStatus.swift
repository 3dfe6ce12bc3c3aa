import Glibc
public import SandboxModel

extension Signal {
    /// The signal numbered `number` on this host, with its meaning for a step.
    public init(host number: Int32) {
        let meaning: Meaning? =
            switch number {
            case SIGKILL: .kill
            case SIGXCPU: .cpuTimeExceeded
            case SIGXFSZ: .fileSizeExceeded
            case SIGSYS: .badSystemCall
            default: nil
            }
        self.init(number: number, meaning: meaning)
    }

    public static let kill = Signal(host: SIGKILL)
    public static let badSystemCall = Signal(host: SIGSYS)
}

extension CommandEnd {
    /// A wait(2) status as the kernel writes it: WIFEXITED when the low seven
    /// bits are clear, WEXITSTATUS the next eight; else WTERMSIG in those seven.
    public init(waitStatus status: Int32) {
        self = status & 0x7F == 0 ? .exited((status >> 8) & 0xFF) : .signaled(Signal(host: status & 0x7F))
    }
}

extension StepObservation {
    /// Nothing observed yet, with this host's signals for a teardown and a refusal.
    public init(commandEnd: CommandEnd? = nil) {
        self.init(commandEnd: commandEnd, teardownSignal: .kill, refusalSignal: .badSystemCall)
    }
}
