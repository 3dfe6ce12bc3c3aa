import Glibc
import SandboxKernel
import SandboxModel
import SandboxSupervisor

/// The copy of the user's tree the steps work in. Made, read and emptied from
/// inside sandboxes: the untrusted content (links, FIFOs, odd modes) is never
/// walked by the supervisor itself, and the user's tree is mounted read-only.
struct Workspace {
    /// The directory the steps see as /workspace.
    let path: String
    /// Its private parent (0700, the supervisor's): no other host user reaches in.
    let parent: String
    /// Whether `path` is a tmpfs of its own (root only), bounding what steps can write.
    let mounted: Bool
    /// What the verdict should say about the copy (a bound that could not be had).
    var notes: [String] = []
    /// Where the copy is made, read and emptied from.
    let runner: any SandboxRunner
    /// `lock` in the parent, held (flock) for as long as this run lasts: a copy
    /// whose lock nobody holds was left by a run that was killed.
    let lock: Int32

    static let directory = "/tmp"
    static let prefix = "sandbox-verify"

    /// `excluding` names entries at the tree's root that are not copied.
    init(copying tree: String, excluding: [String] = [], runner: any SandboxRunner, size: ByteSize) throws(VerifyError)
    {
        let abandoned = Self.removeAbandoned(runner: runner)
        do {
            parent = try Descriptor.makeTemporaryDirectory(in: Self.directory, prefix: Self.prefix)
        } catch {
            throw .sandbox("cannot create a working copy: \(error)")
        }
        path = parent + "/tree"
        self.runner = runner
        // Locked under another name, then named `lock`: another run's sweep never
        // finds this copy with its lock not yet held.
        lock = open(parent + "/lock.new", O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard lock >= 0, flock(lock, LOCK_EX | LOCK_NB) == 0, rename(parent + "/lock.new", parent + "/lock") == 0 else {
            let reason = String(cString: strerror(errno))
            if lock >= 0 { close(lock) }
            unlink(parent + "/lock.new")
            rmdir(parent)
            throw .sandbox("cannot lock the working copy \(parent): \(reason)")
        }
        notes = abandoned
        let identity = runner.hostIdentity
        guard mkdir(path, 0o755) == 0, chown(path, identity.uid, identity.gid) == 0 else {
            rmdir(path)
            unlink(parent + "/lock")
            close(lock)
            rmdir(parent)
            throw .sandbox("cannot hand the working copy to the sandbox's uid \(identity.uid)")
        }
        // As root, the copy is a tmpfs of bounded size: steps cannot fill the host's
        // disk, and removing it is an unmount, whatever modes the steps left.
        mounted =
            geteuid() == 0
            && mount(
                "sandbox-workspace", path, "tmpfs", UInt(MS_NOSUID | MS_NODEV),
                "size=\(size.bytes),mode=0755,uid=\(identity.uid),gid=\(identity.gid)") == 0
        if geteuid() == 0 && !mounted {
            notes.append(
                "the working copy is not size-bounded: mounting a tmpfs failed (\(String(cString: strerror(errno))))")
        } else if geteuid() != 0 {
            notes.append(
                "the working copy is not size-bounded (--workspace-size needs root, to mount its tmpfs): "
                    + "steps can write until the disk of \(Self.directory) is full, each file up to the file-size limit"
            )
        }
        // Entry by entry, less the excluded names (arguments, never script text).
        // .sandbox goes even when cp could not read everything: nothing planted survives.
        // A root the sandbox's uid cannot list would copy as an empty tree, and the
        // verdict would speak of what is missing: exit 4 says so instead.
        let script = """
            [ -r /source ] && [ -x /source ] || exit 4; status=0; for entry in /source/* /source/.[!.]* /source/..?*; do \
            [ -e "$entry" ] || [ -L "$entry" ] || continue; name=${entry#/source/}; skip=0; \
            for excluded; do [ "$name" = "$excluded" ] && skip=1; done; [ $skip = 1 ] && continue; \
            cp -R -P --preserve=timestamps -- "$entry" /workspace/ || status=1; done; \
            rm -rf -- /workspace/.sandbox || exit 125; exit $status
            """
        var copy = RunConfiguration(command: ["/bin/sh", "-c", script, "sandbox-copy"] + excluding)
        copy.workspace = path
        copy.binds = [BindMount(source: tree, destination: "/source")]
        copy.limits.timeout = .minutes(10)
        let run = runner.capture(copy, stdoutCap: 1 << 16, stderrCap: 1 << 16)
        let (result, stderr) = (run.result, run.stderr)
        if result.status == .exited, result.exitCode == 4 {
            _ = remove()
            throw .usage(
                "\(tree): the sandbox's uid \(identity.uid) cannot read the tree's root; make it readable "
                    + "(chmod o+rx \(tree)) or verify as its owner")
        }
        let unreadable = result.status == .exited ? Self.unreadablePaths(in: stderr) : nil
        guard result.status == .exited, result.exitCode == 0 || unreadable?.isEmpty == false else {
            let detail = result.setupFailure?.message ?? String(decoding: stderr, as: UTF8.self)
            _ = remove()
            throw .sandbox("could not copy \(tree) into a sandbox: \(detail)")
        }
        if let unreadable, !unreadable.isEmpty {
            let shown = unreadable.prefix(5).joined(separator: ", ")
            notes.append(
                "left out of the working copy, unreadable to the sandbox's uid: \(shown)"
                    + (unreadable.count > 5 ? " and \(unreadable.count - 5) more" : ""))
        }
    }

    /// The paths cp could not read for want of permission ("cp: cannot access
    /// '/source/x': Permission denied"), relative to the tree; nil when cp
    /// complained of anything else.
    static func unreadablePaths(in stderr: [UInt8]) -> [String]? {
        var paths: [String] = []
        for line in String(decoding: stderr, as: UTF8.self).split(separator: "\n") {
            let quoted: Substring
            if line.hasPrefix("cp: cannot access '"), line.hasSuffix("': Permission denied") {
                quoted = line.dropFirst("cp: cannot access '".count).dropLast("': Permission denied".count)
            } else if line.hasPrefix("cp: cannot open '"), line.hasSuffix("' for reading: Permission denied") {
                quoted = line.dropFirst("cp: cannot open '".count).dropLast("' for reading: Permission denied".count)
            } else {
                return nil
            }
            guard quoted.hasPrefix("/source/") else { return nil }
            let relative = quoted.dropFirst("/source/".count)
            paths.append(String(relative.hasPrefix("./") ? relative.dropFirst(2) : relative))
        }
        return paths
    }

    /// Reads a regular file as the sandbox sees it, through a pipe, at most `cap`
    /// bytes. A FIFO, device or directory planted at the path is refused unread.
    func readInside(_ file: String, cap: Int) -> Result<[UInt8], ReportFailure> {
        let script = """
            if [ -f "$1" ]; then exec cat -- "$1"; elif [ -e "$1" ] || [ -L "$1" ]; then exit 3; else exit 1; fi
            """
        var read = RunConfiguration(command: ["/bin/sh", "-c", script, "sandbox-read", file])
        read.workspace = path
        read.limits.output = ByteSize(bytes: UInt64(cap))
        read.limits.timeout = .minutes(1)
        let run = runner.capture(read, stdoutCap: cap, stderrCap: 1 << 16)
        let (result, stdout, stderr) = (run.result, run.stdout, run.stderr)
        if result.status == .outputLimit { return .failure(ReportFailure("larger than \(cap >> 20) MiB")) }
        if result.status == .exited, result.exitCode == 3 { return .failure(ReportFailure("not a regular file")) }
        guard result.status == .exited, result.exitCode == 0 else {
            let message = String(decoding: stderr, as: UTF8.self).split(separator: "\n").first.map(String.init)
            return .failure(ReportFailure("missing: the step did not write it" + (message.map { " (\($0))" } ?? "")))
        }
        return .success(stdout)
    }

    /// Empties and removes the copy; returns what could not be removed, if anything.
    @discardableResult
    func remove() -> String? {
        defer { close(lock) }
        return Self.remove(path, in: parent, mounted: mounted, runner: runner)
    }

    static func remove(_ path: String, in parent: String, mounted: Bool, runner: any SandboxRunner) -> String? {
        if mounted {
            umount2(path, Int32(MNT_DETACH))
        } else if rmdir(path) == 0 || errno == ENOENT {
            // Empty already (a tmpfs that went with its killed run's mounts).
        } else {
            // Inside a sandbox, as the steps' own uid: modes they set cannot stop it.
            var clean = RunConfiguration(command: [
                "/bin/sh", "-c", "chmod -R u+rwX /workspace && find /workspace -mindepth 1 -delete",
            ])
            clean.workspace = path
            let run = runner.capture(clean, stdoutCap: 1 << 12, stderrCap: 1 << 16)
            if run.result.exitCode != 0 {
                return "could not empty the working copy \(path): "
                    + String(decoding: run.stderr.prefix(300), as: UTF8.self)
            }
        }
        guard rmdir(path) == 0 || errno == ENOENT, unlink(parent + "/lock") == 0 || errno == ENOENT,
            rmdir(parent) == 0 || errno == ENOENT
        else {
            return "could not remove the working copy \(parent): \(String(cString: strerror(errno)))"
        }
        return nil
    }

    /// Removes the working copies that runs of this user left when they were
    /// killed (SIGKILL, a crash): a copy of ours (0700, this uid's) whose lock
    /// no run holds. Returns what could not be removed, for the verdict's notes.
    static func removeAbandoned(runner: any SandboxRunner) -> [String] {
        var failures: [String] = []
        AbandonedCopies.forEach(prefix: prefix) { parent in
            if let failure = remove(parent + "/tree", in: parent, mounted: false, runner: runner) {
                failures.append("a working copy a killed run left: " + failure)
            }
        }
        return failures
    }
}

/// Why a report could not be read, for its gate.
struct ReportFailure: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}
