import Glibc
import SandboxKernel
import SandboxModel
import SandboxReports
import SandboxVerdict
import SystemPackage

/// The stage before Source when verify judges a commit of a repository: the
/// trees of REF (and BASE) read from git's objects, never checked out. git runs in
/// a sandbox, on the repository's objects and refs mounted read-only, with a
/// configuration of this stage's own: none of the repository's (no hooks, filters,
/// fsmonitor, LFS, submodules, replace refs, commit-graph). What it prints is parsed
/// here as untrusted data, and the tree is written by this process, every name
/// checked and every path opened beneath the export without following a link.
struct GitExport {
    /// The repository's git directory, on the host.
    let gitDirectory: String
    let runner: any SandboxRunner
    /// What of it every git step mounts, found once.
    let binds: [BindMount]

    /// What a repository's git directory holds that git reads here, and where
    /// the sandbox sees it.
    static let mounted = ["objects", "refs", "packed-refs", "HEAD", "shallow", "config"]
    static let inside = "/repository"
    /// The most configuration files read of a tree besides the one verified
    /// (each object id is an argument of `git cat-file`).
    static let maximumRuleFiles = 1000

    /// `path` is a working tree with a `.git` directory, or a bare repository.
    init(repository given: String, runner: any SandboxRunner) throws(VerifyError) {
        // The path the user gave may pass through links (a home directory's); what
        // the repository holds is then mounted refusing any.
        guard let resolved = realpath(given, nil) else {
            throw .usage("\(given): \(String(cString: strerror(errno)))")
        }
        let path = String(cString: resolved)
        free(resolved)
        let candidates = [path + "/.git", path]
        guard
            let directory = candidates.first(where: {
                HostProbe.isDirectory($0 + "/objects") && HostProbe.isDirectory($0 + "/refs")
            })
        else {
            let worktree = HostProbe.isRegularFile(path + "/.git")
            throw .usage(
                worktree
                    ? "\(path): its .git is a file (a linked worktree or a submodule); give the repository it points to"
                    : "\(path): not a git repository that can be read (no objects and refs directories)")
        }
        if let linked = Self.mounted.first(where: { Self.isLink(directory + "/" + $0) }) {
            throw .usage("\(directory)/\(linked) is a symbolic link: a repository's own files must be its own")
        }
        gitDirectory = directory
        self.runner = runner
        binds = Self.mounted.compactMap { entry in
            Descriptor.existsRefusingLinks(directory + "/" + entry)
                ? BindMount(source: directory + "/" + entry, destination: Self.inside + "/" + entry) : nil
        }
    }

    static func isLink(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFLNK
    }

    /// Sets up a git directory of the sandbox's own over the repository's objects
    /// and refs, then runs the script's own commands. The repository's config is
    /// read as data, for its object format alone.
    static let prelude = """
        set -u
        export GIT_DIR=/tmp/git GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_NO_REPLACE_OBJECTS=1 \
        GIT_TERMINAL_PROMPT=0 GIT_OPTIONAL_LOCKS=0 GIT_NO_LAZY_FETCH=1 GIT_ATTR_NOSYSTEM=1 HOME=/tmp
        format=sha1; storage=files
        if [ -f /repository/config ]; then
        format=$(git config --file /repository/config --get extensions.objectformat || echo sha1)
        storage=$(git config --file /repository/config --get extensions.refstorage || echo files); fi
        case "$format" in sha1|sha256) ;; *) exit 20;; esac
        [ "$storage" = files ] || exit 21
        mkdir /tmp/git || exit 22
        printf '[core]\\n\\trepositoryformatversion = 1\\n\\tbare = true\\n\\tcommitGraph = false\\n\\tmultiPackIndex = false\\n[extensions]\\n\\tobjectformat = %s\\n' "$format" > /tmp/git/config
        for entry in objects refs packed-refs shallow; do
        if [ -e "/repository/$entry" ]; then ln -s "/repository/$entry" "/tmp/git/$entry"; fi; done
        head -c 4096 /repository/HEAD > /tmp/git/HEAD 2> /dev/null || echo 'ref: refs/heads/sandbox-none' > /tmp/git/HEAD

        """

