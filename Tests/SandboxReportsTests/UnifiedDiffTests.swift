import Testing

@testable import SandboxReports

/// The lines a branch adds, from git's own `diff -U0` (Tests/Fixtures/SOURCES.md):
/// by the branch's path, renames by their new name, deletions adding nothing.
@Suite struct UnifiedDiffTests {
    @Test func gitsOwnDiffIsRead() throws {
        let added = try UnifiedDiff.addedLines(try Fixture.bytes("git-diff-U0.txt"))
        #expect(added == ["keep.txt": [2, 4], "naïve file.txt": [1], "renamed.txt": [10]])
    }

    @Test(arguments: [
        "diff --git a/x b/x\n+++ x\n@@ -1 +1 @@\n", "diff --git a/x b/x\n+++ b/x\n@@ -1 +a,b @@\n",
        "diff --git a/x b/x\n+++ b/x\n@@ -1 +9223372036854775807,9 @@\n", "diff --git a/x b/x\n+++ \"b/\\q\"\n",
    ])
    func malformedHeadersAreRefused(diff: String) {
        #expect(throws: ReportError.self) { try UnifiedDiff.addedLines(Array(diff.utf8)) }
    }

    /// A hunk of no lines (a pure deletion) adds none.
    @Test func aDeletionAddsNothing() throws {
        let diff = "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -3,2 +2,0 @@\n-a\n-b\n"
        #expect(try UnifiedDiff.addedLines(Array(diff.utf8)).isEmpty)
    }
}
