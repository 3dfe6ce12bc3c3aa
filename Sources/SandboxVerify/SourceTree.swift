import SandboxKernel
public import SandboxPolicy

/// Stage 1, Source: the tree to verify, as far as the plan needs it: where it
/// is, what its root holds, and its `.sandbox.yaml`. Nothing in it is run.
/// (A directory today; git refs later.)
public struct SourceTree: Sendable {
    /// The tree's path, every link of the caller's own resolved; inside the tree
    /// nothing is followed.
    public var path: String
    /// The names at its root, for detecting languages.
    public var rootEntries: [String]
    /// Its `.sandbox.yaml`, read without following links, if it has one.
    public var override: RepositoryOverride?

    /// Reads the directory at `given`.
    public static func directory(_ given: String) throws(VerifyError) -> SourceTree {
        guard HostProbe.isDirectory(given) else { throw .usage("\(given) is not a directory") }
        let path: String
        do {
            path = try HostProbe.resolve(given, role: "tree")
        } catch {
            throw .usage("\(given): \(error)")
        }
        guard let entries = HostProbe.directoryEntries(path) else { throw .usage("\(given) is not a directory") }
        return SourceTree(path: path, rootEntries: entries, override: try readOverride(path))
    }

    static func readOverride(_ tree: String) throws(VerifyError) -> RepositoryOverride? {
        let path = tree + "/.sandbox.yaml"
        let bytes: [UInt8]?
        do {
            bytes = try Descriptor.readUntrustedFile(path, limit: RepositoryOverride.maximumBytes)
        } catch {
            throw .usage(".sandbox.yaml: \(error)")
        }
        guard let bytes else { return nil }
        do throws(PolicyError) {
            return try PolicyParser.repositoryOverride(bytes, file: ".sandbox.yaml")
        } catch {
            throw .policy([error])
        }
    }
}
