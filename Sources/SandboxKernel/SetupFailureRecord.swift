import CSandbox
import Glibc
public import SandboxModel

extension SandboxProcess {
    /// Reads the next failure record a child of the sandbox wrote (an
    /// `sbx_failure`), its stage named from the root's `operations` and the
    /// `command`; nil once the pipe holds no whole record (every child has gone).
    public func readSetupFailure(operations: [RootOperation], command: [String]) -> StepResult.SetupFailure? {
        var record = sbx_failure()
        let count = withUnsafeMutableBytes(of: &record) { Descriptor.read(failures, into: $0) }
        guard count == MemoryLayout<sbx_failure>.size else { return nil }
        let stage = SandboxLauncher.stage(of: record, operations: operations, command: command)
        let error = SystemError(stage.name, errno: record.error)
        return StepResult.SetupFailure(stage: stage, errno: record.error, message: error.description)
    }
}

extension SandboxLauncher {
    /// The stage a child's failure record names: the call, or for the root's
    /// operations and bind sources, the operation itself.
    static func stage(of record: sbx_failure, operations: [RootOperation], command: [String]) -> SetupStage {
        let index = Int(record.detail)
        switch UInt32(bitPattern: record.stage) {
        case SBX_STAGE_OPERATION.rawValue: return .rootOperation(operationDescription(index, operations: operations))
        case SBX_STAGE_OPEN_SOURCE.rawValue:
            guard index > 0, index <= operations.count, case .bind(let source, _, _, _) = operations[index - 1]
            else { return .openSource("a mount source") }
            return .openSource(source)
        case SBX_STAGE_PRIVATE_INODES.rawValue:
            // An overlay over a read-only bind, so that its inodes are the sandbox's own.
            guard index > 0, index <= operations.count, case .bind(_, let target, _, _) = operations[index - 1]
            else { return .rootOperation("make the empty layer of the read-only binds' overlays") }
            return .rootOperation("mount an overlay of its own over \(target)")
        case SBX_STAGE_EXEC.rawValue: return .exec(command.first ?? "")
        default:
            return calls[record.stage].map(SetupStage.sandbox) ?? .supervisor("setup (stage \(record.stage))")
        }
    }

    /// Each C stage's call. A stage missing here is named by number; a unit test
    /// holds every stage of `enum sbx_stage` to a case.
    static let calls: [Int32: SandboxCall] = {
        let pairs: [(sbx_stage, SandboxCall)] = [
            (SBX_STAGE_DEATH_SIGNAL, .deathSignal), (SBX_STAGE_DUMPABLE, .dumpable),
            (SBX_STAGE_SETGROUPS, .setgroups), (SBX_STAGE_SETRESGID, .setresgid), (SBX_STAGE_SETRESUID, .setresuid),
            (SBX_STAGE_HOSTNAME, .hostname), (SBX_STAGE_MOUNT_PRIVATE, .mountPrivate),
            (SBX_STAGE_ENTER_ROOT, .enterRoot), (SBX_STAGE_PIVOT_ROOT, .pivotRoot),
            (SBX_STAGE_DETACH_OLD_ROOT, .detachOldRoot), (SBX_STAGE_CHDIR_ROOT, .chdirRoot),
            (SBX_STAGE_ROOT_READ_ONLY, .rootReadOnly), (SBX_STAGE_CLOSE_INHERITED, .closeInherited),
            (SBX_STAGE_LOOPBACK, .loopback), (SBX_STAGE_CGROUP_NAMESPACE, .cgroupNamespace),
            (SBX_STAGE_SIGNALS, .signals), (SBX_STAGE_FORK, .fork), (SBX_STAGE_SESSION, .session),
            (SBX_STAGE_OPEN_NULL, .openNull), (SBX_STAGE_DUP_STDIO, .standardStreams),
            (SBX_STAGE_CHDIR, .workingDirectory), (SBX_STAGE_RLIMIT, .resourceLimit),
            (SBX_STAGE_UNSHARE_USER, .unshareUser), (SBX_STAGE_UID_MAP, .uidMap),
            (SBX_STAGE_SETGROUPS_DENY, .setgroupsDeny), (SBX_STAGE_GID_MAP, .gidMap),
            (SBX_STAGE_CAPABILITIES, .capabilities), (SBX_STAGE_NO_NEW_PRIVS, .noNewPrivileges),
            (SBX_STAGE_MOVE_DESCRIPTORS, .moveDescriptors), (SBX_STAGE_CLOSE_RANGE, .closeRange),
            (SBX_STAGE_SECCOMP, .seccomp), (SBX_STAGE_LISTENER, .sendListener),
            (SBX_STAGE_NAMESPACE_LIMITS, .namespaceLimits),
        ]
        return Dictionary(uniqueKeysWithValues: pairs.map { (Int32($0.0.rawValue), $0.1) })
    }()

    /// The highest stage number C defines.
    static let lastStage = Int32(SBX_STAGE_EXEC.rawValue)

    /// Names the root-building operation a child reported by index ("mount /usr").
    static func operationDescription(_ index: Int, operations: [RootOperation]) -> String {
        // Index 0 is the root's own tmpfs, which `launch` puts first.
        guard index > 0, index <= operations.count else { return "mount tmpfs at the new root" }
        switch operations[index - 1] {
        case .directory(let path, _): return "mkdir \(path)"
        case .bind(let source, let target, _, _): return "mount \(source) at \(target)"
        case .tmpfs(let path, _, _): return "mount tmpfs at \(path)"
        case .proc(let path): return "mount proc at \(path)"
        case .symlink(_, let path): return "symlink \(path)"
        case .file(let path, _, _), .bytes(let path, _, _): return "create \(path)"
        case .copy(let path, let source, _): return "copy \(source) to \(path)"
        case .readOnly(let path): return "remount \(path) read-only"
        case .mask(let path): return "mask \(path)"
        }
    }
}
