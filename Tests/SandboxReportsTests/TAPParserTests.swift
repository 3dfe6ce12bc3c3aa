import Testing

@testable import SandboxReports

/// TAP as Spectre prints it (`SPECTRE_REPORTER=tap`), and the protocol's other
/// forms: directives, plans, bail-outs, subtests, and what is not TAP at all.
@Suite struct TAPParserTests {
    @Test func spectresTAPIsEveryTest() throws {
        let report = try TAPParser.parse(try Fixture.bytes("spectre-tap.txt"), file: "tests.tap")
        #expect(report.total == 65)
        #expect(report.failed == 1 && report.skipped == 5 && report.passed == 59)
        #expect(report.ran == 60)
        let failed = try #require(report.cases.first { $0.outcome == .failed })
        #expect(failed.name == "PathKit provides the system separator")
        #expect(failed.message == "/ is not equal to \\ from PathKitSpec.swift:20")
        let skipped = try #require(report.cases.first { $0.outcome == .skipped })
        #expect(skipped.name == "PathKit symlinking can create a relative symlink in the same directory")
        #expect(report.unrecordedErrors == 0)
    }

    @Test func directivesPlansAndBailOuts() throws {
        let text = """
            TAP version 13
            ok 1 - adds # SKIP no network
            not ok 2 - parses # TODO not yet
            ok 3 parses quickly # todo done early
                not ok 1 - a subtest's own line
            not ok 4
            ok
            1..7
            Bail out! the database went away
            """
        let report = try TAPParser.parse(Array(text.utf8), file: "t")
        #expect(report.cases.map(\.name) == ["adds", "parses", "parses quickly", "", ""])
        #expect(report.cases.map(\.outcome) == [.skipped, .skipped, .passed, .failed, .passed])
        #expect(report.unrecordedErrors == 3, "two planned tests never reported, and the bail-out")
        #expect(try TAPParser.parse(Array("1..0 # SKIP XCTest ran".utf8), file: "t").total == 0)
    }

    @Test(arguments: ["", "Test Suite 'All tests' passed\n", "okay 1\n1..x\n", "1..99999999999999999999\n"])
    func whatIsNotTAPIsRefused(text: String) {
        #expect(throws: ReportError.self) { _ = try TAPParser.parse(Array(text.utf8), file: "t") }
    }
}
