import CSandbox
import Glibc
public import SandboxModel
public import SystemPackage

/// A resource limit for the command, as setrlimit(2) takes it.
public struct ProcessLimit: Equatable, Sendable {
    public var resource: Int32
    public var soft: UInt64
    public var hard: UInt64

    public init(resource: Int32, soft: UInt64, hard: UInt64) {
        self.resource = resource
        self.soft = soft
        self.hard = hard
    }

    public static func core(_ bytes: UInt64) -> ProcessLimit {
        .init(resource: Int32(RLIMIT_CORE.rawValue), soft: bytes, hard: bytes)
    }
    public static func fileSize(_ bytes: UInt64) -> ProcessLimit {
        .init(resource: Int32(RLIMIT_FSIZE.rawValue), soft: bytes, hard: bytes)
    }
    public static func openFiles(_ n: UInt64) -> ProcessLimit {
        .init(resource: Int32(RLIMIT_NOFILE.rawValue), soft: n, hard: n)
    }
    public static func processes(_ n: UInt64) -> ProcessLimit {
        .init(resource: Int32(__RLIMIT_NPROC.rawValue), soft: n, hard: n)
    }
    public static func addressSpace(_ bytes: UInt64) -> ProcessLimit {
        .init(resource: Int32(RLIMIT_AS.rawValue), soft: bytes, hard: bytes)
    }
    /// Queued signals, and bytes of POSIX message queues: the kernel counts them
    /// per user, and a root-started sandbox's user is host root's.
    public static func pendingSignals(_ n: UInt64) -> ProcessLimit {
        .init(resource: Int32(__RLIMIT_SIGPENDING.rawValue), soft: n, hard: n)
    }
    public static func messageQueueBytes(_ bytes: UInt64) -> ProcessLimit {
        .init(resource: Int32(__RLIMIT_MSGQUEUE.rawValue), soft: bytes, hard: bytes)
    }
    /// SIGXCPU at the limit, SIGKILL a second later.
    public static func cpuSeconds(_ seconds: UInt64) -> ProcessLimit {
        .init(resource: Int32(RLIMIT_CPU.rawValue), soft: seconds, hard: seconds + 1)
    }
}

/// Everything one sandbox needs, prepared before the clone.
public struct LaunchPlan: Sendable {
    public var operations: [RootOperation]
    public var command: [String]
    /// "NAME=VALUE" entries.
    public var environment: [String]
    public var searchPath: String
    public var newNetwork: Bool
    public var limits: [ProcessLimit]
    public var filter: [UInt8]
    /// Whether init drops its inherited supplementary groups (possible when root).
    public var clearsGroups: Bool { geteuid() == 0 }
    /// The host uid and gid the sandbox's root (and so its user) maps to.
    public var hostUID: UInt32
    public var hostGID: UInt32
    /// The effective uid the sandbox's user namespace is made with, which the kernel
    /// charges its per-user counts to: its own host uid when root supervises (nil
    /// otherwise: the caller's own).
    public var namespaceOwner: UInt32? { geteuid() == 0 && hostUID != 0 ? hostUID : nil }

    public init(
        operations: [RootOperation], command: [String], environment: [String], searchPath: String,
        newNetwork: Bool, limits: [ProcessLimit], filter: [UInt8], hostUID: UInt32, hostGID: UInt32
    ) {
        self.hostUID = hostUID
        self.hostGID = hostGID
        self.operations = operations
        self.command = command
        self.environment = environment
        self.searchPath = searchPath
        self.newNetwork = newNetwork
        self.limits = limits
        self.filter = filter
    }
}

/// A started sandbox: its init's pid and the supervisor's ends of its pipes.
public struct SandboxProcess: Sendable {
    public var initPid: Int32
    public var stdout: FileDescriptor
    public var stderr: FileDescriptor
    /// sbx_failure records from the children.
    public var failures: FileDescriptor
    /// The sbx_exit_record init writes when the command ends.
    public var status: FileDescriptor
    /// Receives the seccomp listener once the command installs its filter.
    public var listenerSocket: FileDescriptor

    public init(
        initPid: Int32, stdout: FileDescriptor, stderr: FileDescriptor, failures: FileDescriptor,
        status: FileDescriptor, listenerSocket: FileDescriptor
    ) {
        self.initPid = initPid
        self.stdout = stdout
        self.stderr = stderr
        self.failures = failures
        self.status = status
        self.listenerSocket = listenerSocket
    }

    /// Closes every supervisor end.
    public func closeAll() {
        for fd in [stdout, stderr, failures, status, listenerSocket] { Descriptor.close(fd) }
    }
}

/// Starts sandboxes. The clone happens on the calling thread, which must outlive
/// the sandbox: init is killed when it exits.
public enum SandboxLauncher {
    /// Where the new root is assembled, inside the sandbox's private mount namespace.
    static let assemblyPoint = "/tmp"
    static let rootSize = ByteSize(bytes: 4 << 20)

