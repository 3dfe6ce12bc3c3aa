internal import FoundationEssentials
import Glibc
import SandboxKernel

/// What verifications of base trees found, kept so that the next branch judged
/// against the same base reuses it: one small file per base tree and
/// fingerprint (the trusted policies and images, and this executable), in a
/// directory of this user's own: `/var/lib/sandbox/verdicts` for root,
/// `$XDG_DATA_HOME/sandbox/verdicts` (else `~/.local/share/...`) otherwise.
/// An entry that cannot be read is no entry: the base is verified again.
struct VerdictStore {
    let directory: String

    struct Entry: Codable, Equatable {
        /// The base's tree id, as git names it.
        var tree: String
        var fingerprint: String
        /// The base's line coverage, nil where it was not measured.
        var lineCoverage: Double?
    }

    static let maximumEntryBytes = 1 << 16

    /// The store of this user; nil where it has no home to keep one in.
    static func standard() -> VerdictStore? {
        if geteuid() == 0 { return VerdictStore(directory: "/var/lib/sandbox/verdicts") }
        func variable(_ name: String) -> String? {
            guard let value = getenv(name), let text = String(validatingCString: value), text.hasPrefix("/") else {
                return nil
            }
            return text
        }
        if let data = variable("XDG_DATA_HOME") { return VerdictStore(directory: data + "/sandbox/verdicts") }
        if let home = variable("HOME") { return VerdictStore(directory: home + "/.local/share/sandbox/verdicts") }
        return nil
    }

    /// Names are ids and fingerprints of hex digits only.
    static func isName(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 64 && text.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    func path(tree: String, fingerprint: String) -> String? {
        guard Self.isName(tree), Self.isName(fingerprint) else { return nil }
        return directory + "/" + tree + "-" + fingerprint + ".json"
    }

    /// The entry kept for this tree and fingerprint, if one was.
    func entry(tree: String, fingerprint: String) -> Entry? {
        guard let path = path(tree: tree, fingerprint: fingerprint), Self.isOwnDirectory(directory),
            let bytes = try? Descriptor.readUntrustedFile(path, limit: Self.maximumEntryBytes),
            let entry = try? JSONDecoder().decode(Entry.self, from: Data(bytes)),
            entry.tree == tree, entry.fingerprint == fingerprint,
            entry.lineCoverage.map({ (0...100).contains($0) }) ?? true
        else { return nil }
        return entry
    }

    /// Keeps `entry`, written whole under another name and then renamed into place.
    func keep(_ entry: Entry) throws(SystemError) {
        guard let path = path(tree: entry.tree, fingerprint: entry.fingerprint) else {
            throw SystemError("keep", errno: nil, path: directory, hint: "not a tree id and fingerprint")
        }
        try Self.makeOwnDirectory(directory)
        let bytes: [UInt8]
        do {
            bytes = Array(try JSONEncoder().encode(entry))
        } catch {
            throw SystemError("encode", errno: nil, path: path, hint: "\(error)")
        }
        let partial = path + ".\(getpid()).new"
        let fd = try Descriptor.createRefusingLinks(partial, mode: .new, permissions: 0o600)
        do throws(SystemError) {
            try Descriptor.writeAll(fd, bytes)
        } catch {
            Descriptor.close(fd)
            unlink(partial)
            throw error
        }
        Descriptor.close(fd)
        guard rename(partial, path) == 0 else {
            let error = SystemError.last("rename", path: path)
            unlink(partial)
            throw error
        }
    }

    /// Whether `path` is a directory of this user's that no one else may write,
    /// reached through no link.
    static func isOwnDirectory(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR && info.st_uid == geteuid()
            && info.st_mode & 0o022 == 0
    }

    /// Makes `path` and its missing parents (0700); an existing one must be this
    /// user's own, unwritable by others, and no link.
    static func makeOwnDirectory(_ path: String) throws(SystemError) {
        var built = ""
        for component in path.split(separator: "/") {
            built += "/" + component
            if mkdir(built, 0o700) != 0, errno != EEXIST { throw .last("mkdir", path: built) }
        }
        guard isOwnDirectory(path) else {
            throw SystemError(
                "keep", errno: nil, path: path,
                hint: "not a directory of this user's own that only it may write; refusing to keep verdicts there")
        }
    }
}
