import SandboxPolicy
import Testing

@testable import SandboxVerify

@Suite struct UnformattedListTests {
    @Test func ruffSummaryLinesAreNotFiles() {
        let output =
            "Would reformat: a b.py\nWould reformat: file.py\n2 files would be reformatted, 3 files already formatted\n"
        #expect(UnformattedList.parse(Array(output.utf8)) == ["a b.py", "file.py"])
        #expect(UnformattedList.parse(Array("5 files already formatted\n".utf8)).isEmpty)
    }

    @Test func gofmtListsNamesAsTheyAre() {
        #expect(UnformattedList.parse(Array("x file.go\nDiff in.go\n".utf8)) == ["x file.go", "Diff in.go"])
    }

    @Test func reportsAreClearedBeforeTheStepWithPathsAsArguments() {
        let step = SandboxPolicyStep.example
        let argv = Verifier.clearingReports(step)
        #expect(argv.prefix(2) == ["/bin/sh", "-c"])
        #expect(argv.suffix(step.run.count) == ArraySlice(step.run))
        #expect(argv[4] == "1")
        #expect(argv[5] == "/workspace/.sandbox/reports/junit.xml")
        #expect(!argv[2].contains("junit"), "no path is part of the script")
    }
}

enum SandboxPolicyStep {
    static let example = StepPolicy(
        name: "test", kind: .test, run: ["pytest", "--junitxml=/workspace/.sandbox/reports/junit.xml"],
        reports: [ReportSpec(source: .file("/workspace/.sandbox/reports/junit.xml"), format: .junit)])
}
