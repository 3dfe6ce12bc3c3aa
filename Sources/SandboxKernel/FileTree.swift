import Glibc
public import SystemPackage

/// One entry of a directory tree, as lstat(2) sees it.
public struct FileTreeEntry: Sendable {
    /// What the entry is; anything else (devices, FIFOs, sockets) is `.special`.
    public enum Kind: String, Sendable {
        case directory, file, symlink, special
    }

    /// The path below the tree's root, "/"-joined, without a leading "/".
    public var path: String
    public var kind: Kind
    /// The permission bits, setuid, setgid and sticky included.
    public var mode: UInt32
    public var size: Int64
    public var uid: UInt32
    public var gid: UInt32
    /// A symbolic link's target, as stored.
    public var linkTarget: String?
}

/// Walks and tidies directory trees this process owns (image roots), following
/// no link: every directory is opened beneath its parent with O_NOFOLLOW.
public enum FileTree {
    /// The deepest tree walked: deeper is refused, not cut.
    public static let maximumDepth = 256

    /// Calls `visit` for every entry under `root` (not `root` itself), each
    /// directory's entries sorted by name, a directory before what it holds. A
    /// regular file comes with a descriptor open for reading, closed afterwards.
    public static func walk(
        _ root: String, opening: Bool = true, visit: (FileTreeEntry, FileDescriptor?) throws -> Void
    ) throws {
        try walkDirectories(root) { parent, name, path, info in
            var entry = FileTreeEntry(
                path: path, kind: .special, mode: UInt32(info.st_mode & 0o7777), size: Int64(info.st_size),
                uid: info.st_uid, gid: info.st_gid)
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                entry.kind = .directory
                try visit(entry, nil)
            case S_IFREG:
                entry.kind = .file
                guard opening else { return try visit(entry, nil) }
                let file = openat(parent, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
                guard file >= 0 else { throw SystemError.last("open", path: root + "/" + path) }
                defer { Glibc.close(file) }
                try visit(entry, FileDescriptor(rawValue: file))
            case S_IFLNK:
                entry.kind = .symlink
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let count = readlinkat(parent, name, &buffer, buffer.count)
                guard count >= 0, count < buffer.count else {
                    throw SystemError.last("readlink", path: root + "/" + path)
                }
                let bytes = buffer[0..<count].map { UInt8(bitPattern: $0) }
                guard let target = String(validating: bytes, as: UTF8.self) else {
                    throw SystemError(
                        "readlink", errno: EILSEQ, path: root + "/" + path, hint: "a link target that is not UTF-8")
                }
                entry.linkTarget = target
                try visit(entry, nil)
            default:
                try visit(entry, nil)
            }
        }
    }

    /// The names of an open directory but `.` and `..`, sorted by their bytes;
    /// a name that is not UTF-8 is an error (it could not be named in a manifest).
    static func rawNames(_ stream: OpaquePointer, at path: String) throws(SystemError) -> [String] {
        var names: [String] = []
        while let entry = readdir(stream) {
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if bytes == [0x2E] || bytes == [0x2E, 0x2E] { continue }
            guard let name = String(validating: bytes, as: UTF8.self), !name.contains("\n") else {
                throw SystemError("readdir", errno: EILSEQ, path: path, hint: "a name that is not one line of UTF-8")
            }
            names.append(name)
        }
        return names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    /// Makes a tree fit to be an image root: device nodes, FIFOs and sockets are
    /// removed; setuid and setgid bits are cleared (no_new_privs ignores them in a
    /// sandbox, and the tree must carry none onto the host); everything is given to
    /// `owner` (as root), so that no sandbox's uid can change it. Returns how many
    /// entries were removed or changed.
    @discardableResult
    public static func tidy(_ root: String, owner: (uid: UInt32, gid: UInt32)?) throws -> Int {
        var changed = 0
        try walkDirectories(root) { parent, name, path, info in
            let type = info.st_mode & S_IFMT
            if type != S_IFDIR && type != S_IFREG && type != S_IFLNK {
                guard unlinkat(parent, name, 0) == 0 else { throw SystemError.last("unlink", path: root + "/" + path) }
                changed += 1
                return
            }
            if let owner, info.st_uid != owner.uid || info.st_gid != owner.gid {
                guard fchownat(parent, name, owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW) == 0 else {
                    throw SystemError.last("chown", path: root + "/" + path)
                }
                changed += 1
            }
            if type != S_IFLNK, info.st_mode & (S_ISUID | S_ISGID) != 0 {
                guard fchmodat(parent, name, info.st_mode & 0o1777, 0) == 0 else {
                    throw SystemError.last("chmod", path: root + "/" + path)
                }
                changed += 1
            }
        }
        return changed
    }

    /// Rewrites every symbolic link whose target starts with `prefix` (an absolute
    /// directory) to the same target without it: fakechroot writes absolute
    /// targets with the path of the tree it ran in. Returns how many changed.
    @discardableResult
    public static func rewriteLinks(_ root: String, strippingPrefix prefix: String) throws -> Int {
        var changed = 0
        try walkDirectories(root) { parent, name, path, info in
            guard info.st_mode & S_IFMT == S_IFLNK else { return }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let count = readlinkat(parent, name, &buffer, buffer.count)
            guard count >= 0, count < buffer.count else { throw SystemError.last("readlink", path: root + "/" + path) }
            let target = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard target == prefix || target.hasPrefix(prefix + "/") else { return }
            let rewritten = target == prefix ? "/" : String(target.dropFirst(prefix.count))
            guard unlinkat(parent, name, 0) == 0, symlinkat(rewritten, parent, name) == 0 else {
                throw SystemError.last("symlink", path: root + "/" + path)
            }
            changed += 1
        }
        return changed
    }

    /// Calls `body` with each entry's parent descriptor, name, path below the
    /// root and lstat, each directory's entries sorted, a directory before what it
    /// holds (what `body` does to an entry is seen when its descent begins).
    static func walkDirectories(
        _ root: String, body: (Int32, String, String, stat) throws -> Void
    ) throws {
        let fd = try Descriptor.openDirectoryRefusingLinks(root, role: "open the tree")
        defer { Descriptor.close(fd) }
        func descend(_ directory: Int32, prefix: String, depth: Int) throws {
            guard let stream = fdopendir(directory) else {
                Glibc.close(directory)
                throw SystemError.last("opendir", path: root + "/" + prefix)
            }
            defer { closedir(stream) }
            guard depth < maximumDepth else {
                throw SystemError(
                    "walk the tree", errno: ELOOP, path: root + "/" + prefix, hint: "deeper than \(maximumDepth)")
            }
            let parent = dirfd(stream)
            for name in try rawNames(stream, at: root + "/" + prefix) {
                var info = stat()
                guard fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
                    throw SystemError.last("lstat", path: root + "/" + prefix + name)
                }
                try body(parent, name, prefix + name, info)
                if info.st_mode & S_IFMT == S_IFDIR {
                    let inside = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    guard inside >= 0 else { throw SystemError.last("open", path: root + "/" + prefix + name) }
                    try descend(inside, prefix: prefix + name + "/", depth: depth + 1)
                }
            }
        }
        let top = openat(fd.rawValue, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard top >= 0 else { throw SystemError.last("open the tree", path: root) }
        try descend(top, prefix: "", depth: 0)
    }
}
