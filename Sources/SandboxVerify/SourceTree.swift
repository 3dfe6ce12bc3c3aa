import SandboxKernel
public import SandboxPolicy

/// Stage 1, Source: the tree to verify, as far as the plan needs it: where it
/// is, what its root holds, its `.sandbox.yaml`, and the tools its CI says it
/// runs. Nothing in it is run.
/// (A directory today; git refs later.)
public struct SourceTree: Sendable {
    /// The tree's path, every link of the caller's own resolved; inside the tree
    /// nothing is followed.
    public var path: String
    /// The names at its root, for detecting languages.
    public var rootEntries: [String]
    /// Its `.sandbox.yaml`, read without following links, if it has one.
    public var override: RepositoryOverride?
    /// The tools its CI and configuration files say it runs.
    public var declarations = ProjectDeclarations()

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
        var tree = SourceTree(path: path, rootEntries: entries, override: try readOverride(path))
        tree.declarations = readDeclarations(path, rootEntries: entries)
        return tree
    }

    /// The files `ProjectDeclarations` reads, each opened without following links
    /// and bounded; one that cannot be read (too large, a link, not a file)
    /// declares nothing.
    static func readDeclarations(_ tree: String, rootEntries: [String]) -> ProjectDeclarations {
        let workflows = Descriptor.untrustedDirectoryEntries(tree + "/" + ProjectDeclarations.workflowDirectory) ?? []
        // Files only, before the bound: directories named like workflows cannot push
        // the real ones out.
        let paths =
            workflows.filter {
                ($0.hasSuffix(".yml") || $0.hasSuffix(".yaml"))
                    && HostProbe.isPlainFile(tree + "/" + ProjectDeclarations.workflowDirectory + "/" + $0)
            }
            .prefix(ProjectDeclarations.maximumWorkflows)
            .map { ProjectDeclarations.workflowDirectory + "/" + $0 }
            + ProjectDeclarations.configurationFiles.filter(rootEntries.contains)
        let files = paths.compactMap { path -> (path: String, bytes: [UInt8])? in
            guard
                let bytes = try? Descriptor.readUntrustedFile(
                    tree + "/" + path, limit: ProjectDeclarations.maximumFileBytes)
            else { return nil }
            return (path, bytes)
        }
        let markers = ProjectDeclarations.markerFiles.keys.filter {
            rootEntries.contains($0) && Descriptor.existsRefusingLinks(tree + "/" + $0)
        }
        return ProjectDeclarations.read(files: files, present: markers)
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
