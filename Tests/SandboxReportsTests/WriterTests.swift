import Testing

@testable import SandboxReports

@Suite struct WriterTests {
    @Test func junitRoundTripsThroughTheReader() throws {
        let pytest = try JUnitParser.parse(try Fixture.bytes("pytest-junit.xml"), file: "a.xml")
        let node = try JUnitParser.parse(try Fixture.bytes("node-junit.xml"), file: "b.xml")
        let merged = JUnitWriter.write([("python/test", pytest), ("node/test", node)])
        let reread = try JUnitParser.parse(Array(merged.utf8), file: "merged.xml")
        #expect(reread.total == pytest.total + node.total)
        #expect(reread.failed == pytest.failed + node.failed)
        #expect(reread.errors == pytest.errors + node.errors)
        #expect(reread.skipped == pytest.skipped + node.skipped)
        #expect(reread.cases.map(\.name) == (pytest.cases + node.cases).map(\.name))
    }

    @Test func hostileNamesStayData() throws {
        let report = TestReport(cases: [
            TestCase(className: "a\"b", name: "<x> & \u{1}\n]]>", outcome: .failed, message: "m\r\n<!DOCTYPE x>")
        ])
        let xml = JUnitWriter.write([("s", report)])
        let reread = try JUnitParser.parse(Array(xml.utf8), file: "x.xml")
        #expect(reread.cases.first?.name == "<x> & \u{FFFD}\n]]>")
        #expect(reread.cases.first?.className == "a\"b")
    }

    @Test func sarifRoundTripsThroughTheReader() throws {
        let ruff = try RuffJSONParser.parse(try Fixture.bytes("ruff.json"), file: "ruff.json")
        let gcc = try DiagnosticsParser.parse(try Fixture.bytes("gcc-warnings.txt"), file: "gcc", tool: "gcc")
        let log = SARIFWriter.write(ruff.findings + gcc.findings)
        let reread = try SARIFParser.parse(Array(log.utf8), file: "merged.sarif")
        #expect(reread.findings == ruff.findings + gcc.findings)
    }
}
