import SandboxPolicy
import SandboxReports

/// The stage after the export when verify judges a branch against a base: the
/// branch is judged by the base's rules. Pure: it compares three trees' entries.
///
/// - A file that only configures the tools that judge (`JudgingFiles.configuration`)
///   is the base's in the working copy, whatever the branch did to it.
/// - A file shared with other purposes (`sections`) stays the branch's where the
///   branch changed it (what it changed in the parts that judge is shown), and is
///   BASE's where the branch left it as the merge base had it.
/// - A file that runs as code inside those tools (`code`) likewise; that the branch
///   changed it is shown.
/// - A symbolic link of the branch's where a directory of judging files would be
///   (`.cargo`) is left out, and shown.
///
/// "The branch changed it" means REF's version differs from the merge base's and
/// from BASE's: a change BASE already has judges nothing new.
struct RulesFromBase {
    /// REF's tree, with the base's configuration in place of the branch's.
    var content: GitTreeContent
    /// The judging files the branch changed, in path order.
    var changed: [ChangedFile] = []

    struct ChangedFile: Equatable {
        var path: String
        var role: JudgingFiles.Role
        /// The merge base's bytes and REF's, nil where the tree has no such file.
        var old: [UInt8]?
        var new: [UInt8]?
        var inMergeBase: Bool
        var inRef: Bool
        /// Whether the working copy holds BASE's version of it.
        var baseUsed: Bool
        /// Why BASE's version could not be put in place, if so.
        var conflict: String?
        /// A symbolic link of REF's where a directory of judging files would be.
        var linkOnTheWay = false
    }

