import Testing

@testable import SandboxReports

@Suite struct CoverageParserTests {
    /// coverage.py 7.17.5 `coverage xml`: lines-valid 38, lines-covered 31.
    @Test func coberturaFromCoveragePy() throws {
        let report = try CoberturaParser.parse(try Fixture.bytes("coverage.xml"), file: "coverage.xml")
        #expect(report.total == 38)
        #expect(report.covered == 31)
        #expect(report.files["calc.py"]?.total == 17)
        #expect(report.files["calc.py"]?.covered == 12)
        let percent = try #require(report.percent)
        #expect(abs(percent - 81.578947) < 0.001)
    }

    /// node 20.20.2 lcov: each file's LH/LF as node itself counted them.
    @Test func lcovFromNode() throws {
        let report = try LcovParser.parse(try Fixture.bytes("node-lcov.info"), file: "node-lcov.info")
        #expect(report.files["mathutil.js"]?.total == 25)
        #expect(report.files["mathutil.js"]?.covered == 16)
        #expect(report.files["test/mathutil.test.js"]?.total == 30)
        #expect(report.files["test/mathutil.test.js"]?.covered == 29)
        #expect(report.filtered { !$0.hasPrefix("test/") }.covered == 16)
    }

    @Test func lcovMergesRepeatedFiles() throws {
        let text = "SF:a.js\nDA:1,0\nDA:2,1\nend_of_record\nSF:a.js\nDA:1,3\nDA:3,0\nend_of_record\n"
        let report = try LcovParser.parse(Array(text.utf8), file: "l.info")
        #expect(report.files["a.js"]?.hits == [1: 3, 2: 1, 3: 0])
        #expect(report.covered == 2)
        #expect(report.total == 3)
    }

    /// Go 1.19 coverprofile: `go test` said 57.1% (mathx) and 20.0% (strutil) of statements.
    @Test func goCoverProfile() throws {
        let report = try GoCoverProfileParser.parse(try Fixture.bytes("go-cover.out"), file: "go-cover.out")
        #expect(report.unit == .statements)
        let mathx = try #require(report.files["example.com/goproj/mathx/mathx.go"])
        #expect(mathx.covered == 4)
        #expect(mathx.total == 7)
        let strutil = try #require(report.files["example.com/goproj/strutil/strutil.go"])
        #expect(strutil.covered == 1)
        #expect(strutil.total == 5)
        #expect(strutil.missing == [11, 13, 16])
    }

    @Test func goBlocksMergeBySetOrSum() throws {
        let set = "mode: set\na.go:1.1,2.2 3 0\na.go:1.1,2.2 3 1\n"
        #expect(try GoCoverProfileParser.parse(Array(set.utf8), file: "c").covered == 3)
        let count = "mode: count\na.go:1.1,2.2 3 2\na.go:1.1,2.2 3 5\n"
        #expect(try GoCoverProfileParser.parse(Array(count.utf8), file: "c").files["a.go"]?.hits.values.first == 7)
    }

    @Test(arguments: [
        ("mode: set\nnot a block\n", "c.out: line 2: malformed block"),
        ("a.go:1.1,2.2 1 1\n", "c.out: line 1: a coverprofile starts with 'mode: '"),
    ])
    func goMalformed(text: String, message: String) {
        do {
            _ = try GoCoverProfileParser.parse(Array(text.utf8), file: "c.out")
            Issue.record("parsed")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func nothingMeasuredHasNoPercentage() {
        #expect(CoverageReport().percent == nil)
    }
}
