import Foundation
import SandboxReports
import Testing

/// Tar archives as GNU tar writes them, and OCI layouts as umoci writes them.
struct TarReaderTests {
    static let directory =
        "a-directory-whose-name-is-long-enough-to-need-more-than-one-hundred-bytes-in-total"

    @Test(arguments: ["gnu-tar-pax.tar", "gnu-tar-gnu.tar"])
    func longNamesLinksAndContentsAreRead(fixture: String) throws {
        let bytes = try Fixture.bytes(fixture)
        var offset = 0
        var reader = TarReader { count in
            let end = min(bytes.count, offset + count)
            defer { offset = end }
            return Array(bytes[offset..<end])
        }
        var seen: [String: TarEntry] = [:]
        var contents: [String: String] = [:]
        while let entry = try reader.next() {
            let path = entry.path.hasPrefix("./") ? String(entry.path.dropFirst(2)) : entry.path
            seen[path] = entry
            if entry.kind == .file { contents[path] = String(decoding: try reader.content(), as: UTF8.self) }
        }
        let file = Self.directory + "/inner/file-with-a-long-name.txt"
        #expect(seen[file]?.kind == .file)
        #expect(seen[file]?.mode == 0o644)
        #expect(contents[file] == "hello\n")
        #expect(seen[Self.directory + "/link"]?.kind == .symlink)
        #expect(seen[Self.directory + "/link"]?.linkTarget == "inner/file-with-a-long-name.txt")
        #expect(seen["hard"]?.kind == .hardLink)
        #expect(seen["hard"].map { $0.linkTarget.hasSuffix(file) } == true)
        #expect(seen[".wh-dir/.wh..wh..opq"]?.kind == .file)
        #expect(seen.values.contains { $0.kind == .directory && $0.path.hasSuffix("inner/") })
    }

    /// A header that does not add up, or an archive cut short, is an error, never a guess.
    @Test func brokenArchivesAreRefused() throws {
        let bytes = try Fixture.bytes("gnu-tar-pax.tar")
        var flipped = bytes
        flipped[10] ^= 0x01
        #expect(throws: ReportError.self) { try TarReader.entries(of: flipped) }
        #expect(throws: ReportError.self) { try TarReader.entries(of: Array(bytes.prefix(700))) }
        var badSize = bytes
        for index in 124..<136 { badSize[index] = UInt8(ascii: "9") }
        #expect(throws: ReportError.self) { try TarReader.entries(of: badSize) }
        #expect(try TarReader.entries(of: []).isEmpty)
        #expect(try TarReader.entries(of: [UInt8](repeating: 0, count: 1024)).isEmpty)
        #expect(throws: ReportError.self) { try TarReader.entries(of: bytes, limit: 2) }
    }

    @Test func umocisIndexAndManifestAreRead() throws {
        let manifests = try OCILayout.manifests(ofIndex: try Fixture.bytes("umoci-index.json"))
        #expect(manifests.count == 1)
        #expect(manifests[0].referenceName == "mini")
        #expect(manifests[0].sha256?.count == 64)
        let layers = try OCILayout.layers(ofManifest: try Fixture.bytes("umoci-manifest.json"), file: "manifest")
        #expect(layers.map(\.mediaType) == ["application/vnd.oci.image.layer.v1.tar+gzip"])
        #expect(layers[0].size == 1_114_073)
        try OCILayout.checkVersion(Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8))

        let badDigest = #"{"schemaVersion":2,"manifests":[{"mediaType":"x","digest":"sha256:../../etc","size":1}]}"#
        #expect(throws: ReportError.self) { try OCILayout.manifests(ofIndex: Array(badDigest.utf8)) }
        let foreign = String(decoding: try Fixture.bytes("umoci-manifest.json"), as: UTF8.self)
            .replacingOccurrences(of: "tar+gzip", with: "tar+lz4")
        #expect(throws: ReportError.self) { try OCILayout.layers(ofManifest: Array(foreign.utf8), file: "m") }
        #expect(throws: ReportError.self) { try OCILayout.checkVersion(Array(#"{"imageLayoutVersion":"2"}"#.utf8)) }
    }
}
