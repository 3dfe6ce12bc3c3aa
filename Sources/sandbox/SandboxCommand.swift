import ArgumentParser
import Glibc
import SandboxKernel
import SandboxModel
import SystemPackage

/// `sandbox`: runs untrusted build, test and lint commands contained.
@main
struct SandboxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Run an untrusted command in Linux namespaces, under seccomp and resource limits.",
        subcommands: [RunCommand.self, VerifyCommand.self, ImageCommand.self, DoctorCommand.self, PolicyCommand.self])

    /// Usage errors of `sandbox run` exit 125, like every failure of `sandbox`
    /// itself, so that the command's own exit codes keep their meaning; those of
    /// `verify`, `policy` and `doctor` exit 2, as their help says.
    static func main() {
        signal(SIGPIPE, SIG_IGN)
        // The fast path: a well-formed `sandbox run` skips the general parser,
        // whose reflection costs milliseconds on every start. Anything unusual
        // (help, a mistake) goes to the parser, which explains it.
        let arguments = CommandLine.arguments.dropFirst()
        if arguments.first == "run", let options = RunOptions.parseQuickly(arguments.dropFirst()) {
            do {
                try RunCommand.execute(options)
            } catch {
                // A value the parser would refuse: let it say why.
            }
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let code as ExitCode {
            Glibc.exit(code.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                exit(withError: error)
            }
            var message = fullMessage(for: error)
            if !message.hasSuffix("\n") { message += "\n" }
            FileDescriptorOutput.standardError.write(message)
            Glibc.exit(CommandLine.arguments.dropFirst().first == "run" ? 125 : 2)
        }
    }
}

/// Writes to the standard streams without Foundation.
enum FileDescriptorOutput {
    case standardOutput
    case standardError

    /// Writes all of `text`; a stream that cannot take it (a closed pipe) is left be.
    func write(_ text: String) {
        try? Descriptor.writeAll(self == .standardOutput ? .standardOutput : .standardError, text)
    }
}
