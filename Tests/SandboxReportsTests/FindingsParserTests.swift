import Testing

@testable import SandboxReports

@Suite struct FindingsParserTests {
    /// ruff 0.17.6: two unused imports and an unused variable.
    @Test func ruffJSON() throws {
        let report = try RuffJSONParser.parse(try Fixture.bytes("ruff.json"), file: "ruff.json")
        #expect(report.findings.map(\.rule) == ["F401", "F401", "F841"])
        #expect(report.count(atLeast: .error) == 3)
        #expect(report.findings[0].line == 1)
        #expect(report.findings[0].column == 8)
        #expect(report.findings[0].message == "`os` imported but unused")
    }

    @Test func ruffSARIFAgreesWithItsJSON() throws {
        let sarif = try SARIFParser.parse(try Fixture.bytes("ruff.sarif"), file: "ruff.sarif")
        let json = try RuffJSONParser.parse(try Fixture.bytes("ruff.json"), file: "ruff.json")
        #expect(sarif.findings.map(\.rule) == json.findings.map(\.rule))
        #expect(sarif.findings.map(\.line) == json.findings.map(\.line))
        #expect(sarif.findings.allSatisfy { $0.tool == "ruff" && $0.level == .error })
    }

    /// pylint 4.1.4: three conventions and three warnings.
    @Test func pylintJSON() throws {
        let report = try PylintJSONParser.parse(try Fixture.bytes("pylint.json"), file: "pylint.json")
        #expect(report.findings.count == 6)
        #expect(report.count(atLeast: .warning) == 3)
        #expect(report.count(atLeast: .error) == 0)
        #expect(report.findings[0].rule == "C0114")
    }

    @Test func eslintJSON() throws {
        let json = """
            [{"filePath":"/p/a.js","messages":[
              {"ruleId":"no-unused-vars","severity":2,"message":"'x' is defined but never used.","line":1,"column":7},
              {"ruleId":"semi","severity":1,"message":"Missing semicolon.","line":2,"column":3},
              {"ruleId":null,"fatal":true,"severity":2,"message":"Parsing error","line":9,"column":1}],
              "errorCount":2,"warningCount":1}]
            """
        let report = try ESLintJSONParser.parse(Array(json.utf8), file: "eslint.json")
        #expect(report.findings.map(\.level) == [.error, .warning, .error])
    }

    /// clippy 0.1.95: unused_variables and clippy::ptr_arg, both warnings.
    @Test func clippyJSONLines() throws {
        let report = try CargoJSONParser.parse(try Fixture.bytes("clippy.json"), file: "clippy.json", tool: "clippy")
        #expect(report.findings.map(\.rule) == ["unused_variables", "clippy::ptr_arg"])
        #expect(report.findings.allSatisfy { $0.level == .warning })
        #expect(report.findings[0].file == "src/lib.rs")
        #expect(report.findings[0].line == 2)
    }

    /// gcc 12.2.0 -Wall: two warnings; the source excerpts are not findings.
    @Test func gccDiagnostics() throws {
        let report = try DiagnosticsParser.parse(try Fixture.bytes("gcc-warnings.txt"), file: "gcc", tool: "gcc")
        #expect(report.findings.count == 2)
        #expect(report.findings.map(\.line) == [6, 5])
        #expect(report.findings.allSatisfy { $0.level == .warning && $0.file == "warn.c" })
    }

