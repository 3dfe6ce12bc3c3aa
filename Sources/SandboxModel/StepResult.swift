/// How a step ended, and what it used: the result record.
public struct StepResult: Equatable, Sendable {
    /// Why the step ended, by the name the record uses.
    public enum Status: String, Sendable {
        case exited
        case signaled
        case timeout
        case memoryLimit = "memory-limit"
        case pidsLimit = "pids-limit"
        case cpuTimeLimit = "cpu-time-limit"
        case outputLimit = "output-limit"
        case setupFailed = "setup-failed"
    }

    /// A system call the filter refused, and how often.
    public struct DeniedSyscall: Equatable, Sendable {
        public var name: String
        public var count: Int

        public init(name: String, count: Int) {
            self.name = name
            self.count = count
        }
    }

    /// Where the sandbox could not be set up.
    public struct SetupFailure: Equatable, Sendable {
        /// The operation that failed: "pivot_root", "cgroup memory.limit_in_bytes".
        public var stage: SetupStage
        /// The errno, when the failure came from a system call.
        public var errno: Int32?
        /// One line for a person: "pivot_root: Operation not permitted".
        public var message: String

        public init(stage: SetupStage, errno: Int32?, message: String) {
            self.stage = stage
            self.errno = errno
            self.message = message
        }
    }

    public var status: Status
    /// The command's exit code, when it exited.
    public var exitCode: Int32?
    /// The signal that ended it, when it died of one.
    public var signal: Int32?
    public var wallSeconds: Double = 0
    public var cpuSeconds: Double = 0
    public var peakMemoryBytes: UInt64 = 0
    public var stdoutBytes: UInt64 = 0
    public var stderrBytes: UInt64 = 0
    /// Every limit reached, even when the command went on.
    public var limitsHit: [Limit] = []
    public var deniedSyscalls: [DeniedSyscall] = []
    public var setupFailure: SetupFailure?

    /// ENOENT, the same on every Linux architecture.
    static let noSuchFile: Int32 = 2

    public init(status: Status, exitCode: Int32? = nil, signal: Int32? = nil) {
        self.status = status
        self.exitCode = exitCode
        self.signal = signal
    }

    /// What `sandbox run` exits with: the command's code, 128+N for signal N, 125
    /// when the sandbox could not be set up.
    public var exitStatus: Int32 {
        if status == .setupFailed {
            // As env(1) does: 127 for a command not found, 126 for one that cannot run.
            guard let failure = setupFailure, case .exec = failure.stage else { return 125 }
            return failure.errno == Self.noSuchFile ? 127 : 126
        }
        if let signal { return 128 + signal }
        return exitCode ?? 125
    }
}
