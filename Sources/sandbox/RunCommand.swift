import ArgumentParser
import Glibc
import SandboxImage
import SandboxKernel
import SandboxModel
import SandboxSupervisor
import SystemPackage

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

    // Limits left out are `ResourceLimits`' defaults, shown in the help from there.
    static let defaults = ResourceLimits()

    @Option(help: "Memory of the whole step, e.g. 512M (default: \(defaults.memory)).")
    var memory: String?

    @Option(help: "Processes and threads of the whole step (default: \(defaults.pids)).")
    var pids: String?

    @Option(
        name: .customLong("cpu-time"),
        help: ArgumentHelp(
            "CPU time of the whole step (default: \(Int(defaults.cpuTime.seconds))).", valueName: "SECONDS"))
    var cpuTime: String?

    @Option(help: ArgumentHelp("Wall-clock limit, e.g. 30s (default: \(defaults.timeout)).", valueName: "DURATION"))
    var timeout: String?

    @Option(
        name: .customLong("output-limit"),
        help: ArgumentHelp(
            "Bytes per stream before the step is stopped (default: \(defaults.output)).", valueName: "SIZE"))
    var outputLimit: String?

    @Option(
        name: .customLong("tmp-size"),
        help: ArgumentHelp("Size of the private /tmp and /dev/shm (default: \(defaults.tmpSize)).", valueName: "SIZE"))
    var tmpSize: String?

    @Option(
        name: .customLong("file-size"),
        help: ArgumentHelp("Largest file the command may write (default: \(defaults.fileSize)).", valueName: "SIZE"))
    var fileSize: String?

    @Option(name: .customLong("env"), help: ArgumentHelp("Set a variable, repeatable.", valueName: "NAME=VALUE"))
    var environment: [String] = []

    @Option(help: ArgumentHelp("The system-call filter: default, or a profile file.", valueName: "default|FILE"))
    var seccomp: String = "default"

    @Option(help: ArgumentHelp("Write the result record here as JSON (- for stdout).", valueName: "FILE"))
    var result: String?

    @Option(
        help: ArgumentHelp(
            "Run on this image of the store (`sandbox image ls`), not the host's /usr.", valueName: "NAME"))
    var image: String?

    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
    var command: [String] = []

    var options: RunOptions {
        var options = RunOptions()
        options.workspace = workspace
        options.readOnlyBinds = readOnlyBinds
        options.network = network
        options.memory = memory
        options.pids = pids
        options.cpuTime = cpuTime
        options.timeout = timeout
        options.outputLimit = outputLimit
        options.tmpSize = tmpSize
        options.fileSize = fileSize
        options.environment = environment
        options.seccomp = seccomp
        options.result = result
        options.image = image
        options.command = command
        return options
    }

    func validate() throws {
        _ = try Self.configuration(of: options)
    }

    func run() throws {
        try Self.execute(options)
    }

    static func configuration(of options: RunOptions) throws -> RunConfiguration {
        do {
            return try options.configuration { path in
                do {
                    return String(
                        decoding: try Descriptor.readFile(path, limit: SeccompProfile.maximumBytes), as: UTF8.self)
                } catch {
                    throw ModelError("--seccomp", "cannot read '\(path)': \(error)")
                }
            }
        } catch let error as ModelError {
            throw ValidationError(error.description)
        }
    }

    /// Runs the step and exits with its status. Shared by the parser and the fast path.
    static func execute(_ options: RunOptions) throws -> Never {
        var configuration = try configuration(of: options)
        // Held until the process exits: the store keeps the image while it runs.
        var image: ImageInUse?
        if let name = options.image {
            do {
                image = try ImageStore.standard().use(name, check: .record)
                configuration.imageRoot = image?.root
            } catch {
                FileDescriptorOutput.standardError.write("sandbox: --image: \(error)\n")
                Glibc.exit(125)
            }
        }
        // Opened before the command runs, and never through a link: the path may
        // lie in a workspace the untrusted code controls.
        var resultFD: FileDescriptor?
        if let path = options.result {
            do {
                resultFD = path == "-" ? .standardOutput : try Descriptor.createRefusingLinks(path)
            } catch {
                FileDescriptorOutput.standardError.write("sandbox: --result: \(error)\n")
                Glibc.exit(125)
            }
        }
        var supervisor = Supervisor()
        supervisor.relaysSignals = true
        if let weaker = supervisor.weakerEnforcement {
            FileDescriptorOutput.standardError.write("sandbox: \(weaker)\n")
        }
        let outcome = withExtendedLifetime(image) { supervisor.run(configuration) }
        if let failure = outcome.setupFailure {
            FileDescriptorOutput.standardError.write("sandbox: \(failure.message)\n")
        }
        if let resultFD {
            do {
                try Descriptor.writeAll(resultFD, outcome.json)
            } catch {
                // The command ran, but its record is lost: say so, and fail as sandbox does.
                FileDescriptorOutput.standardError.write(
                    "sandbox: --result: the record could not be written: \(error)\n")
                Glibc.exit(125)
            }
        }
        Glibc.exit(outcome.exitStatus)
    }
}
