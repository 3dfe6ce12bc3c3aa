import Testing

@testable import SandboxReports

/// TRX, the format `dotnet test --logger trx` writes. No .NET SDK can be installed
/// on this machine, so these inputs are written by hand after the structure of
/// vstest's TRX logger (namespace TeamTest/2010; results joined to definitions by
/// testId; MSTest data rows as inner results), not captured from a real run:
/// Tests/Fixtures holds captured output only. A captured file belongs there once
/// a machine with the SDK can make one.
@Suite struct TRXParserTests {
    static let header = """
        <?xml version="1.0" encoding="utf-8"?>
        <TestRun id="6a2f" name="ci@host 2026-11-27 09:00:00" runUser="ci" \
        xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">
          <Times creation="2026-11-27T09:00:00" queuing="2026-11-27T09:00:00" start="2026-11-27T09:00:00" \
        finish="2026-11-27T09:00:01" />
        """

    static func unitTest(_ id: String, className: String, name: String) -> String {
        """
            <UnitTest name="\(name)" storage="/workspace/Calc.Tests/bin/Debug/net8.0/Calc.Tests.dll" id="\(id)">
              <Execution id="e-\(id)" />
              <TestMethod codeBase="/workspace/Calc.Tests/bin/Debug/net8.0/Calc.Tests.dll" \
        adapterTypeName="executor://xunit/VsTestRunner2/netcoreapp" className="\(className)" name="\(name)" />
            </UnitTest>
        """
    }

    static let xunitRun = """
        \(header)
          <Results>
            <UnitTestResult executionId="e-1" testId="1" testName="Calc.Tests.CalculatorTests.AddsTwoNumbers" \
        computerName="host" duration="00:00:00.0031200" outcome="Passed" testListId="l" />
            <UnitTestResult executionId="e-2" testId="2" testName="Calc.Tests.CalculatorTests.DividesByZero" \
        computerName="host" duration="00:00:00.0120000" outcome="Failed" testListId="l">
              <Output>
                <ErrorInfo>
                  <Message>Assert.Equal() Failure: Values differ
        Expected: 0
        Actual:   1</Message>
                  <StackTrace>   at Calc.Tests.CalculatorTests.DividesByZero() in \
        /workspace/Calc.Tests/CalculatorTests.cs:line 21
           at System.RuntimeMethodHandle.InvokeMethod(Object target, Void** arguments)</StackTrace>
                </ErrorInfo>
              </Output>
            </UnitTestResult>
            <UnitTestResult executionId="e-3" testId="3" testName="Calc.Tests.CalculatorTests.LaterFeature" \
        computerName="host" duration="00:00:00" outcome="NotExecuted" testListId="l">
              <Output><ErrorInfo><Message>not written yet</Message></ErrorInfo></Output>
            </UnitTestResult>
            <UnitTestResult executionId="e-4" testId="4" testName="Calc.Tests.CalculatorTests.SlowOne" \
        computerName="host" duration="00:00:05" outcome="Timeout" testListId="l" />
          </Results>
          <TestDefinitions>
        \(unitTest("1", className: "Calc.Tests.CalculatorTests", name: "AddsTwoNumbers"))
        \(unitTest("2", className: "Calc.Tests.CalculatorTests", name: "DividesByZero"))
        \(unitTest("3", className: "Calc.Tests.CalculatorTests", name: "LaterFeature"))
        \(unitTest("4", className: "Calc.Tests.CalculatorTests", name: "SlowOne"))
          </TestDefinitions>
          <ResultSummary outcome="Failed">
            <Counters total="4" executed="3" passed="1" failed="1" error="0" timeout="1" aborted="0" \
        inconclusive="0" passedButRunAborted="0" notRunnable="0" notExecuted="1" disconnected="0" warning="0" \
        completed="0" inProgress="0" pending="0" />
          </ResultSummary>
        </TestRun>
        """

    @Test func outcomesJoinedToTheirDefinitions() throws {
        let report = try TRXParser.parse(Array(Self.xunitRun.utf8), file: "results.trx")
        #expect(report.total == 4)
        #expect(report.passed == 1)
        #expect(report.failed == 1)
        #expect(report.errors == 1, "a timeout is an error")
        #expect(report.skipped == 1)
        #expect(report.unrecordedErrors == 0)
        let failure = try #require(report.cases.first { $0.outcome == .failed })
        #expect(failure.className == "Calc.Tests.CalculatorTests")
        #expect(failure.name == "DividesByZero")
        #expect(failure.message == "Assert.Equal() Failure: Values differ")
        #expect(failure.file == "/workspace/Calc.Tests/CalculatorTests.cs")
        #expect(failure.line == 21)
        #expect(failure.seconds == 0.012)
        #expect(report.cases.first { $0.outcome == .skipped }?.message == "not written yet")
    }

