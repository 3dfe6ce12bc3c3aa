import Testing

@testable import SandboxReports

/// What git's plumbing prints about an untrusted branch's tree, read as data:
/// names git itself refuses to check out are refused, links that lead out of
/// the tree are found, and no size or count can overrun.
@Suite struct GitObjectsTests {
    static let blob = "d8c837d3f1d9c46f8d9b1ff1036b083cf7e2c9e1"

    static func listing(_ records: [(mode: String, type: String, path: String)]) -> ArraySlice<UInt8> {
        ArraySlice(records.flatMap { Array("\($0.mode) \($0.type) \(blob)     12\t\($0.path)".utf8) + [0] })
    }

    /// git's own output (Tests/Fixtures/SOURCES.md): every entry, every blob, and
    /// the one link that leads out of the tree found.
    @Test func gitsOwnOutputIsRead() throws {
        let entries = try GitTreeListing.parse(try Fixture.bytes("git-ls-tree.bin")[...])
        let blobs = try GitBatch.parse(try Fixture.bytes("git-cat-file.txt")[...])
        #expect(entries.map(\.path) == ["calc.py", "escape", "inside", "pyproject.toml", "test_calc.py"])
        #expect(Set(entries.map(\.object)) == Set(blobs.keys))
        let links = Dictionary(
            uniqueKeysWithValues: entries.filter { $0.kind == .symbolicLink }.map {
                ($0.path, String(decoding: blobs[$0.object] ?? [], as: UTF8.self))
            })
        #expect(links == ["escape": "../../etc/passwd", "inside": "calc.py"])
        #expect(GitTreePath.resolve(link: "escape", target: links["escape"]!, links: links) == nil)
        #expect(GitTreePath.resolve(link: "inside", target: links["inside"]!, links: links) == ["calc.py"])
    }

    @Test func aListingIsReadRecordByRecord() throws {
        let entries = try GitTreeListing.parse(
            Self.listing([
                ("100644", "blob", "calc.py"), ("100755", "blob", "bin/run"), ("120000", "blob", "link"),
                ("160000", "commit", "vendor/lib"),
            ]))
        #expect(entries.map(\.kind) == [.file(executable: false), .file(executable: true), .symbolicLink, .submodule])
        #expect(entries.map(\.path) == ["calc.py", "bin/run", "link", "vendor/lib"])
    }

    /// The names git refuses (verify_path): what a case-insensitive filesystem,
    /// NTFS or HFS+ would take for .git, and paths that leave their directory.
    @Test(arguments: [
        ".git/hooks/post-checkout", "a/.GIT/config", ".git./x", ".git /x", "GIT~1/config", ".g\u{200C}it/x",
        ".git:stream/x", "a/../b", "./a", "/etc/passwd", "a//b", "a/\u{1B}[2J",
    ])
    func namesGitRefusesAreRefused(path: String) {
        #expect(throws: ReportError.self) { try GitTreeListing.parse(Self.listing([("100644", "blob", path)])) }
    }

    @Test func aTreeDeeperThanAnyRealOneIsRefused() {
        let deep = Array(repeating: "d", count: GitTreePath.maximumDepth).joined(separator: "/") + "/f"
        #expect(throws: ReportError.self) { try GitTreeListing.parse(Self.listing([("100644", "blob", deep)])) }
    }

    /// Links made to be slow to follow cost a bounded amount: one longer than a
    /// path may be is refused, and a tree's budget once spent refuses the rest.
    @Test func followingLinksIsBounded() {
        let long = String(repeating: "a/", count: 2048) + "b"
        #expect(GitTreePath.resolve(link: "x", target: long, links: [:]) == nil)
        var budget = 1000
        let target = String(repeating: "a/", count: 200) + "b"
        #expect(GitTreePath.resolve(link: "x", target: target, links: [:], budget: &budget) == nil)
        #expect(budget < 0)
    }

    @Test func namesNearDotGitAreKept() throws {
        let paths = [".github/workflows/ci.yml", ".gitignore", "a.git", "git", ".gitx/y"]
        #expect(try GitTreeListing.parse(Self.listing(paths.map { ("100644", "blob", $0) })).map(\.path) == paths)
    }

    @Test func aLinkInPlaceOfAFileGitReadsIsRefused() {
        #expect(throws: ReportError.self) {
            try GitTreeListing.parse(Self.listing([("120000", "blob", "sub/.GITMODULES")]))
        }
    }

    @Test(arguments: ["040000 tree", "100666 blob", "120000 commit", "000000 blob"])
    func modesGitDoesNotCheckOutAreRefused(modeAndType: String) {
        let parts = modeAndType.split(separator: " ").map(String.init)
        #expect(throws: ReportError.self) { try GitTreeListing.parse(Self.listing([(parts[0], parts[1], "x")])) }
    }

    @Test func aPathListedTwiceIsRefused() {
        #expect(throws: ReportError.self) {
            try GitTreeListing.parse(Self.listing([("100644", "blob", "a"), ("100644", "blob", "a")]))
        }
    }

    @Test func blobsAreReadBySize() throws {
        let stream = Array("\(Self.blob) blob 5\nab\ncd\n".utf8)
        #expect(try GitBatch.parse(stream[...]) == [Self.blob: Array("ab\ncd".utf8)])
    }

    @Test(arguments: [
        "\(blob) blob 9223372036854775807\nx\n", "\(blob) blob -1\n\n", "\(blob) missing\n",
        "\(blob) tree 3\nabc\n", "\(blob) blob 3\nab", "\(blob) blob 2\nabc\n",
    ])
    func absurdOrShortBlobsAreRefused(stream: String) {
        #expect(throws: ReportError.self) { try GitBatch.parse(Array(stream.utf8)[...]) }
    }

    /// Links are followed through the tree's own links, as the kernel would:
    /// one that is inside by its own text but leaves through another is found.
    @Test func linksAreResolvedThroughTheTreesOwnLinks() {
        let links = ["d/b": "..", "d/a": "b/..", "d/c": "b/calc.py", "loop": "loop", "up": "../x", "abs": "/etc"]
        #expect(GitTreePath.resolve(link: "d/c", target: "b/calc.py", links: links) == ["calc.py"])
        #expect(GitTreePath.resolve(link: "d/b", target: "..", links: links) == [])
        #expect(GitTreePath.resolve(link: "d/a", target: "b/..", links: links) == nil, "d/b is the root: .. leaves")
        #expect(GitTreePath.resolve(link: "loop", target: "loop", links: links) == nil)
        #expect(GitTreePath.resolve(link: "up", target: "../x", links: links) == nil)
        #expect(GitTreePath.resolve(link: "abs", target: "/etc", links: links) == nil)
        #expect(GitTreePath.resolve(link: "g", target: ".git/hooks", links: links) == nil)
    }
}
