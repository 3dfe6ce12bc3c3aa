internal import FoundationEssentials
import Glibc
public import SandboxKernel

/// The directories `sandbox` keeps what it made in: `/var/lib/sandbox/NAME` for
/// root, `$XDG_DATA_HOME/sandbox/NAME` (else `~/.local/share/sandbox/NAME`)
/// otherwise. Each is the user's own, closed to others, and reached through no link.
public enum StoreDirectory {
    /// This user's directory `name`; nil where it has no home to keep one in.
    public static func standard(_ name: String) -> String? {
        if geteuid() == 0 { return "/var/lib/sandbox/" + name }
        func variable(_ name: String) -> String? {
            guard let value = getenv(name), let text = String(validatingCString: value), text.hasPrefix("/") else {
                return nil
            }
            return text
        }
        if let data = variable("XDG_DATA_HOME") { return data + "/sandbox/" + name }
        if let home = variable("HOME") { return home + "/.local/share/sandbox/" + name }
        return nil
    }

    /// Whether `path` is a directory of this user's that no one else may write,
    /// reached through no link.
    public static func isOwn(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR && info.st_uid == geteuid()
            && info.st_mode & 0o022 == 0
    }

    /// Makes `path` and its missing parents (0700); an existing one must be this
    /// user's own, unwritable by others, and no link. `purpose` says what for.
    public static func make(_ path: String, purpose: String) throws(SystemError) {
        var built = ""
        for component in path.split(separator: "/") {
            built += "/" + component
            if mkdir(built, 0o700) != 0, errno != EEXIST { throw .last("mkdir", path: built) }
        }
        guard isOwn(path) else {
            throw SystemError(
                purpose, errno: nil, path: path,
                hint: "not a directory of this user's own that only it may write; refusing to keep anything there")
        }
    }

    /// Writes `bytes` whole under another name beside `path`, then renames it into place.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws(SystemError) {
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

    /// `value` as JSON, written atomically.
    public static func writeJSON(_ value: some Encodable, to path: String) throws(SystemError) {
        let bytes: [UInt8]
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            bytes = Array(try encoder.encode(value))
        } catch {
            throw SystemError("encode", errno: nil, path: path, hint: "\(error)")
        }
        try writeAtomically(bytes, to: path)
    }

    /// The JSON at `path` (read refusing links, at most `limit` bytes), or nil.
    public static func readJSON<Value: Decodable>(_ type: Value.Type, from path: String, limit: Int) -> Value? {
        guard let bytes = try? Descriptor.readUntrustedFile(path, limit: limit) else { return nil }
        return try? JSONDecoder().decode(type, from: Data(bytes))
    }
}
