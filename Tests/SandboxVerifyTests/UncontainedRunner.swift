import Foundation
import SandboxModel

@testable import SandboxVerify

/// Runs a configuration bare, with no containment at all, the sandbox's paths
/// (/workspace and each bind's destination) mapped to the host directories
/// behind them. It lets the verifier's own logic (the copy, report clearing and
/// reading scripts, step order, evidence, gates) be tested where no sandbox can
/// start; `VerifyTests` run the same paths in real sandboxes. Only for trees the
/// tests themselves wrote.
struct UncontainedRunner: SandboxRunner {
    /// Nothing is enforced at all; only this package's tests use it.
    var enforcementNote: String? { nil }

    func capture(_ configuration: RunConfiguration, stdoutCap: Int, stderrCap: Int) -> CapturedRun {
        // Without a workspace, "/workspace" would be the host's own path.
        guard let workspace = configuration.workspace, let first = configuration.command.first else {
            return .setupFailed(
                stage: .supervisor("test"), errno: nil,
                message: "the uncontained runner needs a workspace and a command")
        }
        var mapping: [(inside: String, host: String)] = configuration.binds.map { ($0.destination, $0.source) }
        mapping.append((RunConfiguration.workingDirectory, workspace))
        func mapped(_ text: String) -> String {
            mapping.reduce(text) { $0.replacingOccurrences(of: $1.inside, with: $1.host) }
        }
        let environment = Dictionary(configuration.environment.map { ($0.name, $0.value) }) { $1 }
        guard let executable = Self.find(mapped(first), path: environment["PATH"] ?? "/usr/bin:/bin") else {
            return CapturedRun(
                result: StepResult(status: .exited, exitCode: 127), stderr: Array("\(first): not found\n".utf8))
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("uncontained-\(UUID())")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout")
        let errURL = scratch.appendingPathComponent("stderr")
        let process = Process()
        // The step's own wall clock, as the supervisor would hold it: a hang fails the test, not the run.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments =
            ["--signal=KILL", "\(max(configuration.limits.timeout.milliseconds / 1000, 1))", executable]
            + configuration.command.dropFirst().map(mapped)
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: workspace)
        process.standardInput = FileHandle.nullDevice
        do {
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            for url in [outURL, errURL] {
                guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                    throw CocoaError(.fileWriteUnknown)
                }
            }
            process.standardOutput = try FileHandle(forWritingTo: outURL)
            process.standardError = try FileHandle(forWritingTo: errURL)
            try process.run()
        } catch {
            return .setupFailed(stage: .exec(first), errno: nil, message: "\(error)")
        }
        process.waitUntilExit()
        let stdout = Array((try? Data(contentsOf: outURL)) ?? Data())
        let stderr = Array((try? Data(contentsOf: errURL)) ?? Data())
        var result =
            process.terminationReason == .uncaughtSignal
            ? StepResult(status: .signaled, signal: process.terminationStatus)
            : StepResult(status: .exited, exitCode: process.terminationStatus)
        if process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL {
            result.status = .timeout
            result.limitsHit = [.timeout]
        }
        if UInt64(max(stdout.count, stderr.count)) > configuration.limits.output.bytes {
            result.status = .outputLimit
            result.limitsHit = [.output]
        }
        return CapturedRun(
            result: result, stdout: Array(stdout.prefix(stdoutCap)), stderr: Array(stderr.prefix(stderrCap)))
    }

    static func find(_ name: String, path: String) -> String? {
        if name.contains("/") { return name }
        return path.split(separator: ":").map { "\($0)/\(name)" }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }
}
