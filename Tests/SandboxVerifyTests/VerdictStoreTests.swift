import Foundation
import Glibc
import Testing

@testable import SandboxVerify

/// The verdict store keeps a base's line coverage by tree and fingerprint, in
/// a directory of this user's own; what it cannot trust it does not read.
@Suite struct VerdictStoreTests {
    static func scratch() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID())").path
        return path
    }

    static let tree = String(repeating: "ab", count: 20)

    @Test func anEntryIsKeptAndFoundByTreeAndFingerprint() throws {
        let root = Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = VerdictStore(directory: root + "/sandbox/verdicts")
        #expect(store.entry(tree: Self.tree, fingerprint: "0123456789abcdef") == nil)
        try store.keep(.init(tree: Self.tree, fingerprint: "0123456789abcdef", lineCoverage: 81.25))
        #expect(store.entry(tree: Self.tree, fingerprint: "0123456789abcdef")?.lineCoverage == 81.25)
        #expect(store.entry(tree: Self.tree, fingerprint: "fedcba9876543210") == nil, "another fingerprint")
        try store.keep(.init(tree: Self.tree, fingerprint: "0123456789abcdef", lineCoverage: nil))
        let replaced = try #require(store.entry(tree: Self.tree, fingerprint: "0123456789abcdef"))
        #expect(replaced.lineCoverage == nil, "kept anew, whole")
        var info = stat()
        #expect(stat(store.directory, &info) == 0 && info.st_mode & 0o777 == 0o700)
        let names = try FileManager.default.contentsOfDirectory(atPath: store.directory)
        #expect(names == ["\(Self.tree)-0123456789abcdef.json"], "no partial file left")
    }

    @Test func whatCannotBeTrustedIsNotRead() throws {
        let root = Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = VerdictStore(directory: root)
        try store.keep(.init(tree: Self.tree, fingerprint: "00", lineCoverage: 90))
        let path = try #require(store.path(tree: Self.tree, fingerprint: "00"))
        try Data("{\"tree\": 1".utf8).write(to: URL(fileURLWithPath: path))
        #expect(store.entry(tree: Self.tree, fingerprint: "00") == nil, "a corrupt entry is no entry")
        try store.keep(.init(tree: Self.tree, fingerprint: "00", lineCoverage: 90))
        chmod(root, 0o777)
        #expect(store.entry(tree: Self.tree, fingerprint: "00") == nil, "a directory others may write")
        #expect(throws: (any Error).self) { try store.keep(.init(tree: Self.tree, fingerprint: "00", lineCoverage: 1)) }
        #expect(store.path(tree: "../x", fingerprint: "00") == nil)
        #expect(store.path(tree: Self.tree, fingerprint: "0/../1") == nil)
    }

    @Test func theFingerprintFollowsEveryTrustedFile() {
        let files = [("policies/python.yaml", "a"), ("images/python.yaml", "b")]
        let fingerprint = TrustedPolicies.fingerprint(files)
        #expect(fingerprint.count == 16 && VerdictStore.isName(fingerprint))
        #expect(TrustedPolicies.fingerprint(files.reversed()) == fingerprint, "in name order")
        #expect(
            TrustedPolicies.fingerprint([("policies/python.yaml", "a"), ("images/python.yaml", "c")]) != fingerprint)
        #expect(
            TrustedPolicies.fingerprint([("policies/python.yaml", "ab"), ("images/python.yaml", "")]) != fingerprint)
    }
}
