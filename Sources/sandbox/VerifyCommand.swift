import ArgumentParser
import Glibc
import SandboxKernel
import SandboxModel
import SandboxPolicy
import SandboxReports
import SandboxVerdict
import SandboxVerify

/// `sandbox verify`: run a tree's test, lint and coverage steps in sandboxes and
/// decide whether it is ready to merge.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Decide whether a source tree is ready to merge, from its tools run in sandboxes.",
        discussion: "Exit status: 0 merge-ready, 1 not ready, 2 usage or policy error, 3 the sandbox could not run.")

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json, markdown, github
    }

    @Argument(help: "The source tree (default: the current directory). It is never modified.")
    var path: String = "."

    @Option(name: .customLong("policy-dir"), help: "Trusted policies (default: the bundled policies/).")
    var policyDirectory: String?

    @Option(
        name: .customLong("language"),
        help: ArgumentHelp(
            "Verify as this language whatever the tree's marker files say (repeatable); without it, detected.",
            valueName: "LANG"))
    var languages: [String] = []

    @Option(
        name: .customLong("workspace-size"),
        help: ArgumentHelp("Bound of the working copy (tmpfs as root).", valueName: "SIZE"))
    var workspaceSize: String = "4G"

    @Option(help: "text, json, markdown (a PR comment) or github (workflow annotations and a step summary).")
    var format: Format = .text

    @Option(help: ArgumentHelp("Keep every step's output and the verdict here.", valueName: "DIR"))
    var out: String?

    @Option(help: ArgumentHelp("Write every step's test results as one JUnit file.", valueName: "FILE"))
    var junit: String?

    @Option(
        help: ArgumentHelp(
            "Write every lint finding and compiler diagnostic as one SARIF 2.1.0 log.", valueName: "FILE"))
    var sarif: String?

    func run() throws {
        // As root, a mount namespace of its own, while still single-threaded: the
        // working copy's tmpfs then vanishes with this process, however it ends.
        if geteuid() == 0 { HostProbe.privateMountNamespace() }
        let policyDirectory = try self.policyDirectory ?? PolicyDirectory.bundled()
        let (policies, errors) = try PolicyDirectory.load(policyDirectory)
        guard errors.isEmpty else {
            for error in errors { FileDescriptorOutput.standardError.write(Escaping.singleLine("\(error)") + "\n") }
            throw ExitCode(2)
        }
        let images = try ImageDirectory.load(for: policies, besides: policyDirectory, prefix: "sandbox: ")
        var verifier = Verifier(policies: policies, images: images)
        verifier.keepsReportFiles = out != nil
        do {
            verifier.workspaceSize = try ByteSize(parsing: workspaceSize, option: "--workspace-size")
        } catch {
            FileDescriptorOutput.standardError.write("sandbox: \(error)\n")
            throw ExitCode(2)
        }
        // Where the results go is checked before anything runs, the way they will
        // be written: a mistake there must not cost the whole verification.
        for (option, path) in [("--junit", junit), ("--sarif", sarif)] {
            if let path, let problem = Self.unwritable(path) {
                FileDescriptorOutput.standardError.write("sandbox: \(option) \(path): \(problem)\n")
                throw ExitCode(2)
            }
        }
        if let out { try Self.prepareDirectory(out) }
        let outcome: VerifyOutcome
        let live = LiveProgress.onTerminal()
        do {
            defer { live?.finish() }
            outcome = try verifier.verify(tree: path, languages: languages) { event in
                if let live {
                    live.handle(event)
                } else {
                    FileDescriptorOutput.standardError.write(Self.describe(event))
                }
            }
        } catch {
            // The message may quote the untrusted tree (.sandbox.yaml): one line, shown, never obeyed.
            for line in "\(error)".split(separator: "\n") {
                FileDescriptorOutput.standardError.write("sandbox: " + Escaping.singleLine(String(line)) + "\n")
            }
            switch error {
            case .usage, .policy: throw ExitCode(2)
            case .sandbox: throw ExitCode(3)
            }
        }
        let verdict = outcome.verdict
        switch format {
        case .text: FileDescriptorOutput.standardOutput.write(verdict.text)
        case .json: FileDescriptorOutput.standardOutput.write(verdict.json)
        case .markdown: FileDescriptorOutput.standardOutput.write(verdict.markdown)
        case .github:
            FileDescriptorOutput.standardOutput.write(verdict.githubAnnotations)
            if let summary = PolicyDirectory.getenvString("GITHUB_STEP_SUMMARY") {
                let fd = open(summary, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
                if fd >= 0 {
                    try? Descriptor.writeAll(fd, verdict.githubStepSummary)
                    close(fd)
                }
            }
        }
        // After the verdict is out, so that it is never lost to a full disk.
        do {
            if let out { try keep(outcome, in: out) }
            if let junit { try write(Array(JUnitWriter.write(outcome.testSuites).utf8), to: junit, exclusive: false) }
            if let sarif { try write(Array(SARIFWriter.write(outcome.findings).utf8), to: sarif, exclusive: false) }
        } catch {
            FileDescriptorOutput.standardError.write("sandbox: \(error)\n")
            throw ExitCode(2)
        }
        throw ExitCode(verdict.mergeReady ? 0 : 1)
    }

    static func describe(_ event: VerifyProgress) -> String {
        switch event {
        case .queued(let step): return "[\(step)] queued\n"
        case .running(let step): return "[\(step)] running\n"
        case .skipped(let step, let why): return "[\(step)] skipped: \(why)\n"
        case .done(let step, let result): return "[\(step)] done: \(outcome(result))\n"
        }
    }

    /// "exited 0 in 2.119 s", "output-limit in 2.397 s".
    static func outcome(_ result: StepResult) -> String {
        let how: String =
            switch result.status {
            case .exited: "exited \(result.exitCode ?? 0)"
            case .signaled: "died of signal \(result.signal ?? 0)"
            case .setupFailed: "could not start: \(result.setupFailure?.message ?? "")"
            default: result.status.rawValue
            }
        return "\(how) in \(JSONText.seconds(result.wallSeconds)) s"
    }

    /// Writes `bytes` to `path`, never through a link; `exclusive` also refuses a
    /// file that is already there (a FIFO, another file's name).
    func write(_ bytes: [UInt8], to path: String, exclusive: Bool) throws {
        let fd = try Descriptor.createRefusingLinks(path, exclusive: exclusive)
        defer { close(fd) }
        try bytes.withUnsafeBytes { try Descriptor.writeAll(fd, $0) }
    }

    /// Makes `--out`'s directory, or checks that it is empty: a directory of its
    /// own, where files are created exclusively, never through a link, a FIFO or
    /// another file's name.
    static func prepareDirectory(_ directory: String) throws {
        guard
            mkdir(directory, 0o755) == 0
                || (errno == EEXIST && (HostProbe.directoryEntries(directory) ?? ["?"]).isEmpty)
        else {
            FileDescriptorOutput.standardError.write("sandbox: --out \(directory): give a new or empty directory\n")
            throw ExitCode(2)
        }
        guard Descriptor.existsRefusingLinks(directory) else {
            FileDescriptorOutput.standardError.write("sandbox: --out \(directory): \(Self.throughLink)\n")
            throw ExitCode(2)
        }
    }

    /// Results are written without following any link on the way (see `write`).
    static let throughLink =
        "the path goes through a symbolic link, which results are never written through; "
        + "give the real path"

    /// Why `path` could not be written at the end, checked as `write` will write
    /// it: no link anywhere on the way, a plain file of its own if one is there,
    /// and a writable directory.
    static func unwritable(_ path: String) -> String? {
        guard !path.hasSuffix("/"), !path.isEmpty else { return "give a file's path" }
        let slash = path.lastIndex(of: "/")
        let parent = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        guard HostProbe.isDirectory(parent) else { return "no such directory" }
        guard Descriptor.existsRefusingLinks(parent) else { return throughLink }
        var info = stat()
        if lstat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFREG, info.st_nlink == 1 else {
                return "something other than a plain file of its own is there"
            }
            return access(path, W_OK) == 0 ? nil : "not writable"
        }
        return access(parent, W_OK | X_OK) == 0 ? nil : "its directory is not writable"
    }

    /// Each step's output and result record, and the verdict, under `directory`
    /// (made by `prepareDirectory`).
    func keep(_ outcome: VerifyOutcome, in directory: String) throws {
        for record in outcome.steps {
            let base = directory + "/" + record.evidence.name.replacingSlashes()
            try write(record.stdout, to: base + ".stdout", exclusive: true)
            try write(record.stderr, to: base + ".stderr", exclusive: true)
            try write(Array(record.evidence.result.json.utf8), to: base + ".result.json", exclusive: true)
            // Reports as read from inside the sandbox: "go-test.report.cover.out".
            var names: Set<String> = []
            for report in record.reportFiles {
                var name = report.name
                while !names.insert(name).inserted { name = "_" + name }
                try write(report.bytes, to: base + ".report." + name, exclusive: true)
            }
        }
        try write(Array(outcome.verdict.json.utf8), to: directory + "/verdict.json", exclusive: true)
    }
}

