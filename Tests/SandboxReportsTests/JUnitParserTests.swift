import Testing

@testable import SandboxReports

@Suite struct JUnitParserTests {
    /// pytest 9.2.0: 3 pass, 1 fail, 1 fixture error, 1 skip, 1 xfail.
    @Test(arguments: ["pytest-junit.xml", "pytest-junit-xunit1.xml"])
    func pytest(fixture: String) throws {
        let report = try JUnitParser.parse(try Fixture.bytes(fixture), file: fixture)
        #expect(report.total == 7)
        #expect(report.passed == 3)
        #expect(report.failed == 1)
        #expect(report.errors == 1)
        #expect(report.skipped == 2)
        #expect(report.ran == 5)
        let failure = try #require(report.cases.first { $0.outcome == .failed })
        #expect(failure.name == "test_classify_negative_fails")
        #expect(failure.message == "AssertionError: assert 'negative' == 'zero'")
        let error = try #require(report.cases.first { $0.outcome == .errored })
        #expect(error.message == "failed on setup with \"RuntimeError: could not open resource\"")
        let xfail = try #require(report.cases.first { $0.name == "test_divide_by_zero_xfail" })
        #expect(xfail.outcome == .skipped)
        #expect(xfail.message == "known bug in divide")
    }

    /// A module pytest could not collect is an error, and no test that ran: the
    /// run stopped there, and the one passing test beside it never ran.
    @Test func aCollectionErrorIsAnErrorButNoTestThatRan() throws {
        let report = try JUnitParser.parse(try Fixture.bytes("pytest-collection-error.xml"), file: "junit.xml")
        #expect(report.errors == 1)
        #expect(report.ran == 0)
        let broken = try #require(report.cases.first)
        #expect(broken.collectionError)
        #expect(broken.name == "test_broken")
    }

    @Test func xunit1CarriesFileAndLine() throws {
        let report = try JUnitParser.parse(try Fixture.bytes("pytest-junit-xunit1.xml"), file: "j.xml")
        let failure = try #require(report.cases.first { $0.outcome == .failed })
        #expect(failure.file == "test_calc.py")
        #expect(failure.line != nil)
    }

    /// node 20.20.2 --test: nested describe suites whose `tests` attributes count
    /// suites, not tests; 2 pass, 1 fail, 1 skip, 1 todo.
    @Test func nodeTestNestedSuites() throws {
        let report = try JUnitParser.parse(try Fixture.bytes("node-junit.xml"), file: "node-junit.xml")
        #expect(report.total == 5)
        #expect(report.passed == 2)
        #expect(report.failed == 1)
        #expect(report.skipped == 2)
        let failure = try #require(report.cases.first { $0.outcome == .failed })
        #expect(failure.suite == "mathutil > add")
        #expect(failure.message == "Expected values to be strictly equal:4 !== 5")
        let todo = try #require(report.cases.first { $0.name == "handles NaN" })
        #expect(todo.message == "decide NaN semantics")
    }

    @Test func unwrappedSuiteAndSurefireReruns() throws {
        let xml = """
            <testsuite name="s" tests="3">
              <testcase classname="C" name="stable"/>
              <testcase classname="C" name="flaky"><flakyFailure message="first try"/></testcase>
              <testcase classname="C" name="rerun"><rerunFailure message="once"/></testcase>
              <testcase classname="C" name="broken"><failure message="always"/><rerunFailure message="again"/></testcase>
            </testsuite>
            """
        let report = try JUnitParser.parse(Array(xml.utf8), file: "surefire.xml")
        #expect(report.total == 4)
        #expect(report.passed == 3)
        #expect(report.failed == 1)
        #expect(report.flaky == 2, "reruns that passed are flaky; a case that still failed is failed")
    }

    @Test func declaredErrorsWithoutRecordsStillCount() throws {
        // gotestsum: a package that did not build appears only in the summary.
        let xml = """
            <testsuites tests="1" failures="0" errors="1">
              <testsuite name="ok" tests="1"><testcase classname="ok" name="TestA"/></testsuite>
            </testsuites>
            """
        let report = try JUnitParser.parse(Array(xml.utf8), file: "gotestsum.xml")
        #expect(report.errors == 1)
        #expect(report.unrecordedErrors == 1)
    }

    @Test func summaryAttributesAreNotTrusted() throws {
        let xml = """
            <testsuite tests="100" failures="0" errors="0" skipped="0">
              <testcase name="a"><failure message="boom"/></testcase>
            </testsuite>
            """
        let report = try JUnitParser.parse(Array(xml.utf8), file: "liar.xml")
        #expect(report.total == 1)
        #expect(report.failed == 1)
    }

    @Test func foreignRootIsNamed() {
        #expect(throws: ReportError(file: "x.xml", reason: "not a JUnit report: the root element is <coverage>")) {
            try JUnitParser.parse(Array("<coverage/>".utf8), file: "x.xml")
        }
    }

    /// Suites nested deep with long names: each case carries at most the innermost
    /// 1000 characters of the path, and shares them with its suite's other cases.
    @Test func deepLongSuiteNamesAreBounded() throws {
        let names = (0..<50).map { "suite\($0)" + String(repeating: "n", count: 100) }
        let xml =
            names.map { "<testsuite name=\"\($0)\">" }.joined() + "<testcase name=\"a\"/><testcase name=\"b\"/>"
            + String(repeating: "</testsuite>", count: names.count)
        let report = try JUnitParser.parse(Array(xml.utf8), file: "junit.xml")
        #expect(report.cases.count == 2)
        let suite = try #require(report.cases.first?.suite)
        #expect(suite.count == JUnitParser.maximumSuiteName)
        #expect(suite.hasPrefix("… ") && suite.hasSuffix(" > " + names.last!))
    }
}