    /// Prints `commit tree` for REF ($1), and for BASE ($2, if given) and their
    /// merge base. Exit 10/11/18: REF absent, no commit, ambiguous; 12/13/19: BASE;
    /// 14: no merge base; 15: none in a shallow clone.
    static let resolveScript =
        prelude + """
            peel() {
            if ! git rev-parse --verify --quiet --end-of-options "$1" > /dev/null; then exit "$2"; fi
            # A name that is both a branch and a tag (or more) is refused, not guessed.
            if git rev-parse --verify --end-of-options "$1" 2>&1 > /dev/null | grep -q "is ambiguous"; then exit "$3"; fi
            if ! commit=$(git rev-parse --verify --quiet --end-of-options "$1^{commit}"); then exit $(($2 + 1)); fi
            tree=$(git rev-parse --verify --quiet "$commit^{tree}") || exit $(($2 + 1))
            echo "$commit $tree"; }
            peel "$1" 10 18
            ref=$commit
            if [ -n "$2" ]; then
            peel "$2" 12 19
            base=$(git merge-base "$ref" "$commit"); found=$?
            if [ "$found" = 1 ]; then if [ -e /tmp/git/shallow ]; then exit 15; fi; exit 14; fi
            [ "$found" = 0 ] || exit 17
            peel "$base" 16 16
            fi
            """

    /// Prints the listing's length, the listing of commit $1's tree, then its blobs.
    static let exportScript =
        prelude + """
            git ls-tree -r -z --full-tree -l "$1" > /tmp/listing || exit 30
            git ls-tree -r --full-tree "$1" > /tmp/objects || exit 30
            awk '$2 == "blob" { print $3 }' /tmp/objects > /tmp/blobs || exit 30
            wc -c < /tmp/listing; cat /tmp/listing
            git cat-file --batch < /tmp/blobs || exit 31
            """

    /// The listing of commit $1's tree alone.
    static let listingScript =
        prelude + """
            git ls-tree -r -z --full-tree -l "$1" || exit 30
            """

    /// The blobs named by the arguments (object ids, checked), as `--batch` answers.
    static let blobsScript =
        prelude + """
            printf '%s\\n' "$@" | git cat-file --batch || exit 31
            """

    /// The lines commit $2 adds or changes since commit $1, with no context: git's
    /// own diff, no external driver or text conversion (the configuration is this
    /// stage's), renames followed as git does by default.
    static let diffScript =
        prelude + """
            git diff --no-color --no-ext-diff --no-textconv -U0 --src-prefix=a/ --dst-prefix=b/ "$1" "$2" || exit 32
            """

    /// The lines REF adds or changes since the merge base, by file: the patch that
    /// patch coverage judges.
    func changes(from mergeBase: String, to ref: String) throws(VerifyError) -> [String: Set<Int>] {
        let run = run(Self.diffScript, [mergeBase, ref], cap: ReportLimits.maximumBytes)
        guard run.result.status == .exited, run.result.exitCode == 0 else {
            throw .sandbox("could not diff \(ref) against its merge base: \(Self.reason(run))")
        }
        do {
            return try UnifiedDiff.addedLines(run.stdout)
        } catch {
            throw .usage("the changes of \(ref) cannot be read: \(error)")
        }
    }

    func run(_ script: String, _ arguments: [String], cap: Int) -> CapturedRun {
        var configuration = RunConfiguration(command: ["/bin/sh", "-c", script, "sandbox-git"] + arguments)
        configuration.binds = binds
        configuration.limits.timeout = .minutes(10)
        configuration.limits.output = ByteSize(bytes: UInt64(cap))
        return runner.capture(configuration, stdoutCap: cap, stderrCap: 1 << 16)
    }

    /// Why a git step failed: its setup failure, else what git said.
    static func reason(_ run: CapturedRun) -> String {
        run.result.setupFailure?.message ?? String(decoding: run.stderr.prefix(400), as: UTF8.self)
    }

