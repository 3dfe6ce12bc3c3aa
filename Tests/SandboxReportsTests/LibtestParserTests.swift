import Testing

@testable import SandboxReports

@Suite struct LibtestParserTests {
    /// cargo 1.95.0: libtest's own summary says 2 passed, 1 failed, 1 ignored.
    @Test func cargoTestOutput() throws {
        let report = try LibtestParser.parse(try Fixture.bytes("cargo-test.txt"), file: "stdout")
        #expect(report.total == 4)
        #expect(report.passed == 2)
        #expect(report.failed == 1)
        #expect(report.skipped == 1)
        let failure = try #require(report.cases.first { $0.outcome == .failed })
        #expect(failure.name == "tests::wrong_on_purpose")
        #expect(failure.message == "assertion `left == right` failed: two doubled")
        #expect(report.cases.first { $0.name == "tests::slow" }?.message == "slow")
        #expect(report.cases.contains { $0.name == "tests::panics" && $0.outcome == .passed })
    }

    @Test func crlfAndDocTests() throws {
        let text =
            "test src/lib.rs - add (line 3) ... FAILED\r\ntest a ... ok\r\n\r\n---- src/lib.rs - add (line 3) stdout ----\r\nboom\r\n"
        let report = try LibtestParser.parse(Array(text.utf8), file: "stdout")
        #expect(report.cases.map(\.name) == ["src/lib.rs - add (line 3)", "a"])
        #expect(report.cases.first?.message == "boom")
        let diagnostics = try DiagnosticsParser.parse(
            Array("a.c:1:2: warning: w\r\nb.c:3:4: error: e\r\n".utf8), file: "d", tool: "cc")
        #expect(diagnostics.findings.map(\.file) == ["a.c", "b.c"])
        #expect(diagnostics.findings.map(\.message) == ["w", "e"])
    }
}
