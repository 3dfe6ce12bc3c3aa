import CSandbox
import Glibc
public import SandboxModel

/// Reads the host facts the sandbox's root is built from.
public enum HostProbe {
    /// realpath(3): the path with every link resolved, or a SystemError naming it.
    public static func resolve(_ path: String, role: String) throws -> String {
        guard let resolved = realpath(path, nil) else {
            throw SystemError.last(role, path: path)
        }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Whether anything exists at `path` (following links): host toolchains.
    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Whether `path` is a directory (following links).
    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// A regular file, links followed as the launcher follows them in a bind's
    /// source (a host path from the caller or a trusted policy). Should the file be
    /// swapped for a directory before the mount, the mount fails: it never widens.
    public static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    /// Whether `path` is a regular file itself, not a link to one.
    public static func isPlainFile(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    /// readlink(2), or nil when `path` is not a symbolic link.
    static func symlinkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func existing(_ path: String) -> String? {
        try? resolve(path, role: "stat")
    }

    /// The names in a directory (not "." or ".."), sorted; nil when it cannot be read.
    public static func directoryEntries(_ path: String) -> [String]? {
        guard let directory = opendir(path) else { return nil }
        defer { closedir(directory) }
        return Descriptor.entryNames(directory)
    }

    /// Moves this process into a mount namespace of its own with private mounts
    /// (unshare(CLONE_NEWNS), then MS_PRIVATE on /), so that what it mounts dies
    /// with it. Only while single-threaded: the kernel refuses it otherwise.
    public static func privateMountNamespace() throws(SystemError) {
        var failedMount: Int32 = 0
        let result = sbx_private_mount_namespace(&failedMount)
        guard result == 0 else {
            throw SystemError(failedMount != 0 ? "mount / MS_PRIVATE" : "unshare(CLONE_NEWNS)", errno: -result)
        }
    }

    /// Whether this process already runs under a seccomp filter (`Seccomp: 2` in
    /// /proc/self/status): inside a container or a sandbox, where creating
    /// namespaces may be refused, and where `sandbox`'s own filter refuses it and
    /// counts every attempt.
    public static var runsUnderSeccompFilter: Bool {
        guard let status = Descriptor.readSmallFile("/proc/self/status") else { return false }
        return status.split(separator: "\n").contains { $0.hasPrefix("Seccomp:") && $0.hasSuffix("2") }
    }

    /// This executable's path (/proc/self/exe).
    public static var executablePath: String? { symlinkTarget("/proc/self/exe") }

    /// The merged-usr links and the shared /etc entries of this host.
    public static func layout() -> HostLayout {
        var topLevel: [(name: String, symlinkTarget: String?)] = []
        for name in HostLayout.mergedUsrNames {
            let path = "/" + name
            if let target = symlinkTarget(path) {
                topLevel.append((name, target))
            } else if isDirectory(path) {
                topLevel.append((name, nil))
            }
        }
        return HostLayout(
            topLevel: topLevel,
            linkerCache: existing("/etc/ld.so.cache"),
            certificates: existing("/etc/ssl/certs"),
            alternatives: existing("/etc/alternatives"),
            resolver: existing("/etc/resolv.conf"))
    }

    /// The same facts of an image's root filesystem at `root` (a resolved store
    /// path). Nothing in the image is followed: an entry is taken only where it and
    /// every directory above it inside the image are what they claim to be (lstat),
    /// so that a link in an image (`usr -> /`, `etc/ld.so.cache -> /etc/shadow`)
    /// can never bring a host path into the sandbox. The resolver stays the host's.
    public static func layout(ofImage root: String) throws(SystemError) -> HostLayout {
        guard kind(root + "/usr") == S_IFDIR else {
            throw SystemError(
                "image root", errno: ENOTDIR, path: root + "/usr", hint: "an image's /usr must be a directory")
        }
        var topLevel: [(name: String, symlinkTarget: String?)] = []
        for name in HostLayout.mergedUsrNames {
            let path = root + "/" + name
            switch kind(path) {
            case S_IFLNK: if let target = symlinkTarget(path) { topLevel.append((name, target)) }
            case S_IFDIR: topLevel.append((name, nil))
            default: break
            }
        }
        let hasEtc = kind(root + "/etc") == S_IFDIR
        let hasSSL = hasEtc && kind(root + "/etc/ssl") == S_IFDIR
        func entry(_ path: String, _ type: mode_t, inside: Bool) -> String? {
            inside && kind(root + path) == type ? root + path : nil
        }
        return HostLayout(
            topLevel: topLevel,
            linkerCache: entry("/etc/ld.so.cache", S_IFREG, inside: hasEtc),
            certificates: entry("/etc/ssl/certs", S_IFDIR, inside: hasSSL),
            alternatives: entry("/etc/alternatives", S_IFDIR, inside: hasEtc),
            resolver: existing("/etc/resolv.conf"), root: root)
    }

    /// The file type of `path` itself (lstat), or 0 when it does not exist.
    static func kind(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : 0
    }
}
