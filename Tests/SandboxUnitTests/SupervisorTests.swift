import Foundation
import SandboxModel
import SystemPackage
import Testing

@testable import SandboxKernel
@testable import SandboxSupervisor

/// What the supervisor decides before any sandbox exists: bad input is a
/// setup failure that names it, and the launch plan carries the limits.
@Suite struct SupervisorTests {
    static func run(_ configuration: RunConfiguration) -> StepResult {
        let supervisor = Supervisor(cgroups: .unavailable(reason: "no hierarchy in this test"))
        let null = try! FileDescriptor.open("/dev/null", .writeOnly, options: .closeOnExec)
        defer { Descriptor.close(null) }
        return supervisor.run(configuration, stdout: null, stderr: null)
    }

    @Test func anEmptyCommandIsASetupFailure() {
        let result = Self.run(RunConfiguration(command: []))
        #expect(result.status == .setupFailed)
        #expect(result.setupFailure?.stage == .supervisor("command"))
        #expect(result.setupFailure?.message == "command (no command given)")
    }

    /// An earlier step may plant a link to redirect the next one's workspace.
    @Test func aWorkspaceReachedThroughALinkIsRefused() throws {
        let parent = try Descriptor.makeTemporaryDirectory(prefix: "supervisor-test")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        try FileManager.default.createDirectory(atPath: parent + "/real", withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: parent + "/link", withDestinationPath: "real")
        var configuration = RunConfiguration(command: ["/bin/true"])
        configuration.workspace = parent + "/link"
        let result = Self.run(configuration)
        #expect(result.status == .setupFailed)
        #expect(result.setupFailure?.stage == .supervisor("workspace"))
        #expect(result.setupFailure?.errno == ELOOP)
        #expect(result.setupFailure?.message.contains("give the real path") == true)
        configuration.workspace = parent + "/absent"
        #expect(Self.run(configuration).setupFailure?.errno == ENOENT)
    }

    /// /usr is root's (or, inside a sandbox, the unmapped overflow uid's) and not
    /// world-writable: never the sandbox's to write.
    @Test func aWorkspaceTheSandboxCannotWriteIsRefused() {
        var configuration = RunConfiguration(command: ["/bin/true"])
        configuration.workspace = "/usr"
        let result = Self.run(configuration)
        #expect(result.setupFailure?.errno == EACCES)
        var info = stat()
        #expect(stat("/usr", &info) == 0)
        let message = result.setupFailure?.message ?? ""
        let said = "owned by uid \(info.st_uid), but the sandbox runs as host uid "
        #expect(message.contains(said), "\(message)")
        // Root's run is a uid of the leased range, and says how to hand it a workspace.
        let uid = message.components(separatedBy: said).last?.prefix { $0.isNumber }
        let expected = geteuid() == 0 ? IdentityLease.range.contains(UInt32(uid ?? "") ?? 0) : uid == "\(geteuid())"
        #expect(expected, "\(message)")
    }

    /// Without a cgroup, root is refused: its steps' memory would be unbounded.
    @Test func rootWithoutACgroupIsRefused() throws {
        let unavailable = CgroupHost.unavailable(reason: "no hierarchy in this test")
        let supervisor = Supervisor(cgroups: unavailable)
        let host = Supervisor.Host(layout: HostProbe.layout(), cgroups: unavailable)
        let filter = SeccompCompiler.PendingFilter(.default, cache: nil)
        let configuration = RunConfiguration(command: ["/bin/true"])
        if geteuid() == 0 {
            #expect(throws: SystemError("cgroup", errno: nil, hint: "no hierarchy in this test")) {
                try supervisor.prepare(configuration, host: host, filter: filter)
            }
        } else {
            let prepared = try supervisor.prepare(configuration, host: host, filter: filter)
            #expect(!prepared.usesCgroup)
        }
    }

    /// The plan for this host's own cgroups: the limits, the command, its search
    /// path; per-process memory only where no cgroup bounds it.
    @Test func aPlanCarriesTheLimitsAndTheCommand() throws {
        var configuration = RunConfiguration(command: ["pytest", "-q"])
        configuration.limits.pids = 64
        configuration.limits.cpuTime = TimeSpan(milliseconds: 1500)
        configuration.network = .none
        try configuration.setEnvironment(parsing: "PATH=/opt/tools/bin:/usr/bin")
        let cgroups = CgroupHost.detect()
        if geteuid() == 0 && !cgroups.canCreateSteps { return }  // refused: the test above
        let supervisor = Supervisor(cgroups: cgroups)
        let host = Supervisor.Host(layout: HostProbe.layout(), cgroups: cgroups)
        let filter = SeccompCompiler.PendingFilter(configuration.seccomp, cache: nil)
        let prepared = try supervisor.prepare(configuration, host: host, filter: filter)
        let plan = prepared.plan
        #expect(prepared.usesCgroup == cgroups.canCreateSteps)
        #expect(plan.command == ["pytest", "-q"])
        #expect(plan.searchPath == "/opt/tools/bin:/usr/bin")
        #expect(plan.environment.contains("PATH=/opt/tools/bin:/usr/bin"))
        #expect(plan.newNetwork)
        #expect(!plan.filter.isEmpty)
        #expect(plan.operations.contains(.proc("/proc")))
        let limits = Dictionary(plan.limits.map { ($0.resource, $0.soft) }) { $1 }
        #expect(limits[Int32(__RLIMIT_NPROC.rawValue)] == 65, "one above the cgroup's bound, which counts init")
        #expect(limits[Int32(RLIMIT_CPU.rawValue)] == 2, "CPU seconds round up")
        #expect(limits[Int32(RLIMIT_CORE.rawValue)] == 0)
        #expect(
            limits[Int32(RLIMIT_AS.rawValue)] == (prepared.usesCgroup ? nil : configuration.limits.memory.bytes),
            "address space is bounded per process only where no cgroup bounds memory")
    }
}
