/// What git's plumbing prints about a commit's tree, read as untrusted data: the
/// listing of `git ls-tree -r -z --full-tree -l` and the blobs of
/// `git cat-file --batch`. A branch nobody has reviewed chooses every name, mode,
/// size and byte here.
public struct GitTreeEntry: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case file(executable: Bool)
        case symbolicLink
        /// A submodule's commit: checked out as an empty directory, never fetched.
        case submodule
    }
    public var kind: Kind
    public var object: String
    public var path: String

    public init(kind: Kind, object: String, path: String) {
        self.kind = kind
        self.object = object
        self.path = path
    }
}

/// One exported tree: its entries and every blob's bytes.
public struct GitTreeContent: Sendable {
    public var entries: [GitTreeEntry]
    public var blobs: [String: [UInt8]]

    public init(entries: [GitTreeEntry], blobs: [String: [UInt8]]) {
        self.entries = entries
        self.blobs = blobs
    }

    /// Entries and bytes beyond these are refused, not cut: a tree cut short
    /// would be judged as if it were whole.
    public static let maximumEntries = 200_000
    public static let maximumBytes = 512 << 20
}

public enum GitTreeListing {
    /// `mode SP type SP object SP size TAB path NUL`, record after record. Modes git
    /// writes for blobs (100644, 100755, 120000) and submodules (160000) are read;
    /// any other is refused, as is a path git itself would refuse to check out.
    public static func parse(_ bytes: ArraySlice<UInt8>, file: String = "git ls-tree") throws(ReportError)
        -> [GitTreeEntry]
    {
        var entries: [GitTreeEntry] = []
        var paths = Set<String>()
        for record in bytes.split(separator: 0, omittingEmptySubsequences: true) {
            guard entries.count < GitTreeContent.maximumEntries else {
                throw ReportError(file: file, reason: "more than \(GitTreeContent.maximumEntries) entries")
            }
            guard let tab = record.firstIndex(of: UInt8(ascii: "\t")) else {
                throw ReportError(file: file, reason: "a record without a path")
            }
            let fields = record[..<tab].split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true)
            guard fields.count == 4, let path = String(validating: record[(tab + 1)...], as: UTF8.self) else {
                throw ReportError(file: file, reason: "a record that is not mode, type, object, size and path")
            }
            let mode = String(decoding: fields[0], as: UTF8.self)
            let type = String(decoding: fields[1], as: UTF8.self)
            let object = String(decoding: fields[2], as: UTF8.self)
            guard object.count == 40 || object.count == 64, object.allSatisfy(\.isHexDigit) else {
                throw ReportError(file: file, reason: "\(path): \(object) is not an object id")
            }
            let kind: GitTreeEntry.Kind
            switch (mode, type) {
            case ("100644", "blob"), ("100664", "blob"): kind = .file(executable: false)
            case ("100755", "blob"): kind = .file(executable: true)
            case ("120000", "blob"): kind = .symbolicLink
            case ("160000", "commit"): kind = .submodule
            default: throw ReportError(file: file, reason: "\(path): mode \(mode) \(type) is not one git checks out")
            }
            if let problem = GitTreePath.problem(path, isLink: kind == .symbolicLink) {
                throw ReportError(file: file, reason: "\(path): \(problem)")
            }
            guard paths.insert(path).inserted else {
                throw ReportError(file: file, reason: "\(path) is listed twice")
            }
            entries.append(GitTreeEntry(kind: kind, object: object.lowercased(), path: path))
        }
        return entries
    }
}

public enum GitBatch {
    /// `object SP type SP size LF bytes LF`, object after object, as
    /// `git cat-file --batch` answers; an object it lacks is `object SP missing LF`.
    public static func parse(_ bytes: ArraySlice<UInt8>, file: String = "git cat-file") throws(ReportError)
        -> [String: [UInt8]]
    {
        var blobs: [String: [UInt8]] = [:]
        var at = bytes.startIndex
        var total = 0
        while at < bytes.endIndex {
            guard let newline = bytes[at...].firstIndex(of: UInt8(ascii: "\n")) else {
                throw ReportError(file: file, reason: "a header without its end")
            }
            let header = bytes[at..<newline].split(separator: UInt8(ascii: " "))
            let object = String(decoding: header.first ?? [], as: UTF8.self)
            guard header.count == 3, String(decoding: header[1], as: UTF8.self) == "blob",
                let size = Int(String(decoding: header[2], as: UTF8.self)), size >= 0
            else {
                throw ReportError(file: file, reason: "\(object): not a blob's header (missing, or not a blob)")
            }
            guard size <= GitTreeContent.maximumBytes - total else {
                throw ReportError(file: file, reason: "more than \(GitTreeContent.maximumBytes >> 20) MiB of files")
            }
            total += size
            guard size <= bytes.endIndex - newline - 2 else {
                throw ReportError(file: file, reason: "\(object): cut short")
            }
            let start = newline + 1
            guard bytes[start + size] == UInt8(ascii: "\n") else {
                throw ReportError(file: file, reason: "\(object): its bytes do not end where its size says")
            }
            blobs[object.lowercased()] = Array(bytes[start..<(start + size)])
            at = start + size + 1
        }
        return blobs
    }
}