    /// `base` and `mergeBase` need only hold the judging files' entries and bytes.
    /// A configuration file is BASE's always; a shared or code file is BASE's where
    /// the branch left it as it was at the merge base (as a merge would take it).
    init(ref: GitTreeContent, base: GitTreeContent, mergeBase: GitTreeContent, judging: JudgingFiles) {
        content = ref
        let refEntries = Dictionary(ref.entries.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        let baseEntries = Dictionary(base.entries.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        let mergeEntries = Dictionary(mergeBase.entries.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        let paths = Set(refEntries.keys).union(baseEntries.keys).union(mergeEntries.keys)
        // A link of the branch's on the way to judging files: the tools would read
        // through it what no pattern names. BASE's own links are BASE's rules.
        let linksOnTheWay = ref.entries.filter {
            $0.kind == .symbolicLink && judging.isOnTheWay($0.path) && !Self.same($0, baseEntries[$0.path])
        }
        let standing = ref.entries.filter { entry in !linksOnTheWay.contains { $0.path == entry.path } }
        var removed = Set(linksOnTheWay.map(\.path))
        var added: [GitTreeEntry] = []
        for path in paths.sorted() {
            guard let role = judging.role(of: path) else { continue }
            let ofRef = refEntries[path]
            let ofBase = baseEntries[path]
            let ofMergeBase = mergeEntries[path]
            let branchChanged = !Self.same(ofRef, ofMergeBase) && !Self.same(ofRef, ofBase)
            var file = ChangedFile(
                path: path, role: role, old: ofMergeBase.flatMap { mergeBase.blobs[$0.object] },
                new: ofRef.flatMap { ref.blobs[$0.object] }, inMergeBase: ofMergeBase != nil, inRef: ofRef != nil,
                baseUsed: Self.same(ofRef, ofBase) && ofBase != nil && role == .configuration)
            let usesBase = role == .configuration || !branchChanged
            if usesBase, !Self.same(ofRef, ofBase) {
                if ofRef != nil { removed.insert(path) }
                if let ofBase, let bytes = base.blobs[ofBase.object] {
                    if let clash = Self.clash(path, with: standing) {
                        file.conflict = "the branch has \(clash) where it goes"
                    } else {
                        added.append(ofBase)
                        content.blobs[ofBase.object] = bytes
                        file.baseUsed = role == .configuration
                    }
                }
            }
            if branchChanged || file.conflict != nil { changed.append(file) }
        }
        for entry in linksOnTheWay {
            changed.append(
                ChangedFile(
                    path: entry.path, role: .configuration, old: nil, new: nil, inMergeBase: false, inRef: true,
                    baseUsed: false, linkOnTheWay: true))
        }
        content.entries = content.entries.filter { !removed.contains($0.path) } + added
    }

    static func same(_ one: GitTreeEntry?, _ other: GitTreeEntry?) -> Bool {
        one?.kind == other?.kind && one?.object == other?.object
    }

    /// An entry of `entries` that stands where `path` would go: a file where one of
    /// its directories would be, or a directory (some entry beneath) in its place.
    static func clash(_ path: String, with entries: [GitTreeEntry]) -> String? {
        let components = path.split(separator: "/")
        let directories = Set(components.indices.dropLast().map { components[...$0].joined(separator: "/") })
        return entries.first { directories.contains($0.path) || $0.path.hasPrefix(path + "/") }?.path
    }

    /// The reader the comparing script uses for a file, by its name; nil where it
    /// has none (YAML, code), and a change is then told by file.
    static func form(of path: String) -> RuleComparison.Form? {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        if name.hasSuffix(".toml") { return .toml }
        if name.hasSuffix(".json") || [".eslintrc", ".c8rc", ".nycrc", ".babelrc"].contains(name) { return .json }
        let ini = [".coveragerc", ".flake8", ".pylintrc", "pylintrc", ".pydocstyle", ".editorconfig"]
        if name.hasSuffix(".cfg") || name.hasSuffix(".ini") || ini.contains(name) { return .ini }
        return nil
    }

    /// The comparisons to make, key by key: each changed file that is not code,
    /// has a reader, and (for a configuration file) is in both trees. Its index
    /// is its place in `changed`.
    var comparisons: [RuleComparison.Request] {
        changed.indices.compactMap { index in
            let file = changed[index]
            guard file.role != .code, let form = Self.form(of: file.path) else { return nil }
            if file.role == .configuration, !(file.inMergeBase && file.inRef) { return nil }
            return RuleComparison.Request(index: index, form: form, old: file.old, new: file.new)
        }
    }

    /// What the branch changed of what judges it, one change a line. `compared`
    /// holds the comparisons' outcomes by index; `unread` says why there are none.
    func words(_ compared: [Int: RuleDifferences.File], unread: String? = nil) -> [String] {
        changed.indices.flatMap { index -> [String] in
            let file = changed[index]
            let verb = !file.inRef ? "removed" : !file.inMergeBase ? "added" : "changed"
            if file.linkOnTheWay {
                return [
                    "\(file.path): a symbolic link of the branch's where files that judge the tree are looked for; left out"
                ]
            }
            let truncated = compared[index]?.truncated == true
            switch file.role {
            case .code:
                return [
                    "\(file.path): \(verb) by the branch; it runs as code inside the tools that judge, "
                        + "so the base's cannot stand in for it"
                ]
            case .configuration:
                let used =
                    file.baseUsed
                    ? "the base's was used"
                    : file.conflict.map { "the base's could not be put in place: \($0)" }
                        ?? "left out, as the base has none"
                guard file.inRef, file.inMergeBase else { return ["\(file.path): \(verb) by the branch; \(used)"] }
                guard let result = compared[index], result.error == nil else {
                    let why = compared[index]?.error ?? unread ?? "it is not a file whose keys are compared"
                    return ["\(file.path): \(verb) by the branch (\(RuleDifferences.clean(why, 120))); \(used)"]
                }
                return result.changes.map { "\(file.path) \(RuleDifferences.words($0)) (\(used))" }
                    + (truncated ? ["\(file.path): more keys changed than are compared; \(used)"] : [])
            case .sections(let parts):
                guard let result = compared[index], result.error == nil else {
                    let why = compared[index]?.error ?? unread ?? "it is not a file whose keys are compared"
                    return [
                        "\(file.path): \(verb) by the branch, and whether what judges in it changed could not be "
                            + "read (\(RuleDifferences.clean(why, 120))); the branch's file was used"
                    ]
                }
                let unlisted =
                    truncated
                    ? [
                        "\(file.path): more keys changed than are compared, so what judges in it may have changed; "
                            + "the branch's file was used"
                    ] : []
                return result.changes.filter { JudgingFiles.judges(parts, $0.dotted) }.map {
                    "\(file.path) \(RuleDifferences.words($0)) (the branch's file was used)"
                } + unlisted
            }
        }
    }
}
