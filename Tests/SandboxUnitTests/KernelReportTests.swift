import Glibc
import SandboxKernel
import Testing

@testable import SandboxSupervisor

/// `sandbox doctor`'s report, here or inside a sandbox: what it says must agree
/// with the kernel, and "containment: available" only with a probe that ran.
@Suite struct KernelReportTests {
    @Test func theReportAgreesWithTheKernelAndItsProbe() throws {
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
