import Glibc
import SandboxKernel
import SandboxReports
public import SandboxVerdict

/// Stage 6, Outputs: the verdict in the format asked for, and every file the
/// outcome is written to. Each file is written through `Descriptor`'s
/// link-refusing helper: a path never leads anywhere through a symbolic link.
public struct VerifyOutputs: Sendable {
    /// How the verdict is printed.
    public enum Format: String, CaseIterable, Sendable {
        case text, json, markdown, github
    }

    public var format = Format.text
    /// `--out`: a new or empty directory for each step's output, records and reports.
    public var directory: String?
    /// `--junit`: every step's tests as one JUnit file.
    public var junit: String?
    /// `--sarif`: every finding as one SARIF log.
    public var sarif: String?
    /// `$GITHUB_STEP_SUMMARY`, appended to with the github format.
    public var stepSummary: String?

    public init() {}

    /// The verdict as standard output shows it.
    public func rendered(_ verdict: Verdict) -> String {
        switch format {
        case .text: verdict.text
        case .json: verdict.json
        case .markdown: verdict.markdown
        case .github: verdict.githubAnnotations
        }
    }

    /// Checks, before any step runs, that every file can be written as it will be,
    /// and makes `--out`'s directory: a mistake there must not cost the whole
    /// verification.
    public func prepare() throws(VerifyError) {
        for (option, path) in [("--junit", junit), ("--sarif", sarif), ("$GITHUB_STEP_SUMMARY", summaryPath)] {
            if let path, let problem = Self.unwritable(path) { throw .usage("\(option) \(path): \(problem)") }
        }
        if let directory { try Self.prepareDirectory(directory) }
    }

    /// Writes every file, once the verdict is out: it is never lost to a full disk.
    /// Each is attempted whatever became of the others; every failure is said.
    public func write(_ outcome: VerifyOutcome) throws(VerifyError) {
        var failures: [String] = []
        func attempt(_ body: () throws(SystemError) -> Void) {
            do throws(SystemError) { try body() } catch { failures.append("\(error)") }
        }
        if let directory { attempt { () throws(SystemError) in try keep(outcome, in: directory) } }
        if let junit {
            attempt { () throws(SystemError) in
                try Self.write(Array(JUnitWriter.write(outcome.testSuites).utf8), to: junit)
            }
        }
        if let sarif {
            attempt { () throws(SystemError) in
                try Self.write(Array(SARIFWriter.write(outcome.findings).utf8), to: sarif)
            }
        }
        if let summaryPath {
            attempt { () throws(SystemError) in
                try Self.write(Array(outcome.verdict.githubStepSummary.utf8), to: summaryPath, mode: .append)
            }
        }
        guard failures.isEmpty else { throw .output(failures.joined(separator: "\n")) }
    }

    /// The step summary is written with the github format only.
    var summaryPath: String? { format == .github ? stepSummary : nil }

    /// Each step's output and result record, and the verdict, under `directory`
    /// (made by `prepareDirectory`), each file new.
    func keep(_ outcome: VerifyOutcome, in directory: String) throws(SystemError) {
        for record in outcome.steps {
            let base = directory + "/" + String(record.evidence.name.map { $0 == "/" ? "-" : $0 })
            try Self.write(record.stdout, to: base + ".stdout", mode: .new)
            try Self.write(record.stderr, to: base + ".stderr", mode: .new)
            try Self.write(Array(record.evidence.result.json.utf8), to: base + ".result.json", mode: .new)
            // Reports as read from inside the sandbox: "go-test.report.cover.out".
            var names: Set<String> = []
            for report in record.reportFiles {
                var name = report.name
                while !names.insert(name).inserted { name = "_" + name }
                try Self.write(report.bytes, to: base + ".report." + name, mode: .new)
            }
        }
        try Self.write(Array(outcome.verdict.json.utf8), to: directory + "/verdict.json", mode: .new)
    }

    static func write(_ bytes: [UInt8], to path: String, mode: Descriptor.WriteMode = .replace) throws(SystemError) {
        let fd = try Descriptor.createRefusingLinks(path, mode: mode)
        defer { Descriptor.close(fd) }
        try Descriptor.writeAll(fd, bytes)
    }

    /// Makes `--out`'s directory, or checks that it is empty: a directory of its
    /// own, where files are created exclusively, never through a link, a FIFO or
    /// another file's name.
    static func prepareDirectory(_ directory: String) throws(VerifyError) {
        guard
            mkdir(directory, 0o755) == 0
                || (errno == EEXIST && (HostProbe.directoryEntries(directory) ?? ["?"]).isEmpty)
        else { throw .usage("--out \(directory): give a new or empty directory") }
        guard Descriptor.existsRefusingLinks(directory) else { throw .usage("--out \(directory): \(throughLink)") }
    }

    /// Results are written without following any link on the way.
    static let throughLink =
        "the path goes through a symbolic link, which results are never written through; give the real path"

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
}
