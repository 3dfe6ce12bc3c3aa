import Foundation
import SandboxModel
import Testing

@testable import SandboxReports
@testable import SandboxVerdict

@Suite struct VerdictRenderingTests {
    /// A test whose name and message try to become workflow commands.
    static func hostileVerdict() throws -> Verdict {
        let xml = """
            <testsuite name="s">
              <testcase classname="evil" name="x&#10;::add-mask::secret" file="a,b:c.py" line="3">
                <failure message="boom&#13;::error::forged %0A&#10;::set-output name=ok::true"/>
              </testcase>
            </testsuite>
            """
        let report = try JUnitParser.parse(Array(xml.utf8), file: "j.xml")
        return VerdictEngine.evaluate([
            StepEvidence(
                name: "test", kind: .test, result: StepResult(status: .exited, exitCode: 1), limits: ResourceLimits(),
                reports: [ReportEvidence(name: "j.xml", kind: .tests, content: .success(.tests(report)))])
        ])
    }

    @Test func githubAnnotationsCannotBeHijacked() throws {
        let output = try Self.hostileVerdict().githubAnnotations
        // Every line the runner reads is one of ours: nothing untrusted starts a line.
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
            #expect(line.hasPrefix("::error ") || line.hasPrefix("::notice "), "\(line)")
        }
        #expect(!output.contains("\n::add-mask"))
        #expect(!output.contains("\n::set-output"))
        #expect(output.contains("%0A::add-mask::secret"))
        #expect(output.contains("%0D::error::forged %250A"))
    }

    @Test func githubPropertiesEscapeColonAndComma() {
        #expect(Escaping.githubProperty("a,b:c%") == "a%2Cb%3Ac%25")
        #expect(Escaping.githubData("50%\r\nx") == "50%25%0D%0Ax")
    }

    @Test func annotationsStopAtGitHubsLimit() {
        let reasons = (0..<30).map { "f.py:\($0): error: e\($0)" }
        let verdict = Verdict(
            gates: [
                GateResult(
                    definition: GateDefinition(.lintErrors, .atMost, 0), actual: 30, status: .failed, reasons: reasons)
            ], skippedTests: 0, flakyTests: [])
        let errors = verdict.githubAnnotations.split(separator: "\n").filter { $0.hasPrefix("::error") }
        #expect(errors.count == Verdict.annotationsPerLevel)
        #expect(errors.first == "::error file=f.py,line=0,title=Lint findings at error level::f.py:0: error: e0")
    }

    /// Against a base, annotations on the changed lines come first, so that the
    /// limit never hides them; a patch coverage range lands on its first line.
    @Test func annotationsOnChangedLinesComeFirst() {
        let reasons = (1...30).map { "f.py:\($0): error: e\($0)" }
        var verdict = Verdict(
            gates: [
                GateResult(
                    definition: GateDefinition(.lintErrors, .atMost, 0), actual: 30, status: .failed, reasons: reasons),
                GateResult(
                    definition: GateDefinition(.patchCoverage, .atLeast, 80), actual: 50, status: .failed,
                    reasons: ["/workspace/g.py:17-19, 24"]),
            ], skippedTests: 0, flakyTests: [])
        verdict.changes = ["f.py": [29, 30], "g.py": [17, 18, 19, 24]]
        let errors = verdict.githubAnnotations.split(separator: "\n").filter { $0.hasPrefix("::error") }
        #expect(errors.count == Verdict.annotationsPerLevel)
        #expect(
            errors.prefix(3) == [
                "::error file=f.py,line=29,title=Lint findings at error level::f.py:29: error: e29",
                "::error file=f.py,line=30,title=Lint findings at error level::f.py:30: error: e30",
                "::error file=/workspace/g.py,line=17,title=Patch coverage::/workspace/g.py:17-19, 24",
            ])
        #expect(errors[3] == "::error file=f.py,line=1,title=Lint findings at error level::f.py:1: error: e1")
        #expect(Escaping.location(in: "a:5/conftest.py: added by the branch") == nil, "a path is no line")
    }

    @Test func markdownEscapesWhatWouldRenderOrPing() throws {
        let markdown = try Self.hostileVerdict().markdown
        #expect(markdown.hasPrefix("### ❌ NOT READY\n"))
        #expect(markdown.contains("- [ ] **Test failures and errors**: `test-failures <= 0: 1`"))
        #expect(!markdown.contains("\n::"))
        #expect(
            Escaping.markdown("<img src=x> @team [link](http://x) | a #12")
                == "\\<img src=x\\> \\@\u{2060}team \\[link\\]\\(http:\u{2060}//x\\) \\| a \\#\u{2060}12")
    }

    @Test func markdownTicksPassedGatesAndLeavesUnmeasuredOnesUnboxed() {
        let verdict = Verdict(
            gates: [
                GateResult(definition: GateDefinition(.testsRan, .atLeast, 1), actual: 3, status: .passed, reasons: []),
                GateResult(
                    definition: GateDefinition(.lintErrors, .atMost, 0), actual: nil, status: .notMeasured, reasons: []),
            ], skippedTests: 0, flakyTests: [])
        let lines = verdict.markdown.split(separator: "\n")
        #expect(lines.contains("- [x] **Tests ran**: `tests-ran >= 1: 3`"))
        #expect(
            lines.contains(
                "- ➖ **Lint findings at error level**: `lint-errors <= 0: not measured` (not measured: no step reports it)"
            ))
    }

    @Test func jsonIsValidAndVersioned() throws {
        let verdict = try Self.hostileVerdict()
        let object = try JSONSerialization.jsonObject(with: Data(verdict.json.utf8)) as? [String: Any]
        #expect(object?["schema"] as? String == "sandbox.verdict/1")
        let steps = try #require(object?["steps"] as? [[String: Any]])
        #expect(steps.count == 1)
        #expect(steps.first?["name"] as? String == "test")
        #expect(steps.first?["kind"] as? String == "test")
        #expect(steps.first?["continueOnError"] as? Bool == false)
        let result = try #require(steps.first?["result"] as? [String: Any])
        #expect(result["status"] as? String == "exited")
        #expect(result["exitCode"] as? Int == 1)
        #expect(object?["mergeReady"] as? Bool == false)
        let gates = try #require(object?["gates"] as? [[String: Any]])
        let failures = try #require(gates.first { $0["metric"] as? String == "test-failures" })
        #expect(failures["actual"] as? Int == 1)
        #expect(failures["status"] as? String == "failed")
        #expect(
            (failures["reasons"] as? [String])?.first?.contains("\n::add-mask::secret") == true, "kept, JSON-escaped")
    }

    @Test func textShowsControlCharactersInsteadOfObeyingThem() throws {
        let text = try Self.hostileVerdict().text
        #expect(text.hasPrefix("NOT READY\n"))
        #expect(text.contains("evil.x\\n::add-mask::secret failed: boom\\r::error::forged"))
        #expect(!text.contains("\u{1B}"))
    }

    /// A reason carrying each class of character a terminal or renderer obeys:
    /// ESC (a terminal title, a screen clear, an OSC 52 clipboard write), BEL,
    /// bidi overrides and isolates, line and paragraph separators.
    static let obeyed = [
        "\u{1B}]0;owned\u{07}", "\u{1B}[2J", "\u{1B}]52;c;ZXZpbA==\u{07}", "\u{202E}gnp.exe", "\u{2066}x\u{2069}",
        "a\u{2028}b", "a\u{2029}b", "\u{200F}", "\u{9B}31m",
    ]
    static let obeyedScalars: Set<UInt32> = [0x1B, 0x07, 0x202E, 0x2066, 0x2069, 0x2028, 0x2029, 0x200F, 0x9B]

    static func verdict(reason: String) -> Verdict {
        Verdict(
            gates: [
                GateResult(
                    definition: GateDefinition(.lintErrors, .atMost, 0), actual: 1, status: .failed,
                    reasons: ["f.py:1: error: " + reason])
            ], skippedTests: 0, flakyTests: ["t" + reason])
    }

    @Test(arguments: obeyed)
    func noFormatLetsATerminalOrRendererObeyAReason(reason: String) {
        let verdict = Self.verdict(reason: reason)
        for (format, output) in [
            ("text", verdict.text), ("markdown", verdict.markdown), ("github", verdict.githubAnnotations),
        ] {
            let raw = output.unicodeScalars.filter { Self.obeyedScalars.contains($0.value) }
            #expect(raw.isEmpty, "\(format) passes \(raw.map { String($0.value, radix: 16) }) through")
        }
    }

    /// A combining mark after `<` or `*`, or a prepended letter before it, makes one
    /// character of two scalars: escaping goes scalar by scalar (found in review).
    @Test func escapingCannotBeHiddenInsideACharacter() {
        let hidden = "<\u{301}img src=//x/y>\u{0D4E}<h1>*\u{301}b*"
        let markdown = Escaping.markdown(hidden)
        let scalars = Array(markdown.unicodeScalars)
        for (index, scalar) in scalars.enumerated() where "<>*".unicodeScalars.contains(scalar) {
            #expect(index > 0 && scalars[index - 1] == "\\", "\(markdown)")
        }
        #expect(!Escaping.githubProperty("a\u{0D4E},line=9:x\u{301}").contains(","))
        #expect(!Escaping.githubProperty("a\u{0D4E},line=9:x\u{301}").contains(":"))
    }

    @Test func markdownMakesNoAutolinkAndNoMath() {
        let markdown = Escaping.markdown("see www.example.com and $x^2$ or WWW.x.org")
        #expect(!markdown.contains("www.e") && !markdown.contains("WWW.x"))
        #expect(markdown.contains("\\$x^2\\$"))
    }

    @Test func stepSummaryIsCutToTheLimit() {
        let reasons = (0..<30000).map { "file\($0).py:1: error: " + String(repeating: "x", count: 40) }
        let verdict = Verdict(
            gates: [
                GateResult(
                    definition: GateDefinition(.lintErrors, .atMost, 0), actual: 30000, status: .failed,
                    reasons: reasons)
            ], skippedTests: 0, flakyTests: [])
        #expect(verdict.markdown.utf8.count > Verdict.stepSummaryLimit)
        let summary = verdict.githubStepSummary
        #expect(summary.utf8.count <= Verdict.stepSummaryLimit)
        #expect(summary.hasSuffix("(cut at GitHub's 1 MiB step-summary limit)\n"))
    }
}
