import Glibc
import SandboxKernel
import SandboxReports
import SystemPackage

/// A commit's tree written out for verification, in a private directory of this
/// process's own, from which the working copy is made as from any tree. Every name
/// was checked by `GitTreeListing`; every path is opened beneath the export,
/// refusing links, and created afresh (O_EXCL), so that no entry can write through
/// another. Links are kept as links when they lead somewhere inside the tree.
struct ExportedTree {
    /// The private directory (0700), and the tree inside it.
    let parent: String
    var path: String { parent + "/tree" }
    /// What the export left out, for the verdict's notes.
    var notes: [String] = []
    /// `lock` in the parent, held (flock) for as long as the export lives: an
    /// export whose lock nobody holds was left by a run that was killed.
    private let lock: Int32

    static let prefix = "sandbox-export"

    init(_ content: GitTreeContent, commit: String) throws(VerifyError) {
        Self.removeAbandoned()
        do {
            parent = try Descriptor.makeTemporaryDirectory(in: "/tmp", prefix: Self.prefix)
        } catch {
            throw .sandbox("cannot make a directory to export \(commit) into: \(error)")
        }
        // Locked under another name, then named `lock`: another run's sweep never
        // finds this export with its lock not yet held.
        lock = open(parent + "/lock.new", O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard lock >= 0, flock(lock, LOCK_EX | LOCK_NB) == 0, rename(parent + "/lock.new", parent + "/lock") == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(parent + "/lock.new")
            remove()
            throw .sandbox("cannot lock the export \(parent): \(reason)")
        }
        do throws(SystemError) {
            try write(content)
        } catch {
            remove()
            throw .sandbox("cannot export the tree of \(commit): \(error)")
        }
    }

    private mutating func write(_ content: GitTreeContent) throws(SystemError) {
        // Modes as given, whatever the umask: the sandbox's uid reads the export.
        guard mkdir(path, 0o755) == 0, chmod(path, 0o755) == 0 else { throw .last("mkdir", path: path) }
        let root = try Descriptor.openDirectoryRefusingLinks(path, role: "open the export")
        defer { Descriptor.close(root) }
        // A target that is not UTF-8 would change in the writing: it is left out.
        let links = Dictionary(
            content.entries.compactMap { entry -> (String, String)? in
                guard entry.kind == .symbolicLink, let bytes = content.blobs[entry.object],
                    let target = String(validating: bytes, as: UTF8.self)
                else { return nil }
                return (entry.path, target)
            }, uniquingKeysWith: { first, _ in first })
        // Resolving links costs at most this, for the whole tree: a tree of links
        // made to be slow to follow leaves the rest out, named.
        var budget = 64 << 20
        var directories: Set<String> = [""]
        var escaping: [String] = []
        for entry in content.entries {
            let components = entry.path.split(separator: "/")
            for depth in 1..<components.count {
                let directory = components.prefix(depth).joined(separator: "/")
                if directories.insert(directory).inserted {
                    try makeDirectory(directory, in: root)
                }
            }
            switch entry.kind {
            case .submodule:
                // As git leaves a submodule nobody initialised: an empty directory.
                if directories.insert(entry.path).inserted { try makeDirectory(entry.path, in: root) }
            case .file(let executable):
                guard let bytes = content.blobs[entry.object] else {
                    throw SystemError("read \(entry.object)", errno: nil, path: entry.path, hint: "git gave no blob")
                }
                let file = try Descriptor.openBeneath(
                    root, entry.path, flags: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, permissions: 0o600,
                    role: "create")
                defer { Descriptor.close(file) }
                try Descriptor.writeAll(file, bytes)
                guard fchmod(file.rawValue, executable ? 0o755 : 0o644) == 0 else {
                    throw .last("fchmod", path: entry.path)
                }
            case .symbolicLink:
                guard let target = links[entry.path], !target.contains("\0"),
                    GitTreePath.resolve(link: entry.path, target: target, links: links, budget: &budget) != nil
                else {
                    escaping.append(entry.path)
                    continue
                }
                let (directory, name) = split(entry.path)
                let parentFD = try parentDirectory(directory, in: root)
                defer { if parentFD != root { Descriptor.close(parentFD) } }
                guard symlinkat(target, parentFD.rawValue, name) == 0 else {
                    throw .last("symlinkat", path: entry.path)
                }
            }
        }
        if !escaping.isEmpty {
            notes.append(
                "left out of the export: \(escaping.count) symbolic link\(escaping.count == 1 ? "" : "s") leading "
                    + "out of the tree (" + escaping.prefix(5).joined(separator: ", ")
                    + (escaping.count > 5 ? ", …)" : ")"))
        }
    }

    private func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        return (String(path[..<slash]), String(path[path.index(after: slash)...]))
    }

    private func parentDirectory(_ directory: String, in root: FileDescriptor) throws(SystemError) -> FileDescriptor {
        directory.isEmpty
            ? root
            : try Descriptor.openBeneath(root, directory, flags: O_RDONLY | O_DIRECTORY, role: "open the directory")
    }

    private func makeDirectory(_ directory: String, in root: FileDescriptor) throws(SystemError) {
        let (parentPath, name) = split(directory)
        let parentFD = try parentDirectory(parentPath, in: root)
        defer { if parentFD != root { Descriptor.close(parentFD) } }
        guard mkdirat(parentFD.rawValue, name, 0o755) == 0 else { throw .last("mkdirat", path: directory) }
        guard fchmodat(parentFD.rawValue, name, 0o755, 0) == 0 else { throw .last("fchmodat", path: directory) }
    }

    /// Removes the export and its private directory, following no link; the lock
    /// goes last, so that no sweep takes a half-removed export for an abandoned one,
    /// and stays where the tree could not all be removed: a later sweep tries again.
    func remove() {
        Self.remove(parent)
        if lock >= 0 { close(lock) }
    }

    static func remove(_ parent: String) {
        guard let directory = try? Descriptor.openDirectoryRefusingLinks(parent, role: "open the export") else {
            return
        }
        defer { Descriptor.close(directory) }
        guard Descriptor.removeTree("tree", in: directory) else { return }
        unlinkat(directory.rawValue, "lock", 0)
        rmdir(parent)
    }

    /// Removes the exports that runs of this user left when they were killed: a
    /// private directory (0700, this user's) whose lock nobody holds.
    static func removeAbandoned() {
        AbandonedCopies.forEach(prefix: prefix, remove)
    }
}
