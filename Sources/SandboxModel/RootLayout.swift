/// One step of building the sandbox's root, with paths as the command will see
/// them. The kernel layer runs them in order, under a fresh tmpfs.
public enum RootOperation: Equatable, Sendable {
    case directory(String, mode: UInt32)
    /// A bind mount of a host path, resolved by the caller, opened without links.
    case bind(source: String, target: String, readOnly: Bool, devices: Bool = false)
    case tmpfs(String, size: ByteSize, mode: UInt32)
    case proc(String)
    case symlink(target: String, at: String)
    case file(String, contents: String, mode: UInt32)
    /// A file of the sandbox's own with the bytes of a host file, read as the
    /// sandbox starts: an inode no other sandbox or host process holds a lock on
    /// or watches, where a bind would share the host's (`/etc/ld.so.cache`, which
    /// every dynamic program opens). The kernel layer reads it into `.bytes`.
    case copy(String, from: String, mode: UInt32)
    case bytes(String, [UInt8], mode: UInt32)
    /// Binds a path of the new root onto itself read-only (skipped when absent).
    case readOnly(String)
    /// Hides a path of the new root (skipped when absent): a file behind the
    /// new root's /dev/null, a directory behind an empty read-only tmpfs.
    case mask(String)

    /// The path inside the sandbox this operation creates or covers.
    public var path: String {
        switch self {
        case .directory(let path, _), .tmpfs(let path, _, _), .proc(let path), .file(let path, _, _),
            .copy(let path, _, _), .bytes(let path, _, _), .readOnly(let path), .mask(let path):
            path
        case .bind(_, let target, _, _): target
        case .symlink(_, let at): at
        }
    }
}

/// The parts of the host's layout the sandbox's root copies: merged-usr links,
/// and the few files of /etc it shares.
public struct HostLayout: Equatable, Sendable {
    /// Top-level entries such as /bin: a symlink target (merged /usr), or nil for a real directory.
    public var topLevel: [(name: String, symlinkTarget: String?)]
    /// Which of the shared /etc entries exist on the host (resolved paths).
    public var linkerCache: String?
    public var certificates: String?
    public var alternatives: String?
    public var resolver: String?
    /// The host directory the root's /usr and top-level directories come from:
    /// "/" for the host's own, or an image's root filesystem.
    public var root: String

    public init(
        topLevel: [(name: String, symlinkTarget: String?)], linkerCache: String? = nil,
        certificates: String? = nil, alternatives: String? = nil, resolver: String? = nil, root: String = "/"
    ) {
        self.root = root
        self.topLevel = topLevel
        self.linkerCache = linkerCache
        self.certificates = certificates
        self.alternatives = alternatives
        self.resolver = resolver
    }

    public static func == (lhs: HostLayout, rhs: HostLayout) -> Bool {
        lhs.topLevel.map(\.name) == rhs.topLevel.map(\.name)
            && lhs.topLevel.map(\.symlinkTarget) == rhs.topLevel.map(\.symlinkTarget)
            && lhs.linkerCache == rhs.linkerCache && lhs.certificates == rhs.certificates
            && lhs.alternatives == rhs.alternatives && lhs.resolver == rhs.resolver && lhs.root == rhs.root
    }

    /// The host path of `path` (absolute) in this layout's root.
    public func source(_ path: String) -> String {
        root == "/" ? path : root + path
    }

    /// The entries beside /usr that merged-usr systems turn into links.
    public static let mergedUsrNames = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"]
}

/// The sandbox's root, as a list of operations: only /usr, a generated /etc,
/// /proc, a minimal /dev, a private /tmp, /workspace and the extra binds.
public enum RootLayout {
    /// Device nodes the sandbox gets, bound from the host's.
    public static let devices = ["null", "zero", "full", "random", "urandom"]

    /// Paths of /proc that tell a step about the host and that no build or test
    /// needs: the machine's boot arguments and kernel configuration, its boot id,
    /// its keys, kernel memory and symbols, timers and scheduler state, its disks,
    /// and its ACPI, sound and SCSI devices.
    public static let maskedProcPaths = [
        "/proc/cmdline", "/proc/config.gz", "/proc/sys/kernel/random/boot_id", "/proc/kcore", "/proc/keys",
        "/proc/key-users", "/proc/kallsyms", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
        "/proc/sched_debug", "/proc/diskstats", "/proc/partitions", "/proc/mdstat", "/proc/swaps", "/proc/acpi",
        "/proc/asound", "/proc/scsi", "/proc/driver",
    ]