    /// This process's argument strings as the kernel laid them out, one after the
    /// other (what /proc/self/cmdline reads); nil where they are not so.
    static func argumentArea() -> (UnsafeMutablePointer<CChar>, Int)? {
        let count = Int(CommandLine.argc)
        guard count > 0, let first = CommandLine.unsafeArgv[0] else { return nil }
        var end = first
        for index in 0..<count {
            guard let argument = CommandLine.unsafeArgv[index], argument == end else { return nil }
            end = argument + strlen(argument) + 1
        }
        let length = end - first
        return length < 1 << 20 ? (first, length) : nil
    }

    /// Clones init, maps its users and lets it build the root while `place` puts
    /// it in its cgroup; then lets it start the command.
    public static func launch(_ plan: LaunchPlan, place: (Int32) throws -> Void) throws -> SandboxProcess {
        let operations = try rootOperations(plan)
        // Output, errors, failures, status, start; every one made so far is closed
        // if a later one cannot be had.
        var pipes: [(read: FileDescriptor, write: FileDescriptor)] = []
        let listener: (FileDescriptor, FileDescriptor)
        do {
            for _ in 0..<5 { pipes.append(try Descriptor.pipe()) }
            listener = try Descriptor.socketPair()
        } catch {
            for pipe in pipes { [pipe.read, pipe.write].forEach(Descriptor.close) }
            throw error
        }
        let (output, errors, failures, status, start) = (pipes[0], pipes[1], pipes[2], pipes[3], pipes[4])
        let child = ChildDescriptors(
            stdout: output.write, stderr: errors.write, failures: failures.write, status: status.write,
            listener: listener.1, start: start.read)
        let childEnds = [child.stdout, child.stderr, child.failures, child.status, child.listener, child.start]
        var process = SandboxProcess(
            initPid: -1, stdout: output.read, stderr: errors.read, failures: failures.read, status: status.read,
            listenerSocket: listener.0)
        let pid = withSpawnConfiguration(plan, operations: operations, child: child) { sbx_spawn(&$0) }
        childEnds.forEach(Descriptor.close)
        guard pid > 0 else {
            process.closeAll()
            Descriptor.close(start.write)
            throw SystemError(
                "clone", errno: -pid,
                hint: -pid == EPERM || -pid == ENOSPC ? "user namespaces may be disabled; run `sandbox doctor`" : nil)
        }
        process.initPid = pid
        do {
            // Only an unprivileged supervisor must deny setgroups before writing the
            // gid map; root leaves it so init can drop the groups it inherited.
            if !plan.clearsGroups {
                try Descriptor.writeFile("/proc/\(pid)/setgroups", "deny")
            }
            try Descriptor.writeFile("/proc/\(pid)/uid_map", "0 \(plan.hostUID) 1\n")
            try Descriptor.writeFile("/proc/\(pid)/gid_map", "0 \(plan.hostGID) 1\n")
            try Descriptor.writeAll(start.write, "g")
            // Init builds the root meanwhile; it starts the command only after the next byte.
            try place(pid)
            try Descriptor.writeAll(start.write, "g")
        } catch {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
            process.closeAll()
            Descriptor.close(start.write)
            throw error
        }
        Descriptor.close(start.write)
        return process
    }

    /// What init performs to build the root: the root's own tmpfs, then the
    /// plan's operations, each bind's source resolved now. Init opens that path
    /// refusing every link: what is swapped in after this check is refused, not
    /// followed.
    static func rootOperations(_ plan: LaunchPlan) throws -> [RootOperation] {
        var operations: [RootOperation] = [.tmpfs("", size: rootSize, mode: 0o755)]
        for operation in plan.operations {
            if case .bind(let source, let target, let readOnly, let devices) = operation {
                let resolved = try HostProbe.resolve(source, role: "mount source")
                operations.append(.bind(source: resolved, target: target, readOnly: readOnly, devices: devices))
            } else if case .copy(let path, let source, let mode) = operation {
                // A host file of the host's own (the linker cache, the resolver's
                // configuration): read refusing links, and bounded.
                operations.append(.bytes(path, try Descriptor.readFile(source, limit: 16 << 20), mode: mode))
            } else {
                operations.append(operation)
            }
        }
        return operations
    }

    /// The child's ends of the pipes and sockets between it and the supervisor.
    struct ChildDescriptors {
        var stdout, stderr, failures, status, listener, start: FileDescriptor
    }

