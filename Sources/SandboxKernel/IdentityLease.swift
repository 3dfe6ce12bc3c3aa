import Glibc
import SandboxModel

/// A host uid and gid of one root-started sandbox's own, held for as long as the
/// lease lives (an flock on a file of the lease directory, which the kernel drops
/// when the holder dies). The kernel keeps per-user budgets (pipe buffers, queued
/// signals, message-queue bytes, inotify instances): sandboxes that run at the same
/// time never share a host uid, so none can drain another's.
public final class IdentityLease: Sendable {
    /// The uid, which is also the gid.
    public let uid: UInt32
    let descriptor: Int32

    /// The range leased: uids nobody else on a host uses.
    public static let range: ClosedRange<UInt32> =
        RunConfiguration.rootHostIdentity...(RunConfiguration.rootHostIdentity + 65_535)
    /// One lock file per uid leased, root's only.
    public static let directory = "/run/sandbox/identities"

    init(uid: UInt32, descriptor: Int32) {
        self.uid = uid
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// The lowest uid no other sandbox holds; `preferring` a uid of the range (the
    /// owner of a workspace given), that one, `waiting` until its holder ends or
    /// else refused while it is held.
    public static func acquire(preferring preferred: UInt32? = nil, waiting: Bool = true) throws(SystemError)
        -> IdentityLease
    {
        let directory = try openDirectory()
        defer { close(directory) }
        if let preferred, range.contains(preferred) {
            let fd = try open(preferred, in: directory)
            guard retryingInterrupts({ flock(fd, waiting ? LOCK_EX : LOCK_EX | LOCK_NB) }) == 0 else {
                let failure = SystemError.last(
                    "lease host uid \(preferred)", path: "\(Self.directory)/\(preferred)",
                    hint: errno == EWOULDBLOCK ? "another running sandbox holds it" : nil)
                close(fd)
                throw failure
            }
            return IdentityLease(uid: preferred, descriptor: fd)
        }
        for uid in range {
            let fd = try open(uid, in: directory)
            if flock(fd, LOCK_EX | LOCK_NB) == 0 {
                return IdentityLease(uid: uid, descriptor: fd)
            }
            let failure = errno
            close(fd)
            guard failure == EWOULDBLOCK else {
                throw SystemError("flock", errno: failure, path: "\(Self.directory)/\(uid)")
            }
        }
        throw SystemError(
            "lease a host uid", errno: EAGAIN, path: Self.directory,
            hint: "every uid of \(range.lowerBound)-\(range.upperBound) is held by a running sandbox")
    }

    /// The lease directory, made root's and closed to others if it is not yet, and
    /// refused if anyone else could write it or a link stands on the way.
    static func openDirectory() throws(SystemError) -> Int32 {
        var path = ""
        for component in directory.split(separator: "/") {
            path += "/" + component
            if mkdir(path, 0o700) != 0 && errno != EEXIST {
                throw SystemError.last("mkdir", path: path)
            }
        }
        let fd = try Descriptor.openDirectoryRefusingLinks(directory, role: "open the lease directory").rawValue
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let failure = SystemError.last("fstat", path: directory)
            close(fd)
            throw failure
        }
        guard info.st_uid == 0, info.st_mode & (S_IWGRP | S_IWOTH) == 0 else {
            close(fd)
            throw SystemError(
                "lease a host uid", errno: EPERM, path: directory,
                hint: "owned by uid \(info.st_uid), mode \(String(info.st_mode & 0o7777, radix: 8)): "
                    + "it must be root's and writable by root only")
        }
        return fd
    }

    static func open(_ uid: UInt32, in directory: Int32) throws(SystemError) -> Int32 {
        let fd = openat(directory, "\(uid)", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SystemError.last("open", path: "\(Self.directory)/\(uid)") }
        return fd
    }
}
