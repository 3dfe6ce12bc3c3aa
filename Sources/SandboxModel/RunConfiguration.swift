/// Whether the step has a network.
public enum NetworkMode: String, Sendable, CaseIterable {
    /// A new network namespace holding only loopback, up.
    case none
    /// The host's network namespace.
    case host
}

/// An extra read-only mount: `SRC[:DEST]`.
public struct BindMount: Equatable, Sendable {
    public var source: String
    public var destination: String

    public init(source: String, destination: String) {
        self.source = source
        self.destination = destination
    }

    /// Places inside the sandbox that the sandbox itself lays out; a mount on or
    /// under them would hide or subvert that layout.
    public static let reservedDestinations = [
        "/usr", "/etc", "/proc", "/dev", "/tmp", "/workspace", "/bin", "/sbin", "/lib", "/lib64",
        "/lib32", "/libx32",
    ]

    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let source = String(parts[0])
        let destination = parts.count == 2 ? String(parts[1]) : source
        try self.init(checkingSource: source, destination: destination, option: "--ro-bind")
    }

    init(checkingSource source: String, destination: String, option: String) throws {
        for (role, path) in [("source", source), ("destination", destination)] {
            guard path.hasPrefix("/") else {
                throw ModelError(option, "the \(role) '\(path)' must be an absolute path")
            }
            guard !path.contains(Character("\0")) else { throw ModelError(option, "the \(role) holds a NUL byte") }
            let components = path.split(separator: "/")
            guard !components.contains(".."), !components.contains(".") else {
                throw ModelError(option, "the \(role) '\(path)' must not contain '.' or '..'")
            }
        }
        let normalized = "/" + destination.split(separator: "/").joined(separator: "/")
        guard normalized != "/" else { throw ModelError(option, "cannot mount over /") }
        for reserved in Self.reservedDestinations
        where normalized == reserved || normalized.hasPrefix(reserved + "/") {
            throw ModelError(
                option, "'\(normalized)' is laid out by the sandbox itself; choose a destination outside \(reserved)")
        }
        self.source = source
        self.destination = normalized
    }
}

/// Everything `sandbox run` needs to run one command.
public struct RunConfiguration: Sendable {
    /// The command and its arguments; never passed through a shell.
    public var command: [String]
    /// A host directory mounted read-write at /workspace; nil for a fresh empty one.
    public var workspace: String?
    public var binds: [BindMount] = []
    public var network: NetworkMode = .none
    public var limits = ResourceLimits()
    /// The command's environment, in order. Defaults first, `--env` overrides.
    public var environment: [(name: String, value: String)] = RunConfiguration.baseEnvironment
    public var seccomp = SeccompProfile.default
    /// A host directory holding an image's root filesystem (a store entry, resolved):
    /// the sandbox's /usr and merged-usr links come from it, not from the host's.
    /// Nil for the host's own toolchain.
    public var imageRoot: String?

    public init(command: [String]) {
        self.command = command
    }

    /// Where the command starts and what it may write.
    public static let workingDirectory = "/workspace"
    /// The host uid and gid the sandbox's users map to when `sandbox` runs as root:
    /// an unprivileged identity of its own, never the host's root. (An ordinary user's
    /// sandbox maps to that user.) A host workspace must be writable by it.
    public static let rootHostIdentity: UInt32 = 2_000_000_000

    /// The user's home, where CI runners have theirs (/home/runner): a private
    /// tmpfs like /tmp, so that what a tool keeps there goes with the sandbox.
    public static let home = "/home/" + user.name

    /// The unprivileged user the command runs as.
    public static let user = (name: "sandbox", uid: UInt32(1000), gid: UInt32(1000))

    public static let baseEnvironment: [(name: String, value: String)] = [
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ("HOME", RunConfiguration.home),
        ("LANG", "C.UTF-8"),
        ("TMPDIR", "/tmp"),
    ]

    /// Sets `NAME=VALUE`, replacing a default of the same name.
    public mutating func setEnvironment(parsing text: String) throws {
        guard let equals = text.firstIndex(of: "=") else {
            throw ModelError("--env", "'\(text)' must be NAME=VALUE")
        }
        let name = String(text[..<equals])
        let value = String(text[text.index(after: equals)...])
        guard let first = name.first, first == "_" || first.isLetter,
            name.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) })
        else {
            throw ModelError("--env", "'\(name)' is not a variable name (letters, digits, '_')")
        }
        guard !value.contains(Character("\0")) else {
            throw ModelError("--env", "the value of \(name) holds a NUL byte")
        }
        environment.removeAll { $0.name == name }
        environment.append((name, value))
    }

    /// The value the command sees for `name`.
    public func environmentValue(_ name: String) -> String? {
        environment.last { $0.name == name }?.value
    }
}
