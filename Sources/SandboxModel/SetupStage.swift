/// A call the sandbox's own processes (its init, then the command before exec)
/// make while setting up, named as the call it is, as bubblewrap names each
/// failing call.
public enum SandboxCall: String, Sendable, CaseIterable {
    case deathSignal = "prctl(PR_SET_PDEATHSIG)"
    case dumpable = "prctl(PR_SET_DUMPABLE)"
    case setgroups = "setgroups"
    case setresgid = "setresgid"
    case setresuid = "setresuid"
    case hostname = "sethostname"
    case mountPrivate = "mount / MS_PRIVATE"
    case enterRoot = "chdir into the new root"
    case pivotRoot = "pivot_root"
    case detachOldRoot = "umount2 the old root"
    case chdirRoot = "chdir /"
    case rootReadOnly = "remount / read-only"
    case closeInherited = "close_range of inherited descriptors"
    case loopback = "bring up loopback"
    case cgroupNamespace = "unshare(CLONE_NEWCGROUP)"
    case signals = "sigprocmask"
    case fork = "clone the command"
    case session = "setsid"
    case openNull = "open /dev/null"
    case standardStreams = "dup2 onto stdin, stdout, stderr"
    case workingDirectory = "chdir to the working directory"
    case resourceLimit = "setrlimit"
    case unshareUser = "unshare(CLONE_NEWUSER)"
    case uidMap = "write /proc/self/uid_map"
    case setgroupsDeny = "write /proc/self/setgroups"
    case gidMap = "write /proc/self/gid_map"
    case capabilities = "drop capabilities"
    case noNewPrivileges = "prctl(PR_SET_NO_NEW_PRIVS)"
    case moveDescriptors = "dup3 of the failure pipe and listener socket"
    case closeRange = "close_range"
    case seccomp = "seccomp(SECCOMP_SET_MODE_FILTER)"
    case sendListener = "send the seccomp listener"
    case namespaceLimits = "write /proc/sys/user limits"
}

/// Where setting a step up failed.
public enum SetupStage: Equatable, Sendable {
    /// In the supervisor or the verifier, before the command could start: the
    /// operation or check that failed ("pipe2", "cgroup", "workspace", "toolchain").
    case supervisor(String)
    /// A call of the sandbox's init, or of the command's process before exec.
    case sandbox(SandboxCall)
    /// Opening a bind mount's source (its path), symbolic links refused.
    case openSource(String)
    /// An operation of the root's layout: "mount /usr at /usr", "mkdir /tmp".
    case rootOperation(String)
    /// execve of the command (its name): 127 when not found, 126 otherwise.
    case exec(String)

    /// The stage as the result record names it: "pivot_root", "execve pytest".
    public var name: String {
        switch self {
        case .supervisor(let operation): operation
        case .sandbox(let call): call.rawValue
        case .openSource(let path): "open \(path)"
        case .rootOperation(let description): description
        case .exec(let command): "execve \(command)"
        }
    }
}
