import CSandbox
import Glibc
public import SystemPackage

/// The descriptor operations the supervisor needs, each wrapping one call (named
/// in its doc comment) over swift-system's `FileDescriptor`: a descriptor's type
/// says what it is, and an absent one is nil, never -1.
public enum Descriptor {
    /// pipe2(O_CLOEXEC): (read end, write end).
    public static func pipe() throws(SystemError) -> (read: FileDescriptor, write: FileDescriptor) {
        var fds: [Int32] = [-1, -1]
        guard sbx_pipe(&fds) == 0 else { throw SystemError.last("pipe2") }
        return (FileDescriptor(rawValue: fds[0]), FileDescriptor(rawValue: fds[1]))
    }

    /// socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC).
    public static func socketPair() throws(SystemError) -> (FileDescriptor, FileDescriptor) {
        var fds: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw SystemError.last("socketpair")
        }
        return (FileDescriptor(rawValue: fds[0]), FileDescriptor(rawValue: fds[1]))
    }

    /// close(2), for cleanup: nothing is left to do about a failed close.
    public static func close(_ fd: FileDescriptor?) {
        if let fd { _ = Glibc.close(fd.rawValue) }
    }

    /// fcntl(F_SETFL, O_NONBLOCK).
    public static func setNonBlocking(_ fd: FileDescriptor) throws(SystemError) {
        let flags = fcntl(fd.rawValue, F_GETFL)
        guard flags >= 0, fcntl(fd.rawValue, F_SETFL, flags | O_NONBLOCK) == 0 else {
            throw SystemError.last("fcntl(O_NONBLOCK)")
        }
    }

    /// read(2) into `buffer`; returns the count, 0 at end of file, or -1 with errno set.
    public static func read(_ fd: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        retryingInterrupts { Glibc.read(fd.rawValue, buffer.baseAddress, buffer.count) }
    }

    /// write(2) of all of `bytes`, retrying short writes and interrupts.
    public static func writeAll(_ fd: FileDescriptor, _ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let written = retryingInterrupts {
                Glibc.write(fd.rawValue, bytes.baseAddress! + offset, bytes.count - offset)
            }
            guard written > 0 else { throw SystemError.last("write") }
            offset += written
        }
    }

    public static func writeAll(_ fd: FileDescriptor, _ text: String) throws(SystemError) {
        try writeAll(fd, Array(text.utf8))
    }

    public static func writeAll(_ fd: FileDescriptor, _ bytes: [UInt8]) throws(SystemError) {
        var failure: SystemError?
        bytes.withUnsafeBytes { buffer in
            do throws(SystemError) { try writeAll(fd, buffer) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// How `createRefusingLinks` treats a file already at the path.
    public enum WriteMode: Sendable {
        /// Truncated, when it is a plain file of its own.
        case replace
        /// Refused: the file must be new.
        case new
        /// Written at its end, when it is a plain file of its own.
        case append
    }

    /// Opens `path` for writing, creating it if need be, refusing a symbolic link
    /// anywhere in it (openat2 RESOLVE_NO_SYMLINKS): a path inside a tree untrusted
    /// code wrote cannot redirect the write elsewhere. Only a regular file with one
    /// link is written (never a FIFO, a device, or a hard link to something else).
    public static func createRefusingLinks(_ path: String, mode: WriteMode = .replace, permissions: UInt32 = 0o644)
        throws(SystemError) -> FileDescriptor
    {
        let flags =
            O_WRONLY | O_CREAT | O_NONBLOCK | O_NOCTTY | (mode == .new ? O_EXCL : 0) | (mode == .append ? O_APPEND : 0)
        let fd = sbx_open_no_symlinks(path, flags, permissions)
        guard fd >= 0 else {
            throw SystemError.last(
                "open", path: path,
                hint: errno == ELOOP ? "a symbolic link on the way, which sandbox does not follow" : nil)
        }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_nlink == 1 else {
            Glibc.close(fd)
            throw SystemError("open", errno: nil, path: path, hint: "not a plain file of its own; refusing to write it")
        }
        if mode == .replace, ftruncate(fd, 0) != 0 {
            let error = SystemError.last("ftruncate", path: path)
            Glibc.close(fd)
            throw error
        }
        // Writes block normally from here on.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return FileDescriptor(rawValue: fd)
    }

    /// Reads a regular file of at most `limit` bytes, refusing links anywhere in
    /// its path, FIFOs and devices: for files inside an untrusted tree. Returns nil
    /// when there is no such file.
    public static func readUntrustedFile(_ path: String, limit: Int) throws(SystemError) -> [UInt8]? {
        let fd = sbx_open_no_symlinks(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw SystemError.last(
                "open", path: path, hint: errno == ELOOP ? "a symbolic link, which is not followed" : nil)
        }
        defer { Glibc.close(fd) }
        return try readRegularFile(FileDescriptor(rawValue: fd), path: path, limit: limit)
    }

    /// A regular file opened for reading, refusing links anywhere in its path,
    /// FIFOs and devices: for large files of an untrusted tree, read in pieces.
    public static func openUntrustedFile(_ path: String) throws(SystemError) -> FileDescriptor {
        let fd = sbx_open_no_symlinks(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0)
        guard fd >= 0 else {
            throw SystemError.last(
                "open", path: path, hint: errno == ELOOP ? "a symbolic link, which is not followed" : nil)
        }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            Glibc.close(fd)
            throw SystemError("open", errno: nil, path: path, hint: "not a regular file")
        }
        return FileDescriptor(rawValue: fd)
    }

    /// Reads a whole regular file of at most `limit` bytes, links followed: for
    /// trusted files (policies, images). A longer file is an error, never cut.
    public static func readFile(_ path: String, limit: Int) throws(SystemError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { throw SystemError.last("open", path: path) }
        defer { Glibc.close(fd) }
        return try readRegularFile(FileDescriptor(rawValue: fd), path: path, limit: limit)
    }

    /// The contents of the regular file open at `fd`; one byte past `limit` is
    /// read, so that a file that grew since fstat is refused too.
    static func readRegularFile(_ fd: FileDescriptor, path: String, limit: Int) throws(SystemError) -> [UInt8] {
        var info = stat()
        guard fstat(fd.rawValue, &info) == 0 else { throw SystemError.last("fstat", path: path) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw SystemError("open", errno: nil, path: path, hint: "not a regular file")
        }
        let tooLarge = SystemError(
            "read", errno: EFBIG, path: path, hint: "larger than \(limit) bytes; refused, not cut")
        guard info.st_size <= limit else { throw tooLarge }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size) + 1)
        var total = 0
        while total < bytes.count {
            let count = bytes[total...].withUnsafeMutableBytes { read(fd, into: $0) }
            if count <= 0 { break }
            total += count
        }
        guard total <= limit else { throw tooLarge }
        return Array(bytes[0..<total])
    }

    /// `path` opened relative to the directory `directory`, never leaving it and
    /// refusing every symbolic link on the way (openat2 RESOLVE_BENEATH and
    /// RESOLVE_NO_SYMLINKS): for writing a tree whose names are untrusted.
    public static func openBeneath(
        _ directory: FileDescriptor, _ path: String, flags: Int32, permissions: UInt32 = 0, role: String
    ) throws(SystemError) -> FileDescriptor {
        let fd = sbx_open_beneath(directory.rawValue, path, flags, permissions)
        guard fd >= 0 else { throw SystemError.last(role, path: path) }
        return FileDescriptor(rawValue: fd)
    }

    /// An O_PATH descriptor of the directory `path`, refusing a symbolic link
    /// anywhere on the way (openat2 RESOLVE_NO_SYMLINKS); `role` names it in errors.
    public static func openDirectoryRefusingLinks(_ path: String, role: String) throws(SystemError) -> FileDescriptor {
        let fd = sbx_open_path_no_symlinks(path, 1)
        guard fd >= 0 else {
            let hint = errno == ELOOP ? "the path goes through a symbolic link; give the real path" : nil
            throw SystemError.last(role, path: path, hint: hint)
        }
        return FileDescriptor(rawValue: fd)
    }

    /// The names in the directory at `path`, opened without following any link
    /// (nil when there is none, or a link stands on the way).
    public static func untrustedDirectoryEntries(_ path: String) -> [String]? {
        let fd = sbx_open_no_symlinks(path, O_RDONLY | O_DIRECTORY | O_NONBLOCK, 0)
        guard fd >= 0 else { return nil }
        guard let directory = fdopendir(fd) else {
            Glibc.close(fd)
            return nil
        }
        defer { closedir(directory) }
        return entryNames(directory)
    }

    /// Removes the entry `name` of the directory `parent`, and if it is a directory
    /// everything in it, following no link: each directory is opened beneath its
    /// parent with O_NOFOLLOW. For trees this process wrote itself. Returns whether
    /// all of it went.
    @discardableResult
    public static func removeTree(_ name: String, in parent: FileDescriptor, depth: Int = 0) -> Bool {
        if unlinkat(parent.rawValue, name, 0) == 0 || errno == ENOENT { return true }
        guard errno == EISDIR, depth < 1024 else { return false }
        let fd = openat(parent.rawValue, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0, let directory = fdopendir(fd) else {
            if fd >= 0 { Glibc.close(fd) }
            return false
        }
        let inside = FileDescriptor(rawValue: dirfd(directory))
        let removed = entryNames(directory).allSatisfy { removeTree($0, in: inside, depth: depth + 1) }
        closedir(directory)
        return removed && unlinkat(parent.rawValue, name, AT_REMOVEDIR) == 0
    }

    /// The names an open directory holds, but `.` and `..`, sorted.
    static func entryNames(_ directory: OpaquePointer) -> [String] {
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Whether `path` exists, looked up without following any link.
    public static func existsRefusingLinks(_ path: String) -> Bool {
        let fd = sbx_open_path_no_symlinks(path, 0)
        if fd >= 0 { Glibc.close(fd) }
        return fd >= 0
    }

    /// Whether `path` exists inside `root`, links resolved within `root` only.
    public static func existsInside(_ root: String, _ path: String) -> Bool {
        sbx_exists_in_root(root, path) == 1
    }

    /// A new temporary directory (mkdtemp) under `parent`.
    public static func makeTemporaryDirectory(in parent: String = "/tmp", prefix: String) throws -> String {
        var template = Array((parent + "/" + prefix + "-XXXXXX").utf8CString)
        guard let result = mkdtemp(&template) else { throw SystemError.last("mkdtemp", path: parent) }
        return String(cString: result)
    }

    /// An anonymous file (created and unlinked at once) to capture output in,
    /// close-on-exec from the start: sandboxes started on other threads must not
    /// inherit it.
    public static func anonymousFile() throws(SystemError) -> FileDescriptor {
        var template = Array("/tmp/sandbox-capture-XXXXXX".utf8CString)
        let fd = sbx_make_temporary_file(&template)
        guard fd >= 0 else { throw SystemError.last("mkostemp", path: "/tmp") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        return FileDescriptor(rawValue: fd)
    }

    /// Everything written to `fd`, from the start (lseek(2), read(2)), up to `limit` bytes.
    public static func contents(of fd: FileDescriptor, limit: Int) -> [UInt8] {
        lseek(fd.rawValue, 0, SEEK_SET)
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while bytes.count < limit {
            let count = chunk.withUnsafeMutableBytes { read(fd, into: $0) }
            if count <= 0 { break }
            bytes += chunk[0..<min(count, limit - bytes.count)]
        }
        return bytes
    }

    /// Reads a kernel file (cgroup and proc files, a few lines each), at most 1 MiB;
    /// nil when it cannot be opened. Not for files a user or policy writes: those
    /// go through `readFile`, which refuses what it would have to cut.
    public static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 1 << 20 {
            let count = chunk.withUnsafeMutableBytes { read(FileDescriptor(rawValue: fd), into: $0) }
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes `text` to an existing file (a cgroup or proc knob).
    public static func writeFile(_ path: String, _ text: String) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError.last("open", path: path) }
        defer { Glibc.close(fd) }
        do {
            try writeAll(FileDescriptor(rawValue: fd), text)
        } catch {
            throw SystemError("write \(text.trimmingCharacters(in: "\n"))", errno: error.errno, path: path)
        }
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var view = Substring(self)
        while view.last == set { view = view.dropLast() }
        return String(view)
    }
}
