import CSandbox
import Glibc
public import SandboxModel

/// What a step's cgroup counted.
public struct CgroupUsage: Equatable, Sendable {
    public var peakMemoryBytes: UInt64?
    /// Processes killed at the memory limit.
    public var memoryLimitKills: UInt64 = 0
    /// Forks refused at the process limit.
    public var pidsLimitRefusals: UInt64 = 0
    /// CPU time of the whole group, when the host accounts it.
    public var cpuNanoseconds: UInt64?

    public init() {}
}

/// The cgroup one step runs in: created with its limits before the step, the
/// step's init attached, counters read after, removed at the end.
public protocol StepCgroup: AnyObject {
    /// "cgroup v1", "cgroup v2": how the limits are enforced.
    var mode: String { get }
    /// Whether the group accounts CPU time, so the whole step's can be limited.
    var accountsCPU: Bool { get }
    func attach(_ pid: Int32) throws
    func usage() -> CgroupUsage
    /// Removes the group; the step's processes must be gone.
    func destroy()
}

/// Which cgroup hierarchy the host offers this process.
public enum CgroupHost: Sendable, Equatable {
    /// The unified hierarchy, with memory and pids available: its mount point and our path.
    case v2(directory: String)
    /// Controller directories of this process's own v1 groups.
    case v1(memory: String, pids: String, cpuacct: String?)
    /// No usable hierarchy with both memory and pids.
    case unavailable(reason: String)

    /// Reads /proc/self/mountinfo and /proc/self/cgroup.
    public static func detect() -> CgroupHost {
        guard let mountinfo = Descriptor.readSmallFile("/proc/self/mountinfo"),
            let membership = Descriptor.readSmallFile("/proc/self/cgroup")
        else { return .unavailable(reason: "cannot read /proc/self/mountinfo") }
        return detect(
            mountinfo: mountinfo, membership: membership,
            controllersOf: { path in
                Descriptor.readSmallFile(path + "/cgroup.controllers")
            })
    }

    /// A cgroup hierarchy's mount: where it is, which of its paths is mounted, and
    /// (v1) which controllers it carries.
    struct Mount {
        var mountPoint: String
        var root: String
        var controllers: [Substring]

        /// The directory of `path` (a /proc/self/cgroup path) under this mount.
        func directory(of path: String) -> String {
            var relative = Substring(path)
            if root != "/" && relative.hasPrefix(root) { relative = relative.dropFirst(root.count) }
            let joined = mountPoint + (relative.first == "/" ? "" : "/") + relative
            return joined.last == "/" ? String(joined.dropLast()) : joined
        }
    }