    /// REF, BASE and their merge base, or exit 2 naming what is wrong.
    func resolve(ref: String, base: String?) throws(VerifyError) -> [JudgedRevision] {
        let run = run(Self.resolveScript, [ref, base ?? ""], cap: 1 << 12)
        guard run.result.status == .exited else {
            throw .sandbox("could not read the repository's refs in a sandbox: \(Self.reason(run))")
        }
        let baseName = base ?? ""
        switch run.result.exitCode {
        case 0: break
        case 10: throw .usage("--ref \(ref): no such commit, branch or tag in \(gitDirectory)")
        case 11: throw .usage("--ref \(ref): names no commit (a tree, a blob, or a tag of one)")
        case 12: throw .usage("--base \(baseName): no such commit, branch or tag in \(gitDirectory)")
        case 13: throw .usage("--base \(baseName): names no commit (a tree, a blob, or a tag of one)")
        case 14: throw .usage("--ref \(ref) and --base \(baseName) have no merge base: their histories never meet")
        case 15:
            throw .usage(
                "--ref \(ref) and --base \(baseName): no merge base in this shallow clone; fetch more history "
                    + "(git fetch --deepen, or --unshallow)")
        case 18, 19:
            let (option, name) = run.result.exitCode == 18 ? ("--ref", ref) : ("--base", baseName)
            throw .usage(
                "\(option) \(name): names more than one ref (a branch and a tag); give it in full "
                    + "(refs/heads/\(name), refs/tags/\(name))")
        case 20, 21: throw .usage("\(gitDirectory): an object format or ref storage this reader does not know")
        default:
            throw .sandbox(
                "could not read the repository's refs: exit \(run.result.exitCode ?? -1): \(Self.reason(run))")
        }
        let lines = String(decoding: run.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
        let pairs = lines.map { $0.split(separator: " ").map(String.init) }
        guard pairs.count == (base == nil ? 1 : 3), pairs.allSatisfy({ $0.count == 2 && $0.allSatisfy(Self.isObject) })
        else { throw .sandbox("git's answer about the refs could not be read: \(lines.prefix(3))") }
        var revisions = [JudgedRevision(role: .ref, name: ref, commit: pairs[0][0], tree: pairs[0][1])]
        if let base {
            revisions.append(JudgedRevision(role: .base, name: base, commit: pairs[1][0], tree: pairs[1][1]))
            revisions.append(
                JudgedRevision(role: .mergeBase, name: pairs[2][0], commit: pairs[2][0], tree: pairs[2][1]))
        }
        return revisions
    }

    static func isObject(_ text: String) -> Bool {
        (text.count == 40 || text.count == 64) && text.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    /// The tree of `commit`, read and checked.
    func content(of commit: String) throws(VerifyError) -> GitTreeContent {
        let cap = GitTreeContent.maximumBytes + (64 << 20)
        let run = run(Self.exportScript, [commit], cap: cap)
        guard run.result.status == .exited, run.result.exitCode == 0 else {
            throw .sandbox(
                "could not read the tree of \(commit): \(Self.reason(run)) "
                    + "(\(run.result.status.rawValue)\(run.result.exitCode.map { " \($0)" } ?? ""))")
        }
        let bytes = run.stdout[...]
        do {
            guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")),
                let length = Int(String(decoding: bytes[..<newline], as: UTF8.self).trimmingSpaces()),
                length >= 0, length <= bytes.endIndex - newline - 1
            else { throw ReportError(file: "git ls-tree", reason: "no listing") }
            let listing = bytes[(newline + 1)..<(newline + 1 + length)]
            let entries = try GitTreeListing.parse(listing)
            let blobs = try GitBatch.parse(bytes[(newline + 1 + length)...])
            return GitTreeContent(entries: entries, blobs: blobs)
        } catch {
            throw .usage("the tree of \(commit) cannot be exported: \(error)")
        }
    }

    /// The entries of `commit`'s tree whose paths `wanted` names, and those alone,
    /// with the bytes of those `read` names: the base's rules, without reading
    /// its whole tree.
    func content(of commit: String, only wanted: (String) -> Bool, reading read: (String) -> Bool)
        throws(VerifyError) -> GitTreeContent
    {
        let listing = run(Self.listingScript, [commit], cap: 64 << 20)
        guard listing.result.status == .exited, listing.result.exitCode == 0 else {
            throw .sandbox("could not list the tree of \(commit): \(Self.reason(listing))")
        }
        do {
            let entries = try GitTreeListing.parse(listing.stdout[...]).filter {
                $0.kind != .submodule && wanted($0.path)
            }
            let objects = Array(Set(entries.filter { read($0.path) }.map(\.object))).sorted()
            guard objects.count <= Self.maximumRuleFiles else {
                throw VerifyError.usage(
                    "\(commit): more than \(Self.maximumRuleFiles) files configure the tools that judge it")
            }
            guard !objects.isEmpty else { return GitTreeContent(entries: entries, blobs: [:]) }
            let blobs = run(Self.blobsScript, objects, cap: GitTreeContent.maximumBytes + (1 << 20))
            guard blobs.result.status == .exited, blobs.result.exitCode == 0 else {
                throw VerifyError.sandbox("could not read the files of \(commit): \(Self.reason(blobs))")
            }
            return GitTreeContent(entries: entries, blobs: try GitBatch.parse(blobs.stdout[...]))
        } catch let error as VerifyError {
            throw error
        } catch {
            throw .usage("the tree of \(commit) cannot be read: \(error)")
        }
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
