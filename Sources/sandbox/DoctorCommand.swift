import ArgumentParser
import SandboxKernel
import SandboxModel
import SandboxSupervisor

/// `sandbox doctor`: what this kernel offers, and how each protection will run.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Report the kernel's sandboxing features and the mode each protection runs in.")

    func run() throws {
        let report = KernelReport.gather()
        FileDescriptorOutput.standardOutput.write(report.text)
        if !report.containmentAvailable { throw ExitCode(1) }
    }
}