/// The names a tree must not hold: what would leave the tree, and what git itself
/// refuses to check out because a filesystem could take it for `.git` (case folded,
/// with trailing dots or spaces, as an NTFS short name, or with characters HFS+
/// ignores), or a link named for a file git reads (`.gitmodules` and the like).
public enum GitTreePath {
    /// Deeper than any real tree, shallow enough to write and remove without
    /// running out of descriptors or stack.
    public static let maximumDepth = 256
    /// A link's target as long as a path may be (PATH_MAX less its NUL).
    public static let maximumTarget = 4095

    public static func problem(_ path: String, isLink: Bool) -> String? {
        guard !path.isEmpty, !path.hasPrefix("/"), !path.hasSuffix("/") else { return "not a relative path" }
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        guard components.count <= maximumDepth else { return "deeper than \(maximumDepth) directories" }
        for component in components {
            if component.isEmpty || component == "." || component == ".." {
                return "a path that leaves its directory"
            }
            if component.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
                return "a name with control characters"
            }
            if isDotGit(component) { return "a name git treats as .git" }
        }
        if isLink, let last = components.last,
            ["gitmodules", "gitattributes", "gitignore", "mailmap"].contains(where: { folded(last) == "." + $0 })
        {
            return "a symbolic link in place of a file git reads"
        }
        return nil
    }

    /// `.git` as a case-insensitive filesystem, NTFS or HFS+ would see it.
    static func isDotGit(_ name: Substring) -> Bool {
        let name = folded(name)
        if name == "git~1" { return true }
        guard name.hasPrefix(".git") else { return false }
        let rest = name.dropFirst(4)
        // NTFS drops trailing dots and spaces, and ":stream" names the same file.
        return rest.allSatisfy { $0 == "." || $0 == " " } || rest.hasPrefix(":")
    }

    /// Lower-cased, without the code points HFS+ ignores in names.
    static func folded(_ name: Substring) -> String {
        let ignored: Set<UInt32> = [
            0x200C, 0x200D, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E,
            0x206A, 0x206B, 0x206C, 0x206D, 0x206E, 0x206F, 0xFEFF,
        ]
        var kept = String.UnicodeScalarView()
        kept.append(contentsOf: name.unicodeScalars.filter { !ignored.contains($0.value) })
        return String(kept).lowercased()
    }

    /// Where the link at `path` leads within the tree, following the tree's own
    /// links (at most 40, as the kernel does): nil when it leaves the tree, is
    /// absolute, loops, is longer than a path may be, or would cost more of
    /// `budget` (bytes of paths looked up, shared by every link of a tree) than is left.
    public static func resolve(link path: String, target: String, links: [String: String], budget: inout Int)
        -> [Substring]?
    {
        var hops = 0
        return resolve(
            target, from: Array(path.split(separator: "/").dropLast()), links: links, hops: &hops, budget: &budget)
    }

    /// `resolve` with a budget of its own, for one link.
    public static func resolve(link path: String, target: String, links: [String: String]) -> [Substring]? {
        var budget = 1 << 20
        return resolve(link: path, target: target, links: links, budget: &budget)
    }

    static func resolve(
        _ target: String, from directory: [Substring], links: [String: String], hops: inout Int, budget: inout Int
    ) -> [Substring]? {
        hops += 1
        guard hops <= 40, !target.isEmpty, target.utf8.count <= maximumTarget, !target.hasPrefix("/") else {
            return nil
        }
        var current = directory
        // The looked-up path's bytes, kept as it grows and shrinks: no join per component.
        var key = Array(current.joined(separator: "/").utf8)
        for component in target.split(separator: "/") {
            if component == "." { continue }
            if component == ".." {
                guard let last = current.popLast() else { return nil }
                key.removeLast(min(key.count, last.utf8.count + (current.isEmpty ? 0 : 1)))
                continue
            }
            if isDotGit(component) { return nil }
            if !current.isEmpty { key.append(UInt8(ascii: "/")) }
            key += component.utf8
            current.append(component)
            budget -= key.count
            guard budget >= 0 else { return nil }
            if let next = links[String(decoding: key, as: UTF8.self)] {
                guard
                    let resolved = resolve(
                        next, from: Array(current.dropLast()), links: links, hops: &hops, budget: &budget)
                else { return nil }
                current = resolved
                key = Array(current.joined(separator: "/").utf8)
            }
        }
        return current
    }
}