    /// Calls `body` with the C configuration of `plan`: strings and arrays it
    /// points to live only while `body` runs.
    static func withSpawnConfiguration<Result>(
        _ plan: LaunchPlan, operations: [RootOperation], child: ChildDescriptors,
        _ body: (inout sbx_spawn_config) -> Result
    ) -> Result {
        var owned: [UnsafeMutablePointer<CChar>] = []
        defer { owned.forEach { free($0) } }
        func cString(_ text: String) -> UnsafeMutablePointer<CChar> {
            let copy = strdup(text)!
            owned.append(copy)
            return copy
        }
        let root = assemblyPoint
        let cOperations: [sbx_operation] = operations.map { operation in
            var op = sbx_operation()
            op.target = UnsafePointer(cString(root + operation.path))
            switch operation {
            case .directory(_, let mode):
                op.kind = UInt32(SBX_OP_MKDIR.rawValue)
                op.mode = mode
            case .bind(let source, _, let readOnly, let devices):
                op.kind = UInt32(SBX_OP_BIND.rawValue)
                op.source = UnsafePointer(cString(source))
                op.flags =
                    (readOnly ? UInt32(SBX_BIND_READ_ONLY.rawValue) : 0)
                    | (devices ? UInt32(SBX_BIND_DEVICES.rawValue) : 0)
            case .tmpfs(_, let size, let mode):
                op.kind = UInt32(SBX_OP_TMPFS.rawValue)
                op.size = size.bytes
                op.mode = mode
            case .proc:
                op.kind = UInt32(SBX_OP_PROC.rawValue)
            case .symlink(let target, _):
                op.kind = UInt32(SBX_OP_SYMLINK.rawValue)
                op.source = UnsafePointer(cString(target))
            case .file(_, let contents, let mode):
                op.kind = UInt32(SBX_OP_FILE.rawValue)
                op.source = UnsafePointer(cString(contents))
                op.size = UInt64(contents.utf8.count)
                op.mode = mode
            case .bytes(_, let contents, let mode):
                op.kind = UInt32(SBX_OP_FILE.rawValue)
                let buffer = malloc(max(contents.count, 1))!.assumingMemoryBound(to: CChar.self)
                contents.withUnsafeBytes { raw in
                    if let base = raw.baseAddress { memcpy(buffer, base, contents.count) }
                }
                owned.append(buffer)
                op.source = UnsafePointer(buffer)
                op.size = UInt64(contents.count)
                op.mode = mode
            case .copy(let path, _, _):
                // Read into `.bytes` by `rootOperations`; never reaches here unread.
                preconditionFailure("an unread copy of \(path)")
            case .readOnly:
                op.kind = UInt32(SBX_OP_READ_ONLY.rawValue)
            case .mask:
                op.kind = UInt32(SBX_OP_MASK.rawValue)
                op.source = UnsafePointer(cString(root + "/dev/null"))
            }
            return op
        }
        let argv: [UnsafeMutablePointer<CChar>?] = plan.command.map { cString($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = plan.environment.map { cString($0) } + [nil]
        let limits = plan.limits.map { sbx_resource_limit(resource: $0.resource, soft: $0.soft, hard: $0.hard) }
        let user = RunConfiguration.user
        return plan.filter.withUnsafeBytes { filter in
            cOperations.withUnsafeBufferPointer { ops in
                limits.withUnsafeBufferPointer { limitPointer in
                    argv.withUnsafeBufferPointer { argvPointer in
                        envp.withUnsafeBufferPointer { envpPointer in
                            var config = sbx_spawn_config()
                            config.operations = ops.baseAddress
                            config.operation_count = ops.count
                            config.root = UnsafePointer(cString(root))
                            config.working_directory = UnsafePointer(cString(RunConfiguration.workingDirectory))
                            config.hostname = UnsafePointer(cString("sandbox"))
                            config.argv = argvPointer.baseAddress
                            config.envp = envpPointer.baseAddress
                            config.search_path = UnsafePointer(cString(plan.searchPath))
                            config.new_network = plan.newNetwork ? 1 : 0
                            config.uid = user.uid
                            config.gid = user.gid
                            config.clear_groups = plan.clearsGroups ? 1 : 0
                            config.namespace_owner = plan.namespaceOwner ?? 0
                            config.empty_layer = UnsafePointer(cString(root + "/.sandbox-empty-layer"))
                            config.inner_uid_map = UnsafePointer(cString("\(user.uid) 0 1"))
                            config.inner_gid_map = UnsafePointer(cString("\(user.gid) 0 1"))
                            config.limits = limitPointer.baseAddress
                            config.limit_count = limitPointer.count
                            config.filter = filter.baseAddress
                            config.filter_length = filter.count
                            if let (area, length) = Self.argumentArea() {
                                config.argument_area = area
                                config.argument_length = length
                            }
                            config.stdout_fd = child.stdout.rawValue
                            config.stderr_fd = child.stderr.rawValue
                            config.failure_fd = child.failures.rawValue
                            config.status_fd = child.status.rawValue
                            config.listener_socket = child.listener.rawValue
                            config.start_fd = child.start.rawValue
                            return body(&config)
                        }
                    }
                }
            }
        }
    }
}