    /// `workspace` is the resolved host directory, or nil for a fresh tmpfs.
    /// `binds` carry resolved sources; those in `fileSources` are files, bound onto
    /// an empty file rather than a directory.
    public static func operations(
        for configuration: RunConfiguration, host: HostLayout, workspace: String?, fileSources: Set<String> = []
    ) -> [RootOperation] {
        var ops: [RootOperation] = [
            .directory("/usr", mode: 0o755),
            .bind(source: host.source("/usr"), target: "/usr", readOnly: true),
        ]
        for entry in host.topLevel {
            if let target = entry.symlinkTarget {
                ops.append(.symlink(target: target, at: "/" + entry.name))
            } else {
                ops.append(.directory("/" + entry.name, mode: 0o755))
                ops.append(.bind(source: host.source("/" + entry.name), target: "/" + entry.name, readOnly: true))
            }
        }
        ops += etc(for: configuration, host: host)
        ops += [
            .directory("/proc", mode: 0o555),
            .proc("/proc"),
        ]
        // The kernel's knobs stay out of reach even of a process that finds a way to
        // the host's root uid: the sysctls, the magic SysRq key, interrupts and buses.
        ops += ["/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus"].map { RootOperation.readOnly($0) }
        ops += [
            .directory("/dev", mode: 0o755),
            .tmpfs("/dev", size: ByteSize(bytes: 64 << 10), mode: 0o755),
        ]
        for device in devices {
            ops.append(.file("/dev/" + device, contents: "", mode: 0o666))
            ops.append(.bind(source: "/dev/" + device, target: "/dev/" + device, readOnly: false, devices: true))
        }
        ops += [
            .symlink(target: "/proc/self/fd", at: "/dev/fd"),
            .symlink(target: "/proc/self/fd/0", at: "/dev/stdin"),
            .symlink(target: "/proc/self/fd/1", at: "/dev/stdout"),
            .symlink(target: "/proc/self/fd/2", at: "/dev/stderr"),
            .directory("/dev/shm", mode: 0o755),
            .tmpfs("/dev/shm", size: configuration.limits.tmpSize, mode: 0o1777),
            // /dev itself is read-only once built, as the root is; its device nodes
            // and /dev/shm are mounts of their own and keep theirs.
            .readOnly("/dev"),
            .directory("/tmp", mode: 0o755),
            .tmpfs("/tmp", size: configuration.limits.tmpSize, mode: 0o1777),
            // A directory, not a link to /tmp: code compares paths under it with the
            // home it expects, links resolved (Foundation's standardizingPath does).
            .directory("/home", mode: 0o755),
            .directory(RunConfiguration.home, mode: 0o755),
            .tmpfs(RunConfiguration.home, size: configuration.limits.tmpSize, mode: 0o1777),
        ]
        // What of the host /proc shows that no step needs (runc's and Docker's
        // masked paths, and more): once /dev/null is there to stand in for files.
        ops += maskedProcPaths.map { RootOperation.mask($0) }
        ops += [
            .directory(RunConfiguration.workingDirectory, mode: 0o755)
        ]
        if let workspace {
            ops.append(.bind(source: workspace, target: RunConfiguration.workingDirectory, readOnly: false))
        } else {
            ops.append(.tmpfs(RunConfiguration.workingDirectory, size: configuration.limits.tmpSize, mode: 0o1777))
        }
        for bind in configuration.binds {
            let isFile = fileSources.contains(bind.source)
            let components = bind.destination.split(separator: "/")
            var built = ""
            for component in isFile ? components.dropLast() : components[...] {
                built += "/" + component
                if !ops.contains(where: { $0 == .directory(built, mode: 0o755) }) {
                    ops.append(.directory(built, mode: 0o755))
                }
            }
            if isFile { ops.append(.file(bind.destination, contents: "", mode: 0o644)) }
            ops.append(.bind(source: bind.source, target: bind.destination, readOnly: true))
        }
        return ops
    }

    /// A fresh machine id: 128 random bits in 32 hex digits, as systemd writes one.
    static func machineID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in
            let value = generator.next() as UInt64
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }.joined()
    }

    static func etc(for configuration: RunConfiguration, host: HostLayout) -> [RootOperation] {
        let user = RunConfiguration.user
        var ops: [RootOperation] = [
            .directory("/etc", mode: 0o755),
            .file(
                "/etc/passwd",
                contents: "\(user.name):x:\(user.uid):\(user.gid):\(user.name):\(RunConfiguration.home):/bin/sh\n"
                    + "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n", mode: 0o644),
            .file("/etc/group", contents: "\(user.name):x:\(user.gid):\nnogroup:x:65534:\n", mode: 0o644),
            .file(
                "/etc/hosts",
                contents: "127.0.0.1\tlocalhost sandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n", mode: 0o644),
            .file("/etc/hostname", contents: "sandbox\n", mode: 0o644),
            .file("/etc/nsswitch.conf", contents: "passwd: files\ngroup: files\nhosts: files dns\n", mode: 0o644),
            // Every Linux host has one, and code reads it (to seed an id, to find its
            // D-Bus): one of the sandbox's own, never the host's.
            .file("/etc/machine-id", contents: machineID() + "\n", mode: 0o444),
        ]
        if let cache = host.linkerCache {
            ops.append(.copy("/etc/ld.so.cache", from: cache, mode: 0o444))
        }
        if let certificates = host.certificates {
            ops.append(.directory("/etc/ssl", mode: 0o755))
            ops.append(.directory("/etc/ssl/certs", mode: 0o755))
            ops.append(.bind(source: certificates, target: "/etc/ssl/certs", readOnly: true))
        }
        if let alternatives = host.alternatives {
            ops.append(.directory("/etc/alternatives", mode: 0o755))
            ops.append(.bind(source: alternatives, target: "/etc/alternatives", readOnly: true))
        }
        if configuration.network == .host, let resolver = host.resolver {
            ops.append(.copy("/etc/resolv.conf", from: resolver, mode: 0o444))
        }
        return ops
    }
}
