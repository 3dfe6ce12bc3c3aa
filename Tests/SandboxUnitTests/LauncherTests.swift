import CSandbox
import Foundation
import SandboxModel
import SystemPackage
import Testing

@testable import SandboxKernel

/// The launch plan as init receives it: the C configuration built from Swift
/// values, checked field by field before any clone.
@Suite struct LauncherTests {
    static func plan(_ operations: [RootOperation]) -> LaunchPlan {
        LaunchPlan(
            operations: operations, command: ["python3", "-c", "print(1)"], environment: ["PATH=/usr/bin", "LANG=C"],
            searchPath: "/usr/bin", newNetwork: true, limits: [.core(0), .processes(65)],
            filter: [1, 2, 3, 4, 5, 6, 7, 8],
            hostUID: 2_000_000_000, hostGID: 2_000_000_000)
    }

    static func strings(_ array: UnsafePointer<UnsafeMutablePointer<CChar>?>?) -> [String] {
        var result: [String] = []
        var index = 0
        while let entry = array?[index] {
            result.append(String(cString: entry))
            index += 1
        }
        return result
    }

    /// Bind sources are resolved before the clone; the root's own tmpfs comes first.
    @Test func bindSourcesAreResolvedAndTheRootComesFirst() throws {
        let parent = try Descriptor.makeTemporaryDirectory(prefix: "launcher-test")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        try FileManager.default.createDirectory(atPath: parent + "/tools", withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: parent + "/current", withDestinationPath: "tools")
        let operations = try SandboxLauncher.rootOperations(
            Self.plan([.bind(source: parent + "/current", target: "/opt/tools", readOnly: true), .proc("/proc")]))
        #expect(
            operations == [
                .tmpfs("", size: SandboxLauncher.rootSize, mode: 0o755),
                .bind(source: parent + "/tools", target: "/opt/tools", readOnly: true), .proc("/proc"),
            ])
        #expect(throws: SystemError.self) {
            try SandboxLauncher.rootOperations(
                Self.plan([.bind(source: parent + "/absent", target: "/x", readOnly: true)]))
        }
    }

    @Test func theConfigurationCarriesEveryPartOfThePlan() {
        let operations: [RootOperation] = [
            .tmpfs("", size: ByteSize(bytes: 4 << 20), mode: 0o755),
            .bind(source: "/usr", target: "/usr", readOnly: true),
            .bind(source: "/dev/null", target: "/dev/null", readOnly: false, devices: true),
            .directory("/workspace", mode: 0o755),
            .symlink(target: "usr/bin", at: "/bin"),
            .file("/etc/hostname", contents: "sandbox\n", mode: 0o644),
            .proc("/proc"),
            .readOnly("/"),
        ]
        let plan = Self.plan([])
        let child = SandboxLauncher.ChildDescriptors(
            stdout: FileDescriptor(rawValue: 11), stderr: FileDescriptor(rawValue: 12),
            failures: FileDescriptor(rawValue: 13), status: FileDescriptor(rawValue: 14),
            listener: FileDescriptor(rawValue: 15), start: FileDescriptor(rawValue: 16))
        SandboxLauncher.withSpawnConfiguration(plan, operations: operations, child: child) { config in
            let ops = Array(UnsafeBufferPointer(start: config.operations, count: config.operation_count))
            #expect(
                ops.map(\.kind)
                    == [
                        SBX_OP_TMPFS, SBX_OP_BIND, SBX_OP_BIND, SBX_OP_MKDIR, SBX_OP_SYMLINK, SBX_OP_FILE, SBX_OP_PROC,
                        SBX_OP_READ_ONLY,
                    ].map { UInt32($0.rawValue) })
            #expect(
                ops.map { String(cString: $0.target) } == [
                    "/tmp", "/tmp/usr", "/tmp/dev/null", "/tmp/workspace", "/tmp/bin", "/tmp/etc/hostname", "/tmp/proc",
                    "/tmp/",
                ], "targets are inside the assembly point")
            #expect(ops[0].size == 4 << 20 && ops[0].mode == 0o755)
            #expect(ops[1].flags == UInt32(SBX_BIND_READ_ONLY.rawValue) && String(cString: ops[1].source) == "/usr")
            #expect(ops[2].flags == UInt32(SBX_BIND_DEVICES.rawValue), "writable, with devices")
            #expect(String(cString: ops[4].source) == "usr/bin")
            #expect(String(cString: ops[5].source) == "sandbox\n" && ops[5].size == 8 && ops[5].mode == 0o644)
            #expect(Self.strings(config.argv) == ["python3", "-c", "print(1)"])
            #expect(Self.strings(config.envp) == ["PATH=/usr/bin", "LANG=C"])
            #expect(String(cString: config.search_path) == "/usr/bin")
            #expect(String(cString: config.working_directory) == "/workspace")
            #expect(String(cString: config.hostname) == "sandbox")
            #expect(String(cString: config.inner_uid_map) == "1000 0 1")
            #expect(config.uid == 1000 && config.gid == 1000)
            #expect(config.new_network == 1)
            #expect(config.clear_groups == (geteuid() == 0 ? 1 : 0))
            let limits = Array(UnsafeBufferPointer(start: config.limits, count: config.limit_count))
            #expect(limits.map(\.soft) == [0, 65])
            #expect(config.filter_length == 8)
            #expect(
                [
                    config.stdout_fd, config.stderr_fd, config.failure_fd, config.status_fd, config.listener_socket,
                    config.start_fd,
                ] == [11, 12, 13, 14, 15, 16])
        }
    }

    /// Every stage C reports is one call, named as bubblewrap names it: none falls
    /// through to a number, and no two stages share a name.
    @Test func everyChildStageNamesOneCall() {
        var names: [String] = []
        for stage in 1...SandboxLauncher.lastStage {
            let record = sbx_failure(stage: stage, error: EPERM, detail: 0)
            let named = SandboxLauncher.stage(of: record, operations: [], command: ["pytest"])
            if case .supervisor = named { Issue.record("stage \(stage) has no call") }
            names.append(named.name)
        }
        #expect(Set(names).count == names.count, "\(names)")
        #expect(SandboxCall.allCases.count == SandboxLauncher.calls.count)
    }

    /// The four calls that enter the new root are told apart.
    @Test func theCallsAroundPivotRootAreToldApart() {
        let stages = [SBX_STAGE_ENTER_ROOT, SBX_STAGE_PIVOT_ROOT, SBX_STAGE_DETACH_OLD_ROOT, SBX_STAGE_CHDIR_ROOT].map {
            SandboxLauncher.stage(
                of: sbx_failure(stage: Int32($0.rawValue), error: EINVAL, detail: 0), operations: [], command: [])
        }
        #expect(stages == [.sandbox(.enterRoot), .sandbox(.pivotRoot), .sandbox(.detachOldRoot), .sandbox(.chdirRoot)])
    }

    /// A bind source that cannot be opened is named by its path.
    @Test func anUnopenableSourceIsNamed() {
        let operations: [RootOperation] = [
            .directory("/tmp/root/usr", mode: 0o755), .bind(source: "/srv/tree", target: "/workspace", readOnly: false),
        ]
        let record = sbx_failure(stage: Int32(SBX_STAGE_OPEN_SOURCE.rawValue), error: ELOOP, detail: 2)
        let stage = SandboxLauncher.stage(of: record, operations: operations, command: [])
        #expect(stage == .openSource("/srv/tree"))
        #expect(stage.name == "open /srv/tree")
    }
}
