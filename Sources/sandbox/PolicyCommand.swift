import ArgumentParser
import SandboxPolicy
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
            let trusted = try Failure.exiting(prefix: "") { () throws(VerifyError) in
                try TrustedPolicies.load(directory)
            }
            let languages = trusted.policies.languages.map(\.language)
            FileDescriptorOutput.standardOutput.write(
                "\(directory): defaults and \(languages.count) languages (\(languages.joined(separator: ", "))): ok\n")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a language's policy with every layer applied.")

        @Argument(help: "The language, e.g. python.")
        var language: String

        @OptionGroup var policy: PolicyOptions

        @Option(
            name: .customLong("repository"),
            help: ArgumentHelp(
                "Apply this tree's .sandbox.yaml too, as verify would (what it may not loosen is listed as refused), and show what the tree declares it runs and which steps that leaves out.",
                valueName: "TREE"))
        var repository: String?

        func run() throws {
            let trusted = try policy.load()
            let (effective, tree) = try Failure.exiting { () throws(VerifyError) in
                guard let chosen = trusted.policies.language(language) else {
                    let known = trusted.policies.languages.map(\.language).joined(separator: ", ")
                    throw .usage("no policy for '\(language)' in \(trusted.directory); there are: \(known)")
                }
                let tree = try repository.map { (tree) throws(VerifyError) in try SourceTree.directory(tree) }
                return (
                    EffectivePolicy.resolve(chosen, defaults: trusted.policies.defaults, repository: tree?.override),
                    tree
                )
            }
            FileDescriptorOutput.standardOutput.write(effective.text(for: tree?.declarations))
        }
    }
}