    /// An xUnit theory's rows keep their arguments in the result's name.
    @Test func theoryRowsKeepTheirArguments() throws {
        let trx = """
            \(Self.header)
              <Results>
                <UnitTestResult executionId="e-1" testId="1" testName="Calc.Tests.CalculatorTests.Adds(a: 1, b: 2)" \
            outcome="Passed" />
                <UnitTestResult executionId="e-2" testId="2" testName="Calc.Tests.CalculatorTests.Adds(a: -1, b: 1)" \
            outcome="Failed" />
              </Results>
              <TestDefinitions>
            \(Self.unitTest("1", className: "Calc.Tests.CalculatorTests", name: "Adds(a: 1, b: 2)"))
            \(Self.unitTest("2", className: "Calc.Tests.CalculatorTests", name: "Adds(a: -1, b: 1)"))
              </TestDefinitions>
            </TestRun>
            """
        let report = try TRXParser.parse(Array(trx.utf8), file: "r.trx")
        #expect(report.cases.map(\.name) == ["Adds(a: 1, b: 2)", "Adds(a: -1, b: 1)"])
        #expect(report.failed == 1)
    }

    /// MSTest data rows: the parent result stands for its inner results, which are counted instead.
    @Test func dataRowsCountOnce() throws {
        let trx = """
            \(Self.header)
              <Results>
                <UnitTestResult executionId="p" testId="1" testName="Squares" outcome="Failed" \
            resultType="DataDrivenTest">
                  <InnerResults>
                    <UnitTestResult executionId="r1" parentExecutionId="p" testId="1" testName="Squares (2)" \
            outcome="Passed" resultType="DataDrivenDataRow" />
                    <UnitTestResult executionId="r2" parentExecutionId="p" testId="1" testName="Squares (3)" \
            outcome="Failed" resultType="DataDrivenDataRow" />
                  </InnerResults>
                </UnitTestResult>
              </Results>
              <TestDefinitions>\(Self.unitTest("1", className: "Calc.Tests.SquareTests", name: "Squares"))</TestDefinitions>
            </TestRun>
            """
        let report = try TRXParser.parse(Array(trx.utf8), file: "r.trx")
        #expect(report.total == 2)
        #expect(report.failed == 1)
        #expect(report.cases.map(\.className) == ["Calc.Tests.SquareTests", "Calc.Tests.SquareTests"])
    }

    /// A test host that crashed leaves fewer results than the counters declare,
    /// or none: what is missing counts as errors, never as passing.
    @Test func aCrashedRunCountsWhatIsMissing() throws {
        let trx = """
            \(Self.header)
              <Results>
                <UnitTestResult executionId="e-1" testId="1" testName="A.B.C" outcome="Passed" />
              </Results>
              <TestDefinitions>\(Self.unitTest("1", className: "A.B", name: "C"))</TestDefinitions>
              <ResultSummary outcome="Failed">
                <Counters total="3" executed="3" passed="1" failed="0" error="2" timeout="0" aborted="0" />
                <RunInfos><RunInfo computerName="host" outcome="Error"><Text>The active test run was aborted. \
            Reason: Test host process crashed</Text></RunInfo></RunInfos>
              </ResultSummary>
            </TestRun>
            """
        let report = try TRXParser.parse(Array(trx.utf8), file: "r.trx")
        #expect(report.passed == 1)
        #expect(report.unrecordedErrors == 2)

        let aborted = """
            \(Self.header)
              <ResultSummary outcome="Aborted"><Counters total="0" executed="0" passed="0" failed="0" /></ResultSummary>
            </TestRun>
            """
        #expect(try TRXParser.parse(Array(aborted.utf8), file: "r.trx").unrecordedErrors == 1)
    }

    /// Written on Windows: CRLF line ends; a run over a day long.
    @Test func crlfStackTracesAndDayLongDurations() {
        #expect(
            TRXParser.sourceLocation(
                in: "   at A.B() in C:\\src\\B.cs:line 7\r\n   at C.D() in C:\\src\\D.cs:line 9\r\n"
            )
            .map { "\($0.file):\($0.line)" } == "C:\\src\\B.cs:7")
        #expect(JUnitParser.firstLine("\r\n  Assert.Equal() Failure\r\nExpected: 0\r\n") == "Assert.Equal() Failure")
        #expect(TRXParser.seconds("1.02:00:30.5") == 93630.5)
        #expect(TRXParser.seconds("00:00:01.25") == 1.25)
        #expect(TRXParser.seconds("soon") == nil)
        let huge = String(repeating: "x", count: 100_000) + " in /a.cs:line 1"
        #expect(TRXParser.sourceLocation(in: huge) == nil, "a frame longer than any path is not read")
    }

    @Test func hostileOrForeignInputIsAClearError() {
        #expect(throws: ReportError.self) {
            try TRXParser.parse(Array("<testsuites/>".utf8), file: "r.trx")
        }
        let entity = "<!DOCTYPE TestRun [<!ENTITY x \"y\">]><TestRun>&x;</TestRun>"
        #expect(throws: ReportError.self) { try TRXParser.parse(Array(entity.utf8), file: "r.trx") }
        let result = "<TestRun><Results><UnitTestResult testName=\"A\" outcome=\"Sideways\"/></Results></TestRun>"
        #expect(throws: ReportError(file: "r.trx", reason: "unknown test outcome 'Sideways' for A")) {
            try TRXParser.parse(Array(result.utf8), file: "r.trx")
        }
    }
}
