import Glibc
public import SandboxModel
import SystemPackage

/// Compiled filters kept between runs: libseccomp's output depends only on the
/// rules, its own version and the architecture, and compiling ~330 rules costs
/// milliseconds on every start. The cache lives in a directory only this user can
/// write (mode 0700, owned by them), which no sandbox ever sees; a file that is
/// not exactly what this user wrote (owner, mode, size) is ignored.
public struct FilterCache: Sendable {
    public var directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// /var/cache/sandbox for root; $XDG_CACHE_HOME or ~/.cache, /sandbox, otherwise.
    public static var standard: FilterCache? {
        if geteuid() == 0 { return FilterCache(directory: "/var/cache/sandbox") }
        if let xdg = environment("XDG_CACHE_HOME"), xdg.hasPrefix("/") {
            return FilterCache(directory: xdg + "/sandbox")
        }
        if let home = environment("HOME"), home.hasPrefix("/") {
            return FilterCache(directory: home + "/.cache/sandbox")
        }
        return nil
    }

    static func environment(_ name: String) -> String? {
        getenv(name).flatMap { String(validatingCString: $0) }
    }

    /// The key: FNV-1a over libseccomp's version and every rule.
    public static func key(for profile: SeccompProfile) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ text: String) {
            for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            hash = (hash ^ 0xFF) &* 0x100_0000_01b3
        }
        mix(SeccompCompiler.libraryVersion)
        mix("x86_64-notify-v1")
        for rule in profile.rules {
            mix(rule.syscall)
            switch rule.action {
            case .allow: mix("allow")
            case .fail(let errno): mix("fail " + String(errno))
            }
            for check in rule.checks {
                mix(String(check.argument) + ":" + String(check.mask) + ":" + String(check.value))
            }
        }
        return String(hash, radix: 16)
    }

    /// The cached program, or nil when there is none this user can trust.
    public func load(_ key: String) -> [UInt8]? {
        guard Self.ownedPrivately(directory, directory: true) else { return nil }
        let path = directory + "/" + key + ".bpf"
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_uid == geteuid(),
            info.st_mode & 0o077 == 0, info.st_size > 0, info.st_size % 8 == 0, info.st_size <= 4096 * 8
        else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        let count = bytes.withUnsafeMutableBytes { Descriptor.read(FileDescriptor(rawValue: fd), into: $0) }
        // A program ends in a return (BPF_RET, class 0x06); a damaged file does not.
        guard count == bytes.count, bytes[bytes.count - 8] & 0x07 == 0x06 else { return nil }
        return bytes
    }

    /// Whether a sandbox given `workspace` (resolved) could write this cache: then
    /// the step could plant a filter for later runs, and `sandbox` refuses to start.
    public func isWritable(fromWorkspace workspace: String) -> Bool {
        // The cache may not exist yet: resolve its longest existing prefix.
        var existing = directory
        var rest = ""
        while !existing.isEmpty, access(existing, F_OK) != 0 {
            let cut = existing.lastIndex(of: "/") ?? existing.startIndex
            rest = String(existing[cut...]) + rest
            existing = String(existing[..<cut])
        }
        let resolved = (try? HostProbe.resolve(existing.isEmpty ? "/" : existing, role: "cache")) ?? existing
        let cache = (resolved == "/" ? "" : resolved) + rest
        return cache == workspace || cache.hasPrefix(workspace == "/" ? "/" : workspace + "/")
    }

    /// Stores a program (atomically: a private temporary file, then rename).
    public func store(_ program: [UInt8], key: String) {
        // The parent (~/.cache) may not exist yet either.
        let parent = String(directory[..<(directory.lastIndex(of: "/") ?? directory.startIndex)])
        if !parent.isEmpty { mkdir(parent, 0o700) }
        if mkdir(directory, 0o700) != 0 && errno != EEXIST { return }
        guard Self.ownedPrivately(directory, directory: true) else { return }
        let temporary = directory + "/.\(key).\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let written = (try? Descriptor.writeAll(FileDescriptor(rawValue: fd), program)) != nil && fsync(fd) == 0
        close(fd)
        if !written || rename(temporary, directory + "/" + key + ".bpf") != 0 { unlink(temporary) }
    }

    static func ownedPrivately(_ path: String, directory: Bool) -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0 else { return false }
        return info.st_mode & S_IFMT == (directory ? S_IFDIR : S_IFREG) && info.st_uid == geteuid()
            && info.st_mode & 0o077 == 0
    }
}
