/// The options of `sandbox run` as the user wrote them, before they are checked.
/// Both the argument parser and the start-up fast path fill this in, and one
/// function turns it into a `RunConfiguration`, so the two cannot disagree. A
/// limit left nil is `ResourceLimits`' default, the one place defaults live.
public struct RunOptions: Equatable, Sendable {
    public var workspace: String?
    public var readOnlyBinds: [String] = []
    public var network = "none"
    public var memory: String?
    public var pids: String?
    public var cpuTime: String?
    public var timeout: String?
    public var outputLimit: String?
    public var tmpSize: String?
    public var fileSize: String?
    public var environment: [String] = []
    public var seccomp = "default"
    public var result: String?
    /// An image of the store to run on, by name; nil for the host's toolchain.
    public var image: String?
    public var command: [String] = []

    public init() {}

    /// Every option `sandbox run` takes, each followed by a value.
    public static let optionNames = [
        "workspace", "ro-bind", "network", "memory", "pids", "cpu-time", "timeout", "output-limit", "tmp-size",
        "file-size", "env", "seccomp", "result", "image",
    ]

    /// Sets option `name` (without dashes); false when there is no such option.
    public mutating func set(_ name: String, to value: String) -> Bool {
        switch name {
        case "workspace": workspace = value
        case "ro-bind": readOnlyBinds.append(value)
        case "network": network = value
        case "memory": memory = value
        case "pids": pids = value
        case "cpu-time": cpuTime = value
        case "timeout": timeout = value
        case "output-limit": outputLimit = value
        case "tmp-size": tmpSize = value
        case "file-size": fileSize = value
        case "env": environment.append(value)
        case "seccomp": seccomp = value
        case "result": result = value
        case "image": image = value
        default: return false
        }
        return true
    }

    /// The fast path for the common, well-formed case: `--name value` or
    /// `--name=value` pairs, then `--` and the command. Anything else (help, an
    /// unknown or incomplete option) returns nil and is left to the full parser,
    /// which explains what is wrong.
    public static func parseQuickly(_ arguments: some Collection<String>) -> RunOptions? {
        var options = RunOptions()
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            if argument == "--" {
                options.command = Array(rest)
                return options.command.isEmpty ? nil : options
            }
            guard argument.hasPrefix("--") else { return nil }
            let body = argument.dropFirst(2)
            let name: Substring
            let value: String
            if let equals = body.firstIndex(of: "=") {
                name = body[..<equals]
                value = String(body[body.index(after: equals)...])
            } else {
                guard let next = rest.popFirst() else { return nil }
                name = body
                value = next
            }
            guard options.set(String(name), to: value) else { return nil }
        }
        return nil
    }

    /// Checks every value and builds the configuration. `readProfile` reads a
    /// seccomp profile file: the only thing here that touches the filesystem.
    public func configuration(readProfile: (String) throws -> String) throws -> RunConfiguration {
        guard !command.isEmpty else {
            throw ModelError("command", "give the command after --, e.g. sandbox run -- /bin/true")
        }
        var configuration = RunConfiguration(command: command)
        configuration.workspace = workspace
        configuration.binds = try readOnlyBinds.map(BindMount.init(parsing:))
        guard let mode = NetworkMode(rawValue: network) else {
            throw ModelError("--network", "'\(network)' is not one of: none, host")
        }
        configuration.network = mode
        var limits = ResourceLimits()
        if let memory { limits.memory = try ByteSize(parsing: memory, option: "--memory") }
        if let pids {
            guard let pidCount = UInt64(pids), pidCount > 0 else {
                throw ModelError("--pids", "'\(pids)' is not a count of at least 1")
            }
            limits.pids = pidCount
        }
        if let cpuTime { limits.cpuTime = try TimeSpan(parsing: cpuTime, option: "--cpu-time") }
        if let timeout { limits.timeout = try TimeSpan(parsing: timeout, option: "--timeout") }
        if let outputLimit { limits.output = try ByteSize(parsing: outputLimit, option: "--output-limit") }
        if let tmpSize { limits.tmpSize = try ByteSize(parsing: tmpSize, option: "--tmp-size") }
        if let fileSize { limits.fileSize = try ByteSize(parsing: fileSize, option: "--file-size") }
        for (option, size) in [("--memory", limits.memory), ("--tmp-size", limits.tmpSize)] where size.bytes < 1 << 20 {
            throw ModelError(option, "at least 1M is needed")
        }
        guard limits.cpuTime.milliseconds >= 1000 else { throw ModelError("--cpu-time", "at least one second") }
        guard limits.timeout.milliseconds > 0 else { throw ModelError("--timeout", "must be positive") }
        configuration.limits = limits
        for entry in environment { try configuration.setEnvironment(parsing: entry) }
        if seccomp != "default" {
            configuration.seccomp = try SeccompProfile(parsing: try readProfile(seccomp), source: seccomp)
        }
        return configuration
    }
}
