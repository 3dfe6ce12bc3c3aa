import Glibc
import SandboxKernel

/// The private directories (`/tmp/PREFIX-XXXXXX`, 0700, this user's) that runs
/// of this user left when they were killed (SIGKILL, a crash): each holds a
/// `lock` that its run held (flock) for as long as it lived, and that nobody
/// holds now. Working copies and exports are swept this way.
enum AbandonedCopies {
    static let directory = "/tmp"

    /// Calls `remove` with each abandoned directory's path, its lock held by this
    /// process meanwhile, so that two sweeps never remove the same one.
    static func forEach(prefix: String, _ remove: (String) -> Void) {
        let names = (Descriptor.untrustedDirectoryEntries(directory) ?? []).filter { $0.hasPrefix(prefix + "-") }
        for name in names {
            let parent = directory + "/" + name
            var info = stat()
            guard lstat(parent, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == geteuid(),
                info.st_mode & 0o777 == 0o700
            else { continue }
            let held = open(parent + "/lock", O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard held >= 0 else { continue }
            defer { close(held) }
            // Held by a live run, or unlinked by the run that is removing it.
            var lockInfo = stat()
            guard flock(held, LOCK_EX | LOCK_NB) == 0, fstat(held, &lockInfo) == 0, lockInfo.st_nlink > 0 else {
                continue
            }
            remove(parent)
        }
    }
}
