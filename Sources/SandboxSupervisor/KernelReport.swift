import Glibc
import SandboxKernel
import SandboxModel
import SystemPackage

/// What `sandbox doctor` reports: the kernel's features, a real probe sandbox,
/// and the mode each protection runs in.
public struct KernelReport: Sendable {
    /// (topic, finding) pairs, in the order printed.
    public var findings: [(String, String)] = []
    /// False when a sandbox cannot be had at all.
    public var containmentAvailable = true

    public var text: String {
        let width = findings.map(\.0.count).max() ?? 0
        return findings.map { $0.0 + String(repeating: " ", count: width - $0.0.count) + "  " + $0.1 }
            .joined(separator: "\n") + "\n"
            + (containmentAvailable ? "containment: available\n" : "containment: NOT available\n")
    }

    public static func gather() -> KernelReport {
        gather(cgroups: .detect(), probe: probeSandbox)
    }

    /// `probe` starts the probe sandbox in the hierarchy `cgroups`.
    static func gather(cgroups: CgroupHost, probe: (CgroupHost) -> StepResult) -> KernelReport {
        var report = KernelReport()
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        report.findings.append(("kernel", release))
        report.findings.append(("user", geteuid() == 0 ? "root" : "uid \(geteuid()) (rootless)"))
        report.findings.append(
            ("sandbox identity", "uid \(RunConfiguration.user.uid) inside; \(Supervisor.hostIdentityDescription)"))

        let maxNamespaces = read("/proc/sys/user/max_user_namespaces") ?? "unknown"
        var namespaces = "max_user_namespaces \(maxNamespaces)"
        if let unprivileged = read("/proc/sys/kernel/unprivileged_userns_clone") {
            namespaces += ", unprivileged_userns_clone \(unprivileged)"
        }
        if let apparmor = read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") {
            namespaces += ", apparmor_restrict_unprivileged_userns \(apparmor)"
        }
        report.findings.append(("user namespaces", namespaces))

        if HostProbe.runsUnderSeccompFilter {
            report.findings.append(
                (
                    "this process",
                    "already under a seccomp filter (in a container or a sandbox?): namespaces may be refused"
                ))
        }
        let actions = read("/proc/sys/kernel/seccomp/actions_avail") ?? ""
        report.findings.append(("seccomp actions", actions.isEmpty ? "unavailable" : actions))
        report.findings.append(("libseccomp", SeccompCompiler.libraryVersion))
        if !actions.split(separator: " ").contains("user_notif") {
            report.containmentAvailable = false
            report.findings.append(("seccomp", "the kernel lacks user_notif: refused calls cannot be answered"))
        }

        var cgroupMode: String?
        switch cgroups {
        case .unavailable(let reason):
            report.findings.append(("cgroups", reason))
        default:
            do {
                let step = try cgroups.createStep(limits: ResourceLimits())
                cgroupMode = step.mode
                step.destroy()
                report.findings.append(("cgroups", "\(cgroups.modeName): a step group can be created"))
            } catch {
                report.findings.append(("cgroups", "\(cgroups.modeName) mounted, but \(error)"))
            }
        }
        if cgroupMode == nil && geteuid() == 0 { report.containmentAvailable = false }

        // The real test: a sandbox, start to finish.
        let outcome = probe(cgroups)
        if outcome.status == .exited && outcome.exitCode == 0 {
            report.findings.append(
                ("probe sandbox", "/bin/true ran in new user, mount, PID, network, IPC, UTS and cgroup namespaces"))
        } else {
            report.containmentAvailable = false
            report.findings.append(
                ("probe sandbox", "failed: \(outcome.setupFailure?.message ?? outcome.status.rawValue)"))
        }

        // Whole-step accounting needs a step group that can be made, and on v1 its
        // cpuacct controller: a hierarchy that is only mounted accounts for nothing.
        let cpuacct: Bool =
            if case .v1(_, _, let accounting) = cgroups { accounting != nil && cgroupMode != nil } else {
                cgroupMode != nil
            }
        report.findings.append(
            ("mode: filesystem", "tmpfs root, host /usr read-only, generated /etc, private /tmp and /dev/shm"))
        report.findings.append(
            ("mode: system calls", "allow-list; refused calls answered EPERM and counted by name (user_notif)"))
        report.findings.append(
            ("mode: memory", cgroupMode.map { "\($0) limit, swap off" } ?? "per process only (RLIMIT_AS): no cgroup"))
        report.findings.append(
            ("mode: processes", cgroupMode.map { "\($0) pids.max and RLIMIT_NPROC" } ?? "RLIMIT_NPROC only"))
        report.findings.append(
            ("mode: cpu time", cpuacct ? "whole step (cgroup accounting) and RLIMIT_CPU" : "RLIMIT_CPU per process"))
        report.findings.append(("mode: wall clock, output", "supervisor"))
        return report
    }

    /// Runs /bin/true in a real sandbox.
    static func probeSandbox(_ cgroups: CgroupHost) -> StepResult {
        let devNull: FileDescriptor
        do {
            devNull = try FileDescriptor.open("/dev/null", .writeOnly, options: .closeOnExec)
        } catch {
            var result = StepResult(status: .setupFailed)
            let code = (error as? Errno)?.rawValue
            result.setupFailure = .init(
                stage: .supervisor("open /dev/null"), errno: code, message: "open /dev/null: \(error)")
            return result
        }
        defer { Descriptor.close(devNull) }
        let probe = Supervisor(cgroups: cgroups)
        return probe.run(RunConfiguration(command: ["/bin/true"]), stdout: devNull, stderr: devNull)
    }

    static func read(_ path: String) -> String? {
        Descriptor.readSmallFile(path).map { $0.split(separator: "\n").joined(separator: " ") }
    }
}
