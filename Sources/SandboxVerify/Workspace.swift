import Glibc
import SandboxKernel
import SandboxModel
import SandboxSupervisor

/// The copy of the user's tree the steps work in. Made, read and emptied from
/// inside sandboxes: the untrusted content (links, FIFOs, odd modes) is never
/// walked by the supervisor itself, and the user's tree is mounted read-only.
struct Workspace {
    let path: String

    init(copying tree: String, supervisor: Supervisor) throws(VerifyError) {
        do {
            path = try Descriptor.makeTemporaryDirectory(prefix: "sandbox-verify")
        } catch {
            throw .sandbox("cannot create a working copy: \(error)")
        }
        let identity = Supervisor.hostIdentity
        guard chmod(path, 0o755) == 0, chown(path, identity.uid, identity.gid) == 0 else {
            rmdir(path)
            throw .sandbox("cannot hand the working copy to the sandbox's uid \(identity.uid)")
        }
        var copy = RunConfiguration(command: [
            "/bin/sh", "-c",
            "cp -R -P --preserve=mode,timestamps -- /source/. /workspace/ && rm -rf -- /workspace/.sandbox",
        ])
        copy.workspace = path
        copy.binds = [BindMount(source: tree, destination: "/source")]
        copy.limits.timeout = .minutes(10)
        let (result, _, stderr) = Self.capture(copy, supervisor: supervisor, cap: 1 << 16)
        guard result.status == .exited, result.exitCode == 0 else {
            let detail = result.setupFailure?.message ?? String(decoding: stderr, as: UTF8.self)
            Self.empty(path, supervisor: supervisor)
            rmdir(path)
            throw .sandbox("could not copy \(tree) into a sandbox: \(detail)")
        }
    }

    /// Reads a file as the sandbox sees it, through a pipe, at most `cap` bytes.
    func readInside(_ file: String, supervisor: Supervisor, cap: Int) -> Result<[UInt8], ReportFailure> {
        var read = RunConfiguration(command: ["/bin/cat", "--", file])
        read.workspace = path
        read.limits.output = ByteSize(bytes: UInt64(cap))
        read.limits.timeout = .minutes(1)
        let (result, stdout, stderr) = Self.capture(read, supervisor: supervisor, cap: cap)
        if result.status == .outputLimit { return .failure(ReportFailure("larger than \(cap >> 20) MiB")) }
        guard result.status == .exited, result.exitCode == 0 else {
            let message = String(decoding: stderr, as: UTF8.self).split(separator: "\n").first.map(String.init)
            return .failure(ReportFailure("missing: the step did not write it" + (message.map { " (\($0))" } ?? "")))
        }
        return .success(stdout)
    }

    /// Empties and removes the copy.
    func remove() {
        Self.empty(path, supervisor: Supervisor())
        rmdir(path)
    }

    static func empty(_ path: String, supervisor: Supervisor) {
        var clean = RunConfiguration(command: ["/usr/bin/find", "/workspace", "-mindepth", "1", "-delete"])
        clean.workspace = path
        _ = capture(clean, supervisor: supervisor, cap: 1 << 12)
    }

    /// Runs a sandbox and returns its result with what it wrote.
    static func capture(_ configuration: RunConfiguration, supervisor: Supervisor, cap: Int) -> (
        StepResult, [UInt8], [UInt8]
    ) {
        guard let out = try? Descriptor.anonymousFile(), let err = try? Descriptor.anonymousFile() else {
            var result = StepResult(status: .setupFailed)
            result.setupFailure = .init(stage: "capture", errno: errno, message: "cannot create capture files in /tmp")
            return (result, [], [])
        }
        defer {
            close(out)
            close(err)
        }
        let result = supervisor.run(configuration, stdout: out, stderr: err)
        return (result, Descriptor.contents(of: out, limit: cap), Descriptor.contents(of: err, limit: 1 << 16))
    }
}

/// Why a report could not be read, for its gate.
struct ReportFailure: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}
