import Foundation
import SandboxKernel
import SandboxReports
import Testing

@testable import SandboxVerify

/// A commit's tree as `ExportedTree` writes it, from what git's plumbing gave:
/// files with their modes, submodules as empty directories, links kept only where
/// they lead inside the tree; and nothing left behind once it is removed, links
/// not followed.
@Suite struct ExportedTreeTests {
    static func object(_ n: Int) -> String { String(repeating: "\(n % 10)", count: 40) }

    @Test func aTreeIsWrittenAsGitHasIt() throws {
        let content = GitTreeContent(
            entries: [
                GitTreeEntry(kind: .file(executable: false), object: Self.object(1), path: "src/app.py"),
                GitTreeEntry(kind: .file(executable: true), object: Self.object(2), path: "bin/run"),
                GitTreeEntry(kind: .submodule, object: Self.object(3), path: "vendor/lib"),
                GitTreeEntry(kind: .symbolicLink, object: Self.object(4), path: "src/inside"),
                GitTreeEntry(kind: .symbolicLink, object: Self.object(5), path: "escape"),
                GitTreeEntry(kind: .symbolicLink, object: Self.object(6), path: "bytes"),
            ],
            blobs: [
                Self.object(1): Array("print(1)\n".utf8), Self.object(2): Array("#!/bin/sh\n".utf8),
                Self.object(4): Array("app.py".utf8), Self.object(5): Array("../../etc/passwd".utf8),
                Self.object(6): [0xff, 0xfe],
            ])
        let export = try ExportedTree(content, commit: "c")
        defer { export.remove() }
        let root = URL(fileURLWithPath: export.path)
        #expect(try String(contentsOf: root.appendingPathComponent("src/app.py"), encoding: .utf8) == "print(1)\n")
        var info = stat()
        #expect(stat(root.appendingPathComponent("bin/run").path, &info) == 0 && info.st_mode & 0o777 == 0o755)
        #expect(stat(root.appendingPathComponent("src/app.py").path, &info) == 0 && info.st_mode & 0o777 == 0o644)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("vendor/lib").path) == [])
        #expect(
            try FileManager.default.destinationOfSymbolicLink(atPath: root.appendingPathComponent("src/inside").path)
                == "app.py")
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("escape").path))
        #expect(
            (try? FileManager.default.destinationOfSymbolicLink(atPath: root.appendingPathComponent("bytes").path))
                == nil)
        #expect(export.notes == ["left out of the export: 2 symbolic links leading out of the tree (escape, bytes)"])
    }

    @Test func removingTheExportFollowsNoLink() throws {
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("kept-\(UUID().uuidString)")
        try "keep".write(to: outside, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: outside) }
        let content = GitTreeContent(
            entries: [GitTreeEntry(kind: .file(executable: false), object: Self.object(1), path: "a/b/c.txt")],
            blobs: [Self.object(1): Array("x".utf8)])
        let export = try ExportedTree(content, commit: "c")
        // A link planted after the writing, as if the tree had held one: removing
        // the export removes the link, not what it names.
        try FileManager.default.createSymbolicLink(
            atPath: export.path + "/a/planted", withDestinationPath: outside.path)
        export.remove()
        #expect(!FileManager.default.fileExists(atPath: export.parent))
        #expect(FileManager.default.fileExists(atPath: outside.path))
    }

    @Test func aBlobGitDidNotGiveIsAnError() {
        let content = GitTreeContent(
            entries: [GitTreeEntry(kind: .file(executable: false), object: Self.object(1), path: "a.txt")], blobs: [:])
        #expect(throws: VerifyError.self) { try ExportedTree(content, commit: "c") }
    }

    /// What is not a repository, or is one through a link or a linked worktree,
    /// is refused before anything runs.
    @Test func notARepositoryIsRefusedFirst() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("repo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let runner = UncontainedRunner()
        #expect(throws: VerifyError.self) { try GitExport(repository: directory.path, runner: runner) }
        try "gitdir: /elsewhere\n".write(
            to: directory.appendingPathComponent(".git"), atomically: true, encoding: .utf8)
        do {
            _ = try GitExport(repository: directory.path, runner: runner)
            Issue.record("a .git file was taken for a repository")
        } catch {
            #expect("\(error)".contains("linked worktree"), "\(error)")
        }
        try FileManager.default.removeItem(at: directory.appendingPathComponent(".git"))
        for name in ["objects", "refs"] {
            try FileManager.default.createDirectory(
                at: directory.appendingPathComponent(".git/" + name), withIntermediateDirectories: true)
        }
        try FileManager.default.createSymbolicLink(
            atPath: directory.appendingPathComponent(".git/packed-refs").path, withDestinationPath: "/etc/passwd")
        do {
            _ = try GitExport(repository: directory.path, runner: runner)
            Issue.record("a linked packed-refs was mounted")
        } catch {
            #expect("\(error)".contains("packed-refs is a symbolic link"), "\(error)")
        }
        #expect(GitExport.isObject(String(repeating: "a", count: 40)) && !GitExport.isObject("HEAD"))
    }
}
