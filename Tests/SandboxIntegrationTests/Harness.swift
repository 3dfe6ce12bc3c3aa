import Foundation
import SandboxKernel
import SandboxModel
import SandboxSupervisor
import Synchronization
import SystemPackage
import Testing

/// What a real sandbox did: its result and everything it wrote.
struct Captured {
    var result: StepResult
    var stdout: String
    var stderr: String

    /// `key=value` lines the probe scripts print.
    var values: [String: String] {
        var values: [String: String] = [:]
        for line in stdout.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        return values
    }

    var denied: [String: Int] {
        Dictionary(uniqueKeysWithValues: result.deniedSyscalls.map { ($0.name, $0.count) })
    }
}

enum Harness {
    static let isRoot = geteuid() == 0

    /// Set by `make test`: the tests that need real sandboxes run, and fail, even
    /// where sandboxes cannot start, so that CI can never pass by skipping them.
    static let sandboxesRequired = ProcessInfo.processInfo.environment["SANDBOX_TESTS_NEED_SANDBOXES"] == "1"

    /// Whether the tests that run the `sandbox` executable can: always under
    /// `make test`, where a missing binary must fail them.
    static let binaryAvailable = sandboxesRequired || FileManager.default.fileExists(atPath: binary)

    /// Whether a real sandbox starts here. Inside one (`sandbox verify` on this
    /// repository) creating namespaces is refused, as SECURITY.md requires, so the
    /// tests that need them are skipped there, and counted as skipped. Under a
    /// seccomp filter there is no probe: `sandbox`'s filter would count the
    /// refused clone as a containment incident.
    static let sandboxesStart: Bool = {
        if sandboxesRequired { return true }
        if HostProbe.runsUnderSeccompFilter { return false }
        let supervisor = Supervisor()
        let null = try! FileDescriptor.open("/dev/null", .writeOnly, options: .closeOnExec)
        defer { Descriptor.close(null) }
        let result = supervisor.run(RunConfiguration(command: ["/bin/true"]), stdout: null, stderr: null)
        return result.status == .exited && result.exitCode == 0
    }()
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let binary = packageRoot.appendingPathComponent(".build/debug/sandbox").path

    /// Runs `command` in a real sandbox, capturing its output.
    static func run(_ command: [String], configure: (inout RunConfiguration) -> Void = { _ in }) -> Captured {
        var configuration = RunConfiguration(command: command)
        configure(&configuration)
        let out = anonymousFile()
        let err = anonymousFile()
        defer {
            Descriptor.close(out)
            Descriptor.close(err)
        }
        let result = Supervisor().run(configuration, stdout: out, stderr: err)
        return Captured(result: result, stdout: contents(of: out), stderr: contents(of: err))
    }

    /// A Python probe, run with Debian's interpreter.
    static func python(_ script: String, configure: (inout RunConfiguration) -> Void = { _ in }) -> Captured {
        run(["/usr/bin/python3", "-c", script], configure: configure)
    }

    static func anonymousFile() -> FileDescriptor {
        try! Descriptor.anonymousFile()
    }

    static func contents(of fd: FileDescriptor) -> String {
        String(decoding: Descriptor.contents(of: fd, limit: Int.max), as: UTF8.self)
    }

    /// A host directory for one test, removed afterwards by the caller.
    static func temporaryDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sandbox-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A host directory to use as a workspace: writable by the sandbox's host
    /// identity. Root's sandboxes run as an unprivileged uid of their own, the
    /// workspace's owner when it is one of the leased range: each workspace gets
    /// a uid of its own, so that tests running at once do not wait for each other.
    static func workspace() -> URL {
        let url = temporaryDirectory()
        if isRoot {
            let uid = RunConfiguration.rootHostIdentity + 1000 + workspaces.add(1, ordering: .relaxed).newValue
            chown(url.path, uid, uid)
        }
        return url
    }
    static let workspaces = Atomic<UInt32>(0)

    /// Runs the `sandbox` executable itself; returns exit status, stdout, stderr.
    static func cli(
        _ arguments: [String], asUser user: String? = nil, binary: String = Harness.binary,
        environment: [String: String] = [:]
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.currentDirectoryURL = URL(fileURLWithPath: "/")
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        if let user {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=\(user)", "--regid=\(user)", "--clear-groups", "--", binary] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
        }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (
            process.terminationStatus, String(decoding: outData, as: UTF8.self),
            String(decoding: errData, as: UTF8.self)
        )
    }
}

extension Trait where Self == ConditionTrait {
    /// For suites whose tests start real sandboxes (see `Harness.sandboxesStart`).
    static var needsSandboxes: Self {
        .enabled(
            if: Harness.sandboxesStart,
            "no sandbox can start here (under a seccomp filter, or namespaces refused); SANDBOX_TESTS_NEED_SANDBOXES=1 runs them anyway"
        )
    }
}

/// A fingerprint of host state an attack might try to change.
struct HostSnapshot: Equatable {
    var entries: [String: String]

    static let watched = ["/etc/passwd", "/etc/shadow", "/etc/hostname", "/usr/bin", "/root", Harness.binary]

    init(extra: [String] = []) {
        var entries: [String: String] = [:]
        for path in Self.watched + extra {
            var info = stat()
            if lstat(path, &info) == 0 {
                entries[path] = "\(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) \(info.st_mode)"
            } else {
                entries[path] = "absent"
            }
        }
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count)
        entries["hostname"] = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        self.entries = entries
    }
}
