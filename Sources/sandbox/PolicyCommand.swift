import ArgumentParser
import Glibc
import SandboxKernel
import SandboxPolicy
import SandboxVerdict
import SandboxVerify

/// `sandbox policy`: check and show the per-language policies.
struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Check a policy directory, or show a language's effective policy.",
        subcommands: [Check.self, Show.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate every policy file in a directory; errors name file:line:column. Exit 2 on errors.")

        @Argument(help: "The policy directory.")
        var directory: String

        func run() throws {
            let (set, errors) = try PolicyDirectory.load(directory)
            for error in errors { FileDescriptorOutput.standardError.write(Escaping.singleLine("\(error)") + "\n") }
            guard errors.isEmpty else { throw ExitCode(2) }
            _ = try ImageDirectory.load(for: set, besides: directory, prefix: "")
            FileDescriptorOutput.standardOutput.write(
                "\(directory): defaults and \(set.languages.count) languages (\(set.languages.map(\.language).joined(separator: ", "))): ok\n"
            )
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a language's policy with every layer applied.")

        @Argument(help: "The language, e.g. python.")
        var language: String

        @Option(name: .customLong("policy-dir"), help: "Trusted policies (default: the bundled policies/).")
        var policyDirectory: String?

        @Option(
            name: .customLong("repository"),
            help: ArgumentHelp(
                "Apply this tree's .sandbox.yaml too, as verify would; what it may not loosen is listed as refused.",
                valueName: "TREE"))
        var repository: String?

        func run() throws {
            let directory = try policyDirectory ?? PolicyDirectory.bundled()
            let (set, errors) = try PolicyDirectory.load(directory)
            for error in errors { FileDescriptorOutput.standardError.write(Escaping.singleLine("\(error)") + "\n") }
            guard errors.isEmpty else { throw ExitCode(2) }
            guard let policy = set.language(language) else {
                FileDescriptorOutput.standardError.write(
                    "sandbox: no policy for '\(language)' in \(directory); there are: \(set.languages.map(\.language).joined(separator: ", "))\n"
                )
                throw ExitCode(2)
            }
            var override: RepositoryOverride?
            if let repository {
                guard HostProbe.isDirectory(repository) else {
                    FileDescriptorOutput.standardError.write("sandbox: --repository \(repository): not a directory\n")
                    throw ExitCode(2)
                }
                do {
                    override = try Verifier.repositoryOverride(in: repository)
                } catch {
                    // The file is the tree's (untrusted): one line each, shown, never obeyed.
                    for line in "\(error)".split(separator: "\n") {
                        FileDescriptorOutput.standardError.write("sandbox: " + Escaping.singleLine(String(line)) + "\n")
                    }
                    throw ExitCode(2)
                }
            }
            let effective = EffectivePolicy.resolve(policy, defaults: set.defaults, repository: override)
            FileDescriptorOutput.standardOutput.write(effective.text)
        }
    }
}

/// Finding and reading policy directories.
enum PolicyDirectory {
    static func load(_ path: String) throws -> (PolicySet, [PolicyError]) {
        guard let names = HostProbe.directoryEntries(path) else {
            FileDescriptorOutput.standardError.write("sandbox: cannot read the policy directory \(path)\n")
            throw ExitCode(2)
        }
        var files: [(name: String, text: String)] = []
        for name in names where name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
            guard let text = Descriptor.readSmallFile(path + "/" + name) else {
                FileDescriptorOutput.standardError.write("sandbox: cannot read \(path)/\(name)\n")
                throw ExitCode(2)
            }
            files.append((name, text))
        }
        return PolicySet.load(files)
    }

    /// $SANDBOX_POLICY_DIR, or the policies/ of the checkout the executable was
    /// built in, or share/sandbox/policies beside bin/.
    static func bundled() throws -> String {
        if let override = getenvString("SANDBOX_POLICY_DIR") { return override }
        if let executable = HostProbe.executablePath {
            // .build/<triple>/<config>/sandbox in a checkout; <prefix>/bin/sandbox installed.
            let parts = executable.split(separator: "/").dropLast()
            for candidate in [parts.dropLast(3), parts.dropLast(1)] {
                let base = "/" + candidate.joined(separator: "/")
                for suffix in ["/policies", "/share/sandbox/policies"] where HostProbe.isDirectory(base + suffix) {
                    return base + suffix
                }
            }
        }
        FileDescriptorOutput.standardError.write(
            "sandbox: no bundled policies found (policies/ of the checkout this executable was built in, or "
                + "share/sandbox/policies beside its bin/); give --policy-dir or set SANDBOX_POLICY_DIR\n")
        throw ExitCode(2)
    }

    static func getenvString(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(validatingCString: value)
    }
}
