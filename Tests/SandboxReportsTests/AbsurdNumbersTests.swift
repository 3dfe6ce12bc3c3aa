import Testing

@testable import SandboxReports

/// Numbers a hostile step can write into its reports: the most negative and the
/// largest integers, where a count is declared. A reader refuses them, naming
/// the report, or bounds them; none may trap on overflow and take verify down
/// without a verdict.
@Suite struct AbsurdNumbersTests {
    static let extremes = ["-9223372036854775808", "9223372036854775807", "-1"]

    @Test(arguments: extremes)
    func junitDeclaredErrors(value: String) {
        let xml = """
            <testsuites errors="\(value)"><testsuite name="s"><testcase name="a"><error message="x"/></testcase>\
            <testcase name="b"/></testsuite></testsuites>
            """
        #expect(throws: ReportError.self) { try JUnitParser.parse(Array(xml.utf8), file: "junit.xml") }
    }

    @Test func junitDeclaredErrorsWithinReasonStillCount() throws {
        let xml = "<testsuites errors=\"3\"><testsuite name=\"s\"><testcase name=\"a\"/></testsuite></testsuites>"
        #expect(try JUnitParser.parse(Array(xml.utf8), file: "junit.xml").errors == 3)
    }

    @Test(arguments: extremes)
    func trxCounters(value: String) {
        let trx = """
            <TestRun xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010"><Results>\
            <UnitTestResult testName="a" outcome="Failed"/></Results><ResultSummary outcome="Failed">\
            <Counters failed="\(value)" error="\(value)" timeout="\(value)" aborted="\(value)"/></ResultSummary></TestRun>
            """
        #expect(throws: ReportError.self) { try TRXParser.parse(Array(trx.utf8), file: "r.trx") }
    }

    @Test func llvmCovCountsBeyondAnyFile() {
        let json = """
            {"data":[{"files":[
              {"filename":"a.swift","summary":{"lines":{"count":9223372036854775807,"covered":9223372036854775807}}},
              {"filename":"b.swift","summary":{"lines":{"count":9223372036854775807,"covered":1}}}]}]}
            """
        #expect(throws: ReportError.self) { try LLVMCovJSONParser.parse(Array(json.utf8), file: "cov.json") }
    }

    @Test func lineNumbersBeyondAnyFile() {
        let lcov = "SF:a.js\nDA:9223372036854775807,9223372036854775807\nDA:1,18446744073709551615\nend_of_record\n"
        #expect(throws: ReportError.self) { try LcovParser.parse(Array(lcov.utf8), file: "l.info") }
        let python =
            #"{"files":{"a.py":{"executed_lines":[9223372036854775807],"missing_lines":[-9223372036854775808]}}}"#
        #expect(throws: ReportError.self) { try CoveragePyJSONParser.parse(Array(python.utf8), file: "c.json") }
    }

    /// Found by fuzzing (bench/fuzz.sh go-cover): a block whose position is only
    /// a comma trapped on an empty split.
    @Test(arguments: ["x.go:, 1 0", "x.go:,, 1 0", "x.go:. 1 0", "x.go:.,. 1 0"])
    func malformedBlockPositionsAreRefused(block: String) {
        #expect(throws: ReportError.self) {
            try GoCoverProfileParser.parse(Array("mode: set\n\(block)\n".utf8), file: "c.out")
        }
    }

    /// Found by fuzzing (bench/fuzz.sh libtest): a result line whose separator
    /// overlaps "test " trapped on a reversed range.
    @Test func aLibtestLineThatNamesNothingIsSkipped() throws {
        let report = try LibtestParser.parse(Array("test ... ok\ntest a ... ok\n".utf8), file: "t.txt")
        #expect(report.cases.map(\.name) == ["a"])
    }

    @Test func hitCountsSaturate() throws {
        let lcov =
            "SF:a.js\nDA:1,18446744073709551615\nend_of_record\nSF:a.js\nDA:1,18446744073709551615\nend_of_record\n"
        let report = try LcovParser.parse(Array(lcov.utf8), file: "l.info")
        #expect(report.files["a.js"]?.hits[1] == UInt64.max)
        #expect(report.covered == 1)
    }
}
