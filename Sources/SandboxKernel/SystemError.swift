import Glibc
public import SystemPackage

/// A system call or kernel interface that failed, with its errno and the path
/// or object it concerned. Reads as "pivot_root: Operation not permitted".
public struct SystemError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The operation: "pivot_root", "write memory.limit_in_bytes".
    public var operation: String
    /// The errno, or nil for a failure that is not one (a short read, a bad value).
    public var errno: Int32?
    /// The path concerned, when there is one.
    public var path: String?
    /// What to do about it, when the kernel's words are not enough.
    public var hint: String?

    public init(_ operation: String, errno: Int32?, path: String? = nil, hint: String? = nil) {
        self.operation = operation
        self.errno = errno
        self.path = path
        self.hint = hint
    }

    /// The errno as swift-system's `Errno` ("Operation not permitted"), when there is one.
    public var code: Errno? { errno.map(Errno.init(rawValue:)) }

    /// Captures the current `errno`.
    public static func last(_ operation: String, path: String? = nil, hint: String? = nil) -> SystemError {
        SystemError(operation, errno: Glibc.errno, path: path, hint: hint)
    }

    public var description: String {
        var text = operation
        if let path { text += " \(path)" }
        if let errno { text += ": " + String(cString: strerror(errno)) }
        if let hint { text += " (\(hint))" }
        return text
    }
}

/// Retries a system call interrupted by a signal (EINTR): the one such loop.
@inline(__always)
public func retryingInterrupts<T: BinaryInteger>(_ body: () -> T) -> T {
    while true {
        let result = body()
        if result >= 0 || Glibc.errno != EINTR { return result }
    }
}
