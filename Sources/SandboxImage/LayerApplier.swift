import Glibc
import SandboxKernel
import SandboxReports
import SystemPackage

/// Applies the entries of image layers to a root, in order, never leaving it:
/// every parent directory is opened beneath the root refusing links (openat2
/// RESOLVE_BENEATH and RESOLVE_NO_SYMLINKS), and each entry is made in it by name.
/// O_PATH, which Glibc's module does not export.
let openPathOnly: Int32 = 0o10000000

struct LayerApplier {
    let rootPath: String
    let root: FileDescriptor
    let maximumEntries: Int
    let maximumBytes: Int64
    var entries = 0
    var bytes: Int64 = 0
    /// Setuid and setgid bits removed.
    var strippedBits = 0
    /// The paths the layer being applied made: whiteouts and opaque directories
    /// remove only what lower layers made, and a hard link points into this set.
    var madeThisLayer: Set<String> = []

    init(root: String, maximumEntries: Int, maximumBytes: Int64) throws {
        rootPath = root
        self.root = try Descriptor.openDirectoryRefusingLinks(root, role: "image root")
        self.maximumEntries = maximumEntries
        self.maximumBytes = maximumBytes
    }

    /// Why an import stops: the layer and the entry.
    struct Refusal: Error, CustomStringConvertible {
        var layer: Int
        var path: String
        var reason: String
        var description: String { "layer \(layer), '\(path)': \(reason)" }
    }

    mutating func apply(_ reader: inout TarReader, layer: Int) throws {
        madeThisLayer = []
        while let entry = try reader.next() {
            entries += 1
            guard entries <= maximumEntries else {
                throw Refusal(layer: layer, path: entry.path, reason: "more than \(maximumEntries) entries")
            }
            try apply(entry, reader: &reader, layer: layer)
        }
    }

    /// The path's components below the root; `..` anywhere refuses it.
    static func components(_ path: String) -> [String]? {
        var parts: [String] = []
        for part in path.split(separator: "/") where part != "." {
            if part == ".." { return nil }
            parts.append(String(part))
        }
        return parts
    }

    mutating func apply(_ entry: TarEntry, reader: inout TarReader, layer: Int) throws {
        func refuse(_ reason: String) -> Refusal { Refusal(layer: layer, path: entry.path, reason: reason) }
        guard let parts = Self.components(entry.path), !entry.path.contains("\0") else {
            throw refuse("the path leaves the image's root")
        }
        guard let name = parts.last else { return }  // the root itself
        let parentPath = parts.dropLast().joined(separator: "/")
        let path = parts.joined(separator: "/")
        if name.hasPrefix(".wh.") {
            let parent = try directory(parentPath, layer: layer, path: entry.path)
            defer { Descriptor.close(parent) }
            if name == ".wh..wh..opq" {
                for child in Self.names(in: parent) where !madeThisLayer.contains(Self.join(parentPath, child)) {
                    Descriptor.removeTree(child, in: parent)
                }
                return
            }
            let removed = String(name.dropFirst(4))
            guard !removed.isEmpty, removed != ".", removed != "..", !removed.hasPrefix(".wh.") else {
                throw refuse("a whiteout that would remove its own directory")
            }
            Descriptor.removeTree(removed, in: parent)
            return
        }
        if entry.kind == .special { throw refuse("a device node or FIFO, which no image may hold") }
        var mode = entry.mode
        if mode & 0o6000 != 0 {
            mode &= 0o1777
            strippedBits += 1
        }
        let parent = try directory(parentPath, layer: layer, path: entry.path)
        defer { Descriptor.close(parent) }
        var info = stat()
        let exists = fstatat(parent.rawValue, name, &info, AT_SYMLINK_NOFOLLOW) == 0
        if exists && !(entry.kind == .directory && info.st_mode & S_IFMT == S_IFDIR) {
            guard Descriptor.removeTree(name, in: parent) else { throw SystemError.last("remove", path: path) }
        }
        switch entry.kind {
        case .directory:
            if exists && info.st_mode & S_IFMT == S_IFDIR {
                guard fchmodat(parent.rawValue, name, mode, 0) == 0 else { throw SystemError.last("chmod", path: path) }
            } else {
                guard mkdirat(parent.rawValue, name, 0o700) == 0, fchmodat(parent.rawValue, name, mode, 0) == 0 else {
                    throw SystemError.last("mkdir", path: path)
                }
            }
        case .file:
            bytes += Int64(entry.size)
            guard bytes <= maximumBytes else { throw refuse("the image unpacks to more than \(maximumBytes) bytes") }
            let fd = openat(parent.rawValue, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw SystemError.last("create", path: path) }
            let file = FileDescriptor(rawValue: fd)
            defer { Descriptor.close(file) }
            while true {
                let chunk = try reader.content()
                if chunk.isEmpty { break }
                try Descriptor.writeAll(file, chunk)
            }
            guard fchmod(fd, mode) == 0 else { throw SystemError.last("chmod", path: path) }
        case .symlink:
            guard !entry.linkTarget.isEmpty, !entry.linkTarget.contains("\0") else {
                throw refuse("an empty link target")
            }
            guard symlinkat(entry.linkTarget, parent.rawValue, name) == 0 else {
                throw SystemError.last("symlink", path: path)
            }
        case .hardLink:
            guard let target = Self.components(entry.linkTarget), let targetName = target.last,
                madeThisLayer.contains(target.joined(separator: "/"))
            else { throw refuse("a hard link to '\(entry.linkTarget)', which this layer did not make") }
            let targetParent = try directory(target.dropLast().joined(separator: "/"), layer: layer, path: entry.path)
            defer { Descriptor.close(targetParent) }
            var targetInfo = stat()
            guard fstatat(targetParent.rawValue, targetName, &targetInfo, AT_SYMLINK_NOFOLLOW) == 0,
                targetInfo.st_mode & S_IFMT == S_IFREG
            else { throw refuse("a hard link to '\(entry.linkTarget)', which is not a file") }
            guard linkat(targetParent.rawValue, targetName, parent.rawValue, name, 0) == 0 else {
                throw SystemError.last("link", path: path)
            }
        case .special:
            break
        }
        madeThisLayer.insert(path)
    }

    /// The directory at `path` below the root, made (0755) where missing, opened
    /// beneath the root refusing every link.
    func directory(_ path: String, layer: Int, path entryPath: String) throws -> FileDescriptor {
        var current = try Descriptor.openBeneath(root, ".", flags: openPathOnly | O_DIRECTORY, role: "open")
        for part in path.split(separator: "/").map(String.init) {
            if mkdirat(current.rawValue, part, 0o755) != 0, errno != EEXIST {
                Descriptor.close(current)
                throw SystemError.last("mkdir", path: path)
            }
            let next: FileDescriptor
            do {
                next = try Descriptor.openBeneath(current, part, flags: openPathOnly | O_DIRECTORY, role: "open")
            } catch {
                Descriptor.close(current)
                throw Refusal(
                    layer: layer, path: entryPath, reason: "its directory '\(path)' is a link or no directory")
            }
            Descriptor.close(current)
            current = next
        }
        return current
    }

    /// The names in an open directory.
    static func names(in directory: FileDescriptor) -> [String] {
        let fd = openat(directory.rawValue, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0, let stream = fdopendir(fd) else { return [] }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func join(_ parent: String, _ name: String) -> String {
        parent.isEmpty ? name : parent + "/" + name
    }
}
