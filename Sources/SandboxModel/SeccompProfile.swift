/// A system-call filter policy: which calls the command may make, and what a
/// refused call does. The format is line-based, see `policies/seccomp/default.seccomp`.
public struct SeccompProfile: Equatable, Sendable {
    /// The largest profile file read: one call per line fits many times over.
    public static let maximumBytes = 1 << 20

    /// What happens when the command makes a call the profile refuses.
    public enum DenyAction: String, Sendable {
        /// The call fails with EPERM and the command goes on.
        case errno
        /// The whole step is ended.
        case kill
    }

    public var onDeny: DenyAction
    /// Calls allowed unconditionally, in the order given, without duplicates.
    public var allowed: [String]
    /// Calls that succeed without doing anything.
    public var pretended: [String] = []

    public init(onDeny: DenyAction = .errno, allowed: [String]) {
        self.onDeny = onDeny
        var seen = Set<String>()
        self.allowed = allowed.filter { seen.insert($0).inserted }
    }

    /// The built-in profile: `policies/seccomp/default.seccomp`.
    public static let `default` = SeccompProfile(allowed: dockerDerivedAllowList)

    /// The profile an image's root is built under: the default, but changing a
    /// file's owner succeeds without doing anything. Debian's tools, run under
    /// fakeroot, give files to uids the sandbox's user namespace does not map (the
    /// kernel's EINVAL would stop them); the image's files are given to the store's
    /// owner afterwards anyway.
    public static let imageBuild: SeccompProfile = {
        var profile = SeccompProfile.default
        profile.pretended = ["chown", "fchown", "lchown", "fchownat"]
        profile.allowed.removeAll { profile.pretended.contains($0) }
        return profile
    }()

    /// Calls no profile may allow: the threat model's list.
    public static let alwaysRefused: Set<String> = [
        "ptrace", "process_vm_readv", "process_vm_writev", "userfaultfd", "io_uring_setup",
        "io_uring_enter", "io_uring_register", "bpf", "perf_event_open", "keyctl", "add_key",
        "request_key", "kexec_load", "kexec_file_load", "init_module", "finit_module",
        "delete_module", "open_by_handle_at", "name_to_handle_at", "setns", "unshare", "mount",
        "umount2", "fsopen", "fsmount", "fsconfig", "fspick", "open_tree", "move_mount",
        "mount_setattr", "pivot_root", "chroot", "clone3", "io_setup",
    ]

    /// Calls whose arguments the built-in rules check; a profile cannot allow them outright.
    public static let argumentChecked: Set<String> = ["clone", "socket", "ioctl", "personality", "prlimit64"]

    /// Parses a profile file. `source` names it in errors ("FILE:LINE").
    public init(parsing text: String, source: String) throws {
        var onDeny: DenyAction?
        var allowed: [String] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let location = "\(source):\(index + 1)"
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard let directive = words.first else { continue }
            let operands = words.dropFirst()
            switch directive {
            case "on-deny":
                guard operands.count == 1, let action = DenyAction(rawValue: operands[operands.startIndex]) else {
                    throw ModelError(location, "on-deny takes one of: errno, kill")
                }
                guard onDeny == nil else { throw ModelError(location, "on-deny is given twice") }
                onDeny = action
            case "allow":
                guard !operands.isEmpty else { throw ModelError(location, "allow needs at least one system-call name") }
                for name in operands {
                    guard name.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.isLowercase || $0.isNumber)) }) else {
                        throw ModelError(location, "'\(name)' is not a system-call name")
                    }
                    if Self.alwaysRefused.contains(name) {
                        throw ModelError(location, "\(name) is always refused by sandbox and cannot be allowed")
                    }
                    if Self.argumentChecked.contains(name) {
                        throw ModelError(
                            location, "\(name) is allowed by built-in argument rules; remove it from the profile")
                    }
                    allowed.append(name)
                }
            default:
                throw ModelError(location, "unknown directive '\(directive)'; expected on-deny or allow")
            }
        }
        guard !allowed.isEmpty else { throw ModelError(source, "the profile allows no system call") }
        self.init(onDeny: onDeny ?? .errno, allowed: allowed)
    }

    /// The rules to compile: the allowed calls, then the argument-checked ones.
    /// Anything no rule matches is refused (the filter's default).
    public var rules: [SeccompRule] {
        var rules = allowed.map { SeccompRule(syscall: $0, action: .allow) }
        rules += pretended.map { SeccompRule(syscall: $0, action: .fail(errno: 0)) }
        rules.append(contentsOf: SeccompRule.argumentRules)
        return rules
    }
}

/// One rule of the compiled filter.
public struct SeccompRule: Equatable, Sendable {
    public enum Action: Equatable, Sendable {
        case allow
        /// Fail with this errno, without counting the call as refused.
        case fail(errno: Int32)
    }

