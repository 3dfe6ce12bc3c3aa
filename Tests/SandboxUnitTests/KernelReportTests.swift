import Foundation
import SandboxKernel
import SandboxModel
import Testing

@testable import SandboxSupervisor

/// `sandbox doctor`'s report, here or inside a sandbox: what it says must agree
/// with the kernel, and "containment: available" only with a probe that ran.
@Suite struct KernelReportTests {
    /// What the report concludes from its probe, with the probe's outcome given.
    @Test func aFailedProbeMeansNoContainmentAndSaysWhy() {
        let refused: (CgroupHost) -> StepResult = { _ in
            var result = StepResult(status: .setupFailed)
            result.setupFailure = .init(
                stage: .supervisor("clone"), errno: EPERM, message: "clone: Operation not permitted")
            return result
        }
        let report = KernelReport.gather(cgroups: .unavailable(reason: "no hierarchy in this test"), probe: refused)
        let findings = Dictionary(report.findings, uniquingKeysWith: { first, _ in first })
        #expect(findings["probe sandbox"] == "failed: clone: Operation not permitted")
        #expect(findings["cgroups"] == "no hierarchy in this test")
        #expect(findings["mode: memory"] == "per process only (RLIMIT_AS): no cgroup")
        #expect(findings["mode: processes"] == "RLIMIT_NPROC only")
        #expect(findings["mode: cpu time"] == "RLIMIT_CPU per process")
        #expect(!report.containmentAvailable)
        #expect(report.text.hasSuffix("containment: NOT available\n"))
    }

    /// A v1 hierarchy with cpuacct mounted, in which no step group can be made (an
    /// ordinary user's): the CPU-time limit is per process, and says so.
    @Test func cpuTimeIsPerProcessWhereNoStepGroupCanBeMade() {
        let ran: (CgroupHost) -> StepResult = { _ in StepResult(status: .exited, exitCode: 0) }
        let missing = "/nonexistent-sandbox-test-hierarchy"
        let report = KernelReport.gather(
            cgroups: .v1(memory: missing + "/memory", pids: missing + "/pids", cpuacct: missing + "/cpuacct"),
            probe: ran)
        let findings = Dictionary(report.findings, uniquingKeysWith: { first, _ in first })
        #expect(findings["cgroups"]?.contains("mounted, but") == true, "\(findings["cgroups"] ?? "")")
        #expect(findings["mode: cpu time"] == "RLIMIT_CPU per process")
    }

    @Test func aProbeThatRanIsReported() {
        let ran: (CgroupHost) -> StepResult = { _ in StepResult(status: .exited, exitCode: 0) }
        let report = KernelReport.gather(cgroups: .unavailable(reason: "none"), probe: ran)
        let findings = Dictionary(report.findings, uniquingKeysWith: { first, _ in first })
        #expect(
            findings["probe sandbox"]
                == "/bin/true ran in new user, mount, PID, network, IPC, UTS and cgroup namespaces")
        // Root without a cgroup has no memory bound for its steps: no containment.
        #expect(report.containmentAvailable == (geteuid() != 0 && findings["seccomp"] == nil))
    }

    /// Not under a seccomp filter (inside `sandbox verify`): its probe sandbox
    /// would be a refused clone, counted against the step.
    @Test(
        .enabled(
            if: !HostProbe.runsUnderSeccompFilter
                || ProcessInfo.processInfo.environment["SANDBOX_TESTS_NEED_SANDBOXES"] == "1",
            "under a seccomp filter, where the probe's clone would be refused"))
    func theReportAgreesWithTheKernelAndItsProbe() throws {
        let report = KernelReport.gather()
        let findings = Dictionary(report.findings, uniquingKeysWith: { first, _ in first })
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        #expect(findings["kernel"] == release)
        #expect(findings["libseccomp"] == SeccompCompiler.libraryVersion)
        #expect(findings["user"] == (geteuid() == 0 ? "root" : "uid \(geteuid()) (rootless)"))
        let probe = try #require(findings["probe sandbox"])
        if probe.hasPrefix("failed: ") {
            #expect(!report.containmentAvailable)
            #expect(
                ProcessInfo.processInfo.environment["SANDBOX_TESTS_NEED_SANDBOXES"] != "1",
                "under make test the probe must start: \(probe)")
        } else {
            #expect(probe.hasPrefix("/bin/true ran in new user, mount, PID"))
        }
        for topic in ["mode: filesystem", "mode: system calls", "mode: memory", "mode: processes", "mode: cpu time"] {
            #expect(findings[topic] != nil, "\(topic)")
        }
        #expect(
            report.text.hasSuffix(
                report.containmentAvailable ? "containment: available\n" : "containment: NOT available\n"))
        // Topics are aligned in one column.
        let firstLine = try #require(report.text.split(separator: "\n").first)
        let width = report.findings.map(\.0.count).max() ?? 0
        #expect(firstLine.hasPrefix("kernel" + String(repeating: " ", count: width - "kernel".count) + "  "))
    }
}