    /// The decision, from the two files' text; `controllersOf` reads a v2 group's controllers.
    public static func detect(mountinfo: String, membership: String, controllersOf: (String) -> String?) -> CgroupHost {
        var v1Mounts: [Mount] = []
        var v2Mount: Mount?
        // "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS"
        for line in mountinfo.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 10, let dash = fields.firstIndex(of: "-"), dash >= 6, fields.count > dash + 3 else {
                continue
            }
            let type = fields[dash + 1]
            guard type == "cgroup" || type == "cgroup2" else { continue }
            let mount = Mount(
                mountPoint: unescapeMountPath(String(fields[4])), root: String(fields[3]),
                controllers: fields[dash + 3].split(separator: ","))
            if type == "cgroup2" {
                v2Mount = v2Mount ?? mount
            } else {
                v1Mounts.append(mount)
            }
        }
        // "ID:CONTROLLERS:PATH", with "0::PATH" for the unified hierarchy.
        var v1Memberships: [(controllers: [Substring], path: String)] = []
        var v2Path: String?
        for line in membership.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            if fields[0] == "0" && fields[1].isEmpty {
                v2Path = String(fields[2])
            } else {
                v1Memberships.append((fields[1].split(separator: ","), String(fields[2])))
            }
        }
        if let v2Mount, let v2Path {
            let own = v2Mount.directory(of: v2Path)
            let controllers = controllersOf(own)?.split(whereSeparator: { $0 == " " || $0 == "\n" }) ?? []
            if controllers.contains("memory") && controllers.contains("pids") {
                return .v2(directory: own)
            }
        }
        func v1Directory(_ controller: Substring) -> String? {
            guard let mount = v1Mounts.first(where: { $0.controllers.contains(controller) }),
                let membership = v1Memberships.first(where: { $0.controllers.contains(controller) })
            else { return nil }
            return mount.directory(of: membership.path)
        }
        if let memory = v1Directory("memory"), let pids = v1Directory("pids") {
            return .v1(memory: memory, pids: pids, cpuacct: v1Directory("cpuacct"))
        }
        return .unavailable(
            reason: "neither a cgroup v2 hierarchy with memory and pids nor v1 memory and pids controllers is mounted")
    }

    /// mountinfo escapes spaces and the like as octal.
    static func unescapeMountPath(_ text: String) -> String {
        guard text.contains(Character("\\")) else { return text }
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.first {
            if byte == UInt8(ascii: "\\"), utf8.count >= 4,
                let value = UInt8(String(decoding: utf8.dropFirst().prefix(3), as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(4)
            } else {
                bytes.append(byte)
                utf8 = utf8.dropFirst()
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public var modeName: String {
        switch self {
        case .v2: "cgroup v2"
        case .v1: "cgroup v1"
        case .unavailable: "none"
        }
    }

    /// The directory step groups live in, under this process's own group.
    static let stepsDirectoryName = "sandbox-steps"

    /// Whether this process may create step groups here: a cheap check made
    /// before the clone, which decides between cgroup limits and the rootless
    /// fallback. Creation itself can still fail, and then the step does not start.
    public var canCreateSteps: Bool {
        let roots: [String]
        switch self {
        case .v2(let directory): roots = [directory]
        case .v1(let memory, let pids, let cpuacct): roots = [memory, pids] + (cpuacct.map { [$0] } ?? [])
        case .unavailable: return false
        }
        return roots.allSatisfy { root in
            let steps = root + "/" + Self.stepsDirectoryName
            return access(steps, F_OK) == 0 ? access(steps, W_OK) == 0 : access(root, W_OK) == 0
        }
    }

    /// Creates the group for one step, with its limits written and verified.
    public func createStep(limits: ResourceLimits) throws -> any StepCgroup {
        let name = "step-\(getpid())-\(StepName.next())"
        switch self {
        case .v2(let directory):
            return try CgroupV2Step(own: directory, name: name, limits: limits)
        case .v1(let memory, let pids, let cpuacct):
            return try CgroupV1Step(memory: memory, pids: pids, cpuacct: cpuacct, name: name, limits: limits)
        case .unavailable(let reason):
            throw SystemError("cgroup", errno: nil, hint: reason)
        }
    }

    /// Under v1, moving a task costs the kernel an RCU grace period (about 6 ms
    /// here) the first time after a quiet spell. Paying it on a side thread while
    /// the step is being prepared makes the real attach nearly free. v2 hosts want
    /// CLONE_INTO_CGROUP instead, which needs no move at all.
    public func warmAttach() {
        if case .v1(_, let pids, _) = self, geteuid() == 0 {
            _ = sbx_cgroup_warm_attach(pids + "/tasks")
        }
    }

    /// Removes step groups left behind by supervisors that no longer run.
    public func removeAbandonedSteps() {
        let parents: [String]
        switch self {
        case .v2(let directory): parents = [directory + "/" + Self.stepsDirectoryName]
        case .v1(let memory, let pids, let cpuacct):
            parents = ([memory, pids] + (cpuacct.map { [$0] } ?? [])).map { $0 + "/" + Self.stepsDirectoryName }
        case .unavailable: return
        }
        for parent in parents {
            for entry in CgroupFiles.subdirectories(of: parent) {
                let fields = entry.split(separator: "-")
                guard fields.count == 3, fields[0] == "step", let owner = pid_t(fields[1]) else { continue }
                if kill(owner, 0) != 0 && errno == ESRCH {
                    CgroupFiles.killAndRemove(parent + "/" + entry)
                }
            }
        }
    }
}

/// A process-wide counter for step names.
enum StepName {
    nonisolated(unsafe) private static var counter = 0
    private static let lock = Lock()

    static func next() -> Int {
        lock.withLock {
            counter += 1
            return counter
        }
    }
}

/// A pthread mutex, for the rare shared counters.
final class Lock: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }
}

/// File-level helpers shared by both versions.
enum CgroupFiles {
    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw SystemError.last(
                "mkdir", path: path,
                hint: errno == EACCES || errno == EROFS ? "no permission to create cgroups here" : nil)
        }
    }

    /// The value after `key` in a "key value" file such as memory.events.
    static func counter(_ text: String?, _ key: String) -> UInt64? {
        guard let text else { return nil }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2 && fields[0] == key { return UInt64(fields[1]) }
        }
        return nil
    }

    /// Whether the kernel was booted not to charge socket memory to cgroups
    /// (`cgroup.memory=nosocket` on its command line).
    static var socketMemoryUncharged: Bool {
        (Descriptor.readSmallFile("/proc/cmdline") ?? "").split(separator: " ").contains { word in
            word.hasPrefix("cgroup.memory=")
                && word.dropFirst("cgroup.memory=".count).split(separator: ",").contains("nosocket")
        }
    }

    /// Whether any swap is active (/proc/swaps lists more than its header).
    static var hostHasSwap: Bool {
        (Descriptor.readSmallFile("/proc/swaps")?.split(separator: "\n").count ?? 0) > 1
    }

    static func number(_ text: String?) -> UInt64? {
        text.flatMap { UInt64($0.trimmingCharacters(in: "\n")) }
    }

    static func subdirectories(of path: String) -> [String] {
        (HostProbe.directoryEntries(path) ?? []).filter { HostProbe.isDirectory(path + "/" + $0) }
    }

    /// Kills whatever is left in a group and removes it, retrying while the
    /// kernel finishes tearing the processes down.
    static func killAndRemove(_ path: String) {
        for attempt in 0..<50 {
            if rmdir(path) == 0 || errno == ENOENT { return }
            if let procs = Descriptor.readSmallFile(path + "/cgroup.procs") {
                for line in procs.split(separator: "\n") {
                    if let pid = pid_t(line) { kill(pid, SIGKILL) }
                }
            }
            usleep(attempt < 10 ? 1000 : 10000)
        }
    }
}