    /// rustc via cargo 1.95.0: one warning, given as "warning: ..." then "--> file:line:col".
    @Test func rustcHumanDiagnostics() throws {
        let report = try DiagnosticsParser.parse(
            try Fixture.bytes("cargo-build-warnings.txt"), file: "cargo", tool: "rustc")
        #expect(
            report.findings == [
                Finding(
                    tool: "rustc", level: .warning, message: "unused variable: `scale`", file: "src/lib.rs", line: 2,
                    column: 9)
            ])
    }

    /// go vet (Go 1.19): findings carry no level; they are errors.
    @Test func goVet() throws {
        let report = try DiagnosticsParser.parse(try Fixture.bytes("go-vet.txt"), file: "vet", tool: "go vet")
        #expect(report.findings.map(\.line) == [7, 12])
        #expect(report.count(atLeast: .error) == 2)
        #expect(report.findings[0].file == "report/report.go")
    }

    /// mypy 2.4.1 with --show-column-numbers: three errors, each with its code.
    @Test func mypy() throws {
        let report = try DiagnosticsParser.parse(try Fixture.bytes("mypy.txt"), file: "mypy", tool: "mypy")
        #expect(report.findings.map(\.line) == [6, 10, 11])
        #expect(report.findings.map(\.column) == [12, 26, 11])
        #expect(report.count(atLeast: .error) == 3)
        #expect(report.findings.allSatisfy { $0.file == "pkg/shapes.py" })
        #expect(report.findings[2].message == "\"int\" has no attribute \"upper\"  [attr-defined]")
    }

    @Test func pathsWithSpacesAndColonsInMessages() throws {
        let text = "Sources/App/a b.swift:3:7: warning: x: y is unused\nsrc/m.c:9: error: z\n  | not:1:a location\n"
        let report = try DiagnosticsParser.parse(Array(text.utf8), file: "d", tool: "swiftc")
        #expect(
            report.findings == [
                Finding(
                    tool: "swiftc", level: .warning, message: "x: y is unused", file: "Sources/App/a b.swift", line: 3,
                    column: 7),
                Finding(tool: "swiftc", level: .error, message: "z", file: "src/m.c", line: 9),
            ])
    }

    @Test func impossibleCoverageIsRefused() {
        let json = "{\"data\":[{\"files\":[{\"filename\":\"a\",\"summary\":{\"lines\":{\"count\":5,\"covered\":9}}}]}]}"
        #expect(throws: ReportError(file: "c.json", reason: "a: 9 of 5 lines covered is impossible")) {
            try LLVMCovJSONParser.parse(Array(json.utf8), file: "c.json")
        }
    }

    @Test func malformedJSONNamesThePlace() {
        #expect(throws: ReportError.self) { try RuffJSONParser.parse(Array("[{\"code\": 1}]".utf8), file: "ruff.json") }
        do {
            _ = try SARIFParser.parse(Array("{\"version\": \"2.1.0\", \"runs\": [{}]}".utf8), file: "x.sarif")
        } catch {
            #expect(error.description == "x.sarif: at .runs[0]: missing key 'tool'")
        }
    }
}

@Suite struct GoTestJSONTests {
    /// go test -json (Go 1.19): TestAbs fails through its subtest "negative".
    @Test func goTestEvents() throws {
        let report = try GoTestJSONParser.parse(try Fixture.bytes("go-test.json"), file: "go-test.json")
        #expect(report.total == 6)
        #expect(report.failed == 2)
        #expect(report.passed == 4)
        #expect(report.errors == 0)
        let negative = try #require(report.cases.first { $0.name == "TestAbs/negative" })
        #expect(negative.outcome == .failed)
    }

    @Test func packageThatDidNotBuildIsAnError() throws {
        let events = """
            {"Action":"output","Package":"p/broken","Output":"# p/broken\\n"}
            {"Action":"fail","Package":"p/broken","Elapsed":0}
            {"Action":"pass","Package":"p/ok","Test":"TestA"}
            """
        let report = try GoTestJSONParser.parse(Array(events.utf8), file: "t.json")
        #expect(report.errors == 1)
        #expect(report.passed == 1)
    }
}

@Suite struct CoverageJSONTests {
    /// coverage.py 7.17.5 JSON agrees with its own totals: 31 of 38 lines.
    @Test func coveragePyJSON() throws {
        let report = try CoveragePyJSONParser.parse(try Fixture.bytes("coverage.json"), file: "coverage.json")
        #expect(report.covered == 31)
        #expect(report.total == 38)
        #expect(report.files["calc.py"]?.covered == 12)
        #expect(report.files["calc.py"]?.total == 17)
    }

    @Test func llvmCovTotals() throws {
        let json = """
            {"data":[{"files":[
              {"filename":"/p/Sources/A/A.swift","summary":{"lines":{"count":10,"covered":8}}},
              {"filename":"/p/Tests/ATests/T.swift","summary":{"lines":{"count":5,"covered":5}}}]}],
             "type":"llvm.coverage.json.export","version":"2.0.1"}
            """
        let report = try LLVMCovJSONParser.parse(Array(json.utf8), file: "cov.json")
        #expect(report.filtered { $0.contains("/Sources/") }.percent == 80)
        #expect(report.total == 15)
    }
}
