import Foundation
import SandboxModel
import SandboxVerify

/// Runs a configuration bare, with no containment at all, the sandbox's paths
/// (/workspace and each bind's destination) mapped to the host directories
/// behind them. It lets the verifier's own logic (the copy, report clearing and
/// reading scripts, step order, evidence, gates) be tested where no sandbox can
/// start; `VerifyTests` run the same paths in real sandboxes. Only for trees the
/// tests themselves wrote.
struct UncontainedRunner: SandboxRunner {
    func capture(_ configuration: RunConfiguration, stdoutCap: Int, stderrCap: Int) -> (
        StepResult, [UInt8], [UInt8]
    ) {
        var mapping: [(inside: String, host: String)] = configuration.binds.map { ($0.destination, $0.source) }
        if let workspace = configuration.workspace { mapping.append((RunConfiguration.workingDirectory, workspace)) }
        func mapped(_ text: String) -> String {
            mapping.reduce(text) { $0.replacingOccurrences(of: $1.inside, with: $1.host) }
        }
        let environment = Dictionary(configuration.environment.map { ($0.name, $0.value) }) { $1 }
        let command = configuration.command.map(mapped)
        guard let executable = Self.find(command[0], path: environment["PATH"] ?? "/usr/bin:/bin") else {
            return (StepResult(status: .exited, exitCode: 127), [], Array("\(command[0]): not found\n".utf8))
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("uncontained-\(UUID())")
        try! FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout")
        let errURL = scratch.appendingPathComponent("stderr")
        for url in [outURL, errURL] {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                var result = StepResult(status: .setupFailed)
                result.setupFailure = .init(stage: "capture", errno: nil, message: "cannot create \(url.path)")
                return (result, [], [])
            }
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = Array(command.dropFirst())
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: configuration.workspace ?? "/")
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try! FileHandle(forWritingTo: outURL)
        process.standardError = try! FileHandle(forWritingTo: errURL)
        do {
            try process.run()
        } catch {
            var result = StepResult(status: .setupFailed)
            result.setupFailure = .init(stage: "execve \(command[0])", errno: nil, message: "\(error)")
            return (result, [], [])
        }
        process.waitUntilExit()
        let stdout = Array((try? Data(contentsOf: outURL)) ?? Data())
        let stderr = Array((try? Data(contentsOf: errURL)) ?? Data())
        var result =
            process.terminationReason == .uncaughtSignal
            ? StepResult(status: .signaled, signal: process.terminationStatus)
            : StepResult(status: .exited, exitCode: process.terminationStatus)
        if UInt64(stdout.count) > configuration.limits.output.bytes {
            result.status = .outputLimit
            result.limitsHit = [.output]
        }
        return (result, Array(stdout.prefix(stdoutCap)), Array(stderr.prefix(stderrCap)))
    }

    static func find(_ name: String, path: String) -> String? {
        if name.contains("/") { return name }
        return path.split(separator: ":").map { "\($0)/\(name)" }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }
}
