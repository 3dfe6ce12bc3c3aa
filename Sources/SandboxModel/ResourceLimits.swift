/// The limits one step runs under. Every one of them is enforced or the step
/// does not start.
public struct ResourceLimits: Equatable, Sendable {
    /// Memory of the whole step, swap off (cgroup; `memory.max` or `memory.limit_in_bytes`).
    public var memory = ByteSize.gibibytes(2)
    /// Processes and threads of the whole step (cgroup `pids.max`).
    public var pids: UInt64 = 256
    /// CPU seconds of the whole step.
    public var cpuTime = TimeSpan.seconds(600)
    /// Wall-clock time before the step is killed.
    public var timeout = TimeSpan.minutes(15)
    /// Bytes relayed per stream (stdout, stderr) before the step is stopped.
    public var output = ByteSize.mebibytes(16)
    /// Size of the private /tmp (and of /dev/shm).
    public var tmpSize = ByteSize.mebibytes(512)
    /// Largest file the command may write (RLIMIT_FSIZE).
    public var fileSize = ByteSize.gibibytes(1)
    /// Open descriptors per process (RLIMIT_NOFILE).
    public var openFiles: UInt64 = 1024

    public init() {}
}

/// A limit a step can reach, by the name the result record uses.
public enum Limit: String, CaseIterable, Sendable, Comparable {
    case memory
    case pids
    case cpuTime = "cpu-time"
    case timeout
    case output
    case fileSize = "file-size"
    case seccomp

    public static func < (lhs: Limit, rhs: Limit) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
