import SandboxPolicy
import SandboxReports

/// The stage after the export when verify judges a branch against a base: the
/// branch is judged by the base's rules. Pure: it compares three trees' entries.
///
/// - A file that only configures the tools that judge (`JudgingFiles.configuration`)
///   is the base's in the working copy, whatever the branch did to it.
/// - A file shared with other purposes (`sections`) stays the branch's; what the
///   branch changed in the parts that judge is shown.
/// - A file that runs as code inside those tools (`code`) stays the branch's; that
///   the branch changed it is shown.
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
    }

    /// `base` and `mergeBase` need only hold the judging files' entries, with the
    /// bytes of those that are not code.
    init(ref: GitTreeContent, base: GitTreeContent, mergeBase: GitTreeContent, judging: JudgingFiles) {
        content = ref
        let refEntries = Dictionary(ref.entries.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        let baseEntries = Dictionary(base.entries.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        let mergeEntries = Dictionary(mergeBase.entries.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        let paths = Set(refEntries.keys).union(baseEntries.keys).union(mergeEntries.keys)
        var removed = Set<String>()
        var added: [GitTreeEntry] = []
        for path in paths.sorted() {
            guard let role = judging.role(of: path) else { continue }
            let mine = refEntries[path]
            let theirs = baseEntries[path]
            let before = mergeEntries[path]
            let branchChanged = !Self.same(mine, before) && !Self.same(mine, theirs)
            var file = ChangedFile(
                path: path, role: role, old: before.flatMap { mergeBase.blobs[$0.object] },
                new: mine.flatMap { ref.blobs[$0.object] }, inMergeBase: before != nil, inRef: mine != nil,
                baseUsed: false)
            if role == .configuration, !Self.same(mine, theirs) {
                if mine != nil { removed.insert(path) }
                if let theirs, let bytes = base.blobs[theirs.object] {
                    if let clash = Self.clash(path, with: ref.entries) {
                        file.conflict = "the branch has \(clash) where it goes"
                    } else {
                        added.append(theirs)
                        content.blobs[theirs.object] = bytes
                        file.baseUsed = true
                    }
                }
            } else if role == .configuration {
                file.baseUsed = theirs != nil
            }
            if branchChanged { changed.append(file) }
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
    static func form(of path: String) -> String? {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        if name.hasSuffix(".toml") { return "toml" }
        if name.hasSuffix(".json") || [".eslintrc", ".c8rc", ".nycrc", ".babelrc"].contains(name) { return "json" }
        let ini = [".coveragerc", ".flake8", ".pylintrc", "pylintrc", ".pydocstyle", ".editorconfig"]
        if name.hasSuffix(".cfg") || name.hasSuffix(".ini") || ini.contains(name) { return "ini" }
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
            case .sections(let parts):
                guard let result = compared[index], result.error == nil else {
                    let why = compared[index]?.error ?? unread ?? "it is not a file whose keys are compared"
                    return [
                        "\(file.path): \(verb) by the branch, and whether what judges in it changed could not be "
                            + "read (\(RuleDifferences.clean(why, 120))); the branch's file was used"
                    ]
                }
                return result.changes.filter { JudgingFiles.judges(parts, $0.dotted) }.map {
                    "\(file.path) \(RuleDifferences.words($0)) (the branch's file was used)"
                }
            }
        }
    }
}
