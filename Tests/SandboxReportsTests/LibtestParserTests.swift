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
}
