import ArgumentParser
import Glibc
import SandboxKernel
import SandboxModel
import SandboxSupervisor

/// `sandbox run`: one command, contained, with an honest account of its end.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one command in a sandbox.",
        discussion: """
            Exits with the command's exit code, 128+N when it died of signal N (also when a \
            limit killed it), 125 when the sandbox could not be set up, 127 when the command \
            was not found inside it.
            """)

    @Option(
        help: ArgumentHelp(
            "Host directory mounted read-write at /workspace (default: a fresh empty one).", valueName: "DIR"))
    var workspace: String?

    @Option(
        name: .customLong("ro-bind"), help: ArgumentHelp("Extra read-only mount, repeatable.", valueName: "SRC[:DEST]"))
    var readOnlyBinds: [String] = []

    @Option(help: "none: only loopback (default); host: the host's network.")
    var network: String = "none"

    @Option(help: "Memory of the whole step, e.g. 512M, 2G.")
    var memory: String = "2G"

    @Option(help: "Processes and threads of the whole step.")
    var pids: UInt64 = 256

    @Option(name: .customLong("cpu-time"), help: ArgumentHelp("CPU time of the whole step.", valueName: "SECONDS"))
    var cpuTime: String = "600"

    @Option(help: ArgumentHelp("Wall-clock limit, e.g. 30s, 10m.", valueName: "DURATION"))
    var timeout: String = "15m"

    @Option(
        name: .customLong("output-limit"),
        help: ArgumentHelp("Bytes per stream before the step is stopped.", valueName: "SIZE"))
    var outputLimit: String = "16M"

    @Option(name: .customLong("tmp-size"), help: ArgumentHelp("Size of the private /tmp.", valueName: "SIZE"))
    var tmpSize: String = "512M"

    @Option(
        name: .customLong("file-size"), help: ArgumentHelp("Largest file the command may write.", valueName: "SIZE"))
    var fileSize: String = "1G"

    @Option(name: .customLong("env"), help: ArgumentHelp("Set a variable, repeatable.", valueName: "NAME=VALUE"))
    var environment: [String] = []

    @Option(help: ArgumentHelp("The system-call filter: default, or a profile file.", valueName: "default|FILE"))
    var seccomp: String = "default"

    @Option(help: ArgumentHelp("Write the result record here as JSON (- for stdout).", valueName: "FILE"))
    var result: String?

    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("give the command after --, e.g. sandbox run -- /bin/true") }
        _ = try makeConfiguration()
    }

    func makeConfiguration() throws -> RunConfiguration {
        do {
            var configuration = RunConfiguration(command: command)
            configuration.workspace = workspace
            configuration.binds = try readOnlyBinds.map(BindMount.init(parsing:))
            guard let mode = NetworkMode(rawValue: network) else {
                throw ModelError("--network", "'\(network)' is not one of: none, host")
            }
            configuration.network = mode
            configuration.limits.memory = try ByteSize(parsing: memory, option: "--memory")
            guard pids > 0 else { throw ModelError("--pids", "must be at least 1") }
            configuration.limits.pids = pids
            configuration.limits.cpuTime = try TimeSpan(parsing: cpuTime, option: "--cpu-time")
            configuration.limits.timeout = try TimeSpan(parsing: timeout, option: "--timeout")
            configuration.limits.output = try ByteSize(parsing: outputLimit, option: "--output-limit")
            configuration.limits.tmpSize = try ByteSize(parsing: tmpSize, option: "--tmp-size")
            configuration.limits.fileSize = try ByteSize(parsing: fileSize, option: "--file-size")
            for limit in [("--memory", configuration.limits.memory), ("--tmp-size", configuration.limits.tmpSize)]
            where limit.1.bytes < 1 << 20 {
                throw ModelError(limit.0, "at least 1M is needed")
            }
            guard configuration.limits.cpuTime.milliseconds >= 1000 else {
                throw ModelError("--cpu-time", "at least one second")
            }
            guard configuration.limits.timeout.milliseconds > 0 else {
                throw ModelError("--timeout", "must be positive")
            }
            for entry in environment { try configuration.setEnvironment(parsing: entry) }
            if seccomp != "default" {
                guard let text = Descriptor.readSmallFile(seccomp) else {
                    throw ModelError("--seccomp", "cannot read '\(seccomp)': \(String(cString: strerror(errno)))")
                }
                configuration.seccomp = try SeccompProfile(parsing: text, source: seccomp)
            }
            return configuration
        } catch let error as ModelError {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        let configuration = try makeConfiguration()
        // Opened before the command runs, and never through a link: the path may
        // lie in a workspace the untrusted code controls.
        var resultFD: Int32 = -1
        if let path = result {
            resultFD = path == "-" ? 1 : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
            guard resultFD >= 0 else {
                let reason = errno == ELOOP ? "is a symbolic link, which sandbox does not follow" : String(cString: strerror(errno))
                FileDescriptorOutput.standardError.write("sandbox: --result \(path): \(reason)\n")
                throw ExitCode(125)
            }
        }
        defer { if resultFD > 2 { close(resultFD) } }
        var supervisor = Supervisor()
        supervisor.relaysSignals = true
        let outcome = supervisor.run(configuration)
        if let failure = outcome.setupFailure {
            FileDescriptorOutput.standardError.write("sandbox: \(failure.message)\n")
        }
        if resultFD >= 0 {
            try Descriptor.writeAll(resultFD, outcome.json)
        }
        throw ExitCode(outcome.exitStatus)
    }
}