extension String {
    func replacingSlashes() -> String { String(map { $0 == "/" ? "-" : $0 }) }
}

/// Toolchain images: `images/` beside the policy directory.
enum ImageDirectory {
    static func path(besides policyDirectory: String) -> String {
        let parent = policyDirectory.split(separator: "/").dropLast().joined(separator: "/")
        return (policyDirectory.hasPrefix("/") ? "/" : "") + (parent.isEmpty ? "." : parent) + "/images"
    }

    /// The images, every one the policies name among them: a language whose image
    /// is missing would start its steps without a toolchain and fail as if the tree
    /// were at fault. Each missing one is said (after `prefix`), then exit 2.
    static func load(for set: PolicySet, besides policyDirectory: String, prefix: String) throws
        -> [String: ToolchainImage]
    {
        let images = try load(besides: policyDirectory)
        let missing = set.languages.filter { images[$0.image] == nil }
        for language in missing {
            FileDescriptorOutput.standardError.write(
                "\(prefix)\(language.source): image '\(language.image)' is not in \(path(besides: policyDirectory)) "
                    + "(images are read from images/ beside the policy directory)\n")
        }
        guard missing.isEmpty else { throw ExitCode(2) }
        return images
    }

    static func load(besides policyDirectory: String) throws -> [String: ToolchainImage] {
        let directory = path(besides: policyDirectory)
        var images: [String: ToolchainImage] = [:]
        for name in HostProbe.directoryEntries(directory) ?? [] where name.hasSuffix(".yaml") {
            guard let text = Descriptor.readSmallFile(directory + "/" + name) else { continue }
            do {
                let image = try PolicyParser.image(text, file: name)
                images[image.name] = image
            } catch {
                FileDescriptorOutput.standardError.write("\(directory)/\(error)\n")
                throw ExitCode(2)
            }
        }
        return images
    }
}