    /// `(argument & mask) == value`; all checks of a rule must hold.
    public struct ArgumentCheck: Equatable, Sendable {
        public var argument: UInt32
        public var mask: UInt64
        public var value: UInt64
    }

    public var syscall: String
    public var action: Action
    public var checks: [ArgumentCheck]

    public init(syscall: String, action: Action, checks: [ArgumentCheck] = []) {
        self.syscall = syscall
        self.action = action
        self.checks = checks
    }

    // Linux constants, the same on every architecture `sandbox` runs on.
    static let namespaceCloneFlags: UInt64 = 0x7E02_0000  // CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
    static let allowedSocketFamilies: [UInt64] = [1, 2, 10]  // AF_UNIX, AF_INET, AF_INET6
    static let netlinkFamily: UInt64 = 16  // AF_NETLINK
    static let netlinkRoute: UInt64 = 0  // NETLINK_ROUTE
    static let allowedPersonalities: [UInt64] = [0, 0x8, 0x20000, 0x20008, 0xFFFF_FFFF]
    /// TIOCSTI pushes input into a terminal; TIOCLINUX can too, on a console.
    public static let refusedIoctls: [UInt32] = [0x5412, 0x541C]
    static let enosys: Int32 = 38

    /// The rules that look at arguments. The kernel reads an int argument as its
    /// low 32 bits, so every check masks to those: a value with high bits set
    /// cannot pass as something else.
    static let argumentRules: [SeccompRule] = {
        var rules = [
            SeccompRule(
                syscall: "clone", action: .allow,
                checks: [ArgumentCheck(argument: 0, mask: namespaceCloneFlags, value: 0)]),
            // clone3 passes its flags in memory a filter cannot read: libc falls back to clone.
            SeccompRule(syscall: "clone3", action: .fail(errno: enosys)),
            // One io_setup can reserve the machine's whole fs.aio-max-nr: Linux AIO is
            // "not implemented", and its users fall back to threads.
            SeccompRule(syscall: "io_setup", action: .fail(errno: enosys)),
            // Limits of the caller's own (pid 0, as libc's setrlimit passes it), never
            // another process's: init's, which a step could otherwise lower to end it.
            SeccompRule(
                syscall: "prlimit64", action: .allow, checks: [ArgumentCheck(argument: 0, mask: 0xFFFF_FFFF, value: 0)]),
        ]
        rules += allowedSocketFamilies.map {
            SeccompRule(
                syscall: "socket", action: .allow, checks: [ArgumentCheck(argument: 0, mask: 0xFFFF_FFFF, value: $0)])
        }
        // NETLINK_ROUTE alone, as glibc's getifaddrs opens it (Go's net.Interfaces,
        // getaddrinfo's AI_ADDRCONFIG): in the sandbox's own network namespace it lists
        // the sandbox's loopback, and changing anything needs CAP_NET_ADMIN there.
        rules.append(
            SeccompRule(
                syscall: "socket", action: .allow,
                checks: [
                    ArgumentCheck(argument: 0, mask: 0xFFFF_FFFF, value: netlinkFamily),
                    ArgumentCheck(argument: 2, mask: 0xFFFF_FFFF, value: netlinkRoute),
                ]))
        rules += allowedPersonalities.map {
            SeccompRule(
                syscall: "personality", action: .allow,
                checks: [ArgumentCheck(argument: 0, mask: 0xFFFF_FFFF, value: $0)])
        }
        rules += maskedComplement(of: refusedIoctls).map {
            SeccompRule(
                syscall: "ioctl", action: .allow,
                checks: [ArgumentCheck(argument: 1, mask: UInt64($0.mask), value: UInt64($0.value))])
        }
        return rules
    }()

    /// Blocks `(x & mask) == value` that together cover every 32-bit value except
    /// `points`, and nothing else: a filter of allow rules can then refuse a few
    /// values without an "allow unless" rule, which libseccomp cannot express
    /// beside a refusing default.
    public static func maskedComplement(of points: [UInt32]) -> [(mask: UInt32, value: UInt32)] {
        func cover(fixedBits: Int, prefix: UInt32, points: [UInt32]) -> [(mask: UInt32, value: UInt32)] {
            let mask: UInt32 = fixedBits == 0 ? 0 : ~UInt32(0) << (32 - fixedBits)
            if points.isEmpty { return [(mask, prefix)] }
            if fixedBits == 32 { return [] }
            let bit = UInt32(1) << (31 - fixedBits)
            return cover(fixedBits: fixedBits + 1, prefix: prefix, points: points.filter { $0 & bit == 0 })
                + cover(fixedBits: fixedBits + 1, prefix: prefix | bit, points: points.filter { $0 & bit != 0 })
        }
        return cover(fixedBits: 0, prefix: 0, points: Array(Set(points)))
    }
}
