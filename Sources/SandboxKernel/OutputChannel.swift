import Glibc
public import SystemPackage

/// Where the supervisor relays a command's output: written without ever
/// blocking the supervisor, so a reader that stops reading cannot stop it from
/// enforcing the step's deadline.
public final class OutputChannel {
    /// The descriptor written to, and whether this channel opened (and closes) it.
    public let fd: FileDescriptor
    private let owned: Bool
    private let isSocket: Bool
    /// Bytes accepted for relaying but not yet written.
    public var pending: [UInt8] = []
    /// Set once a write failed: the rest is read and counted, not relayed.
    public private(set) var broken = false

    /// A pipe or terminal gets a private, non-blocking open file description (via
    /// /proc/self/fd), so the caller's own descriptor keeps its flags. A regular
    /// file is written directly: it never stalls, and reopening it would lose its
    /// offset. A socket is sent to with MSG_DONTWAIT.
    public init(_ fd: FileDescriptor) {
        var info = stat()
        let type = fstat(fd.rawValue, &info) == 0 ? info.st_mode & S_IFMT : 0
        if type == S_IFIFO || type == S_IFCHR {
            let reopened = open("/proc/self/fd/\(fd.rawValue)", O_WRONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
            if reopened >= 0 {
                self.fd = FileDescriptor(rawValue: reopened)
                self.owned = true
                self.isSocket = false
                return
            }
        }
        self.fd = fd
        self.owned = false
        self.isSocket = type == S_IFSOCK
    }

    deinit {
        if owned { Descriptor.close(fd) }
    }

    /// Queues `bytes` and writes what it can at once.
    public func send(_ bytes: UnsafeRawBufferPointer) {
        guard !broken, bytes.count > 0 else { return }
        pending.append(contentsOf: bytes)
        flush()
    }

    /// Writes what it can of the queue without blocking.
    public func flush() {
        guard !pending.isEmpty else { return }
        let written = pending.withUnsafeBytes { write($0) }
        guard let written else {
            broken = true
            pending = []
            return
        }
        pending.removeFirst(written)
    }

    /// Writes what it can of `bytes` now: the count written (0 when the reader is
    /// full), or nil when the channel is broken.
    public func write(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count > 0 else { return 0 }
        let written = retryingInterrupts {
            isSocket
                ? Glibc.send(fd.rawValue, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
                : Glibc.write(fd.rawValue, bytes.baseAddress, bytes.count)
        }
        if written >= 0 { return written }
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : nil
    }
}
