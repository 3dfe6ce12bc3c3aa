import SandboxImage
import SandboxKernel

/// What verifications of base trees found, kept so that the next branch judged
/// against the same base reuses it: one small file per base tree and
/// fingerprint (the trusted policies and images, and this executable), in a
/// directory of this user's own: `/var/lib/sandbox/verdicts` for root,
/// `$XDG_DATA_HOME/sandbox/verdicts` (else `~/.local/share/...`) otherwise.
/// An entry that cannot be read is no entry: the base is verified again.
struct VerdictStore {
    let directory: String

    struct Entry: Codable, Equatable {
        /// The base's tree id, as git names it.
        var tree: String
        var fingerprint: String
        /// The base's line coverage, nil where it was not measured.
        var lineCoverage: Double?
    }

    static let maximumEntryBytes = 1 << 16

    /// The store of this user; nil where it has no home to keep one in.
    static func standard() -> VerdictStore? {
        StoreDirectory.standard("verdicts").map(VerdictStore.init(directory:))
    }

    /// Names are ids and fingerprints of hex digits only.
    static func isName(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 64 && text.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    func path(tree: String, fingerprint: String) -> String? {
        guard Self.isName(tree), Self.isName(fingerprint) else { return nil }
        return directory + "/" + tree + "-" + fingerprint + ".json"
    }

    /// The entry kept for this tree and fingerprint, if one was.
    func entry(tree: String, fingerprint: String) -> Entry? {
        guard let path = path(tree: tree, fingerprint: fingerprint), StoreDirectory.isOwn(directory),
            let entry = StoreDirectory.readJSON(Entry.self, from: path, limit: Self.maximumEntryBytes),
            entry.tree == tree, entry.fingerprint == fingerprint,
            entry.lineCoverage.map({ (0...100).contains($0) }) ?? true
        else { return nil }
        return entry
    }

    /// Keeps `entry`, written whole under another name and then renamed into place.
    func keep(_ entry: Entry) throws(SystemError) {
        guard let path = path(tree: entry.tree, fingerprint: entry.fingerprint) else {
            throw SystemError("keep", errno: nil, path: directory, hint: "not a tree id and fingerprint")
        }
        try StoreDirectory.make(directory, purpose: "keep")
        try StoreDirectory.writeJSON(entry, to: path)
    }
}
