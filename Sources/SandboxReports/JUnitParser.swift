/// JUnit XML in the dialects REPORTS.md lists: pytest (both families), node --test,
/// gotestsum, swift test (XCTest and swift-testing), Surefire reruns.
public enum JUnitParser {
    public static func parse(_ bytes: [UInt8], file: String) throws(ReportError) -> TestReport {
        let root = try XMLReader.parse(bytes, file: file)
        var report = TestReport()
        switch root.name {
        case "testsuites":
            for child in root.children where child.name == "testsuite" {
                collect(suite: child, path: [], into: &report)
            }
            for child in root.children where child.name == "testcase" {
                report.cases.append(testCase(child, suite: ""))
            }
        case "testsuite":
            collect(suite: root, path: [], into: &report)
        default:
            throw ReportError(file: file, reason: "not a JUnit report: the root element is <\(root.name)>")
        }
        // A summary that declares more errors than there are records (gotestsum
        // reports a package that failed to build only there) still counts.
        let declared = try ReportLimits.declaredCount(root["errors"], "errors", file: file)
        let recorded = report.cases.filter { $0.outcome == .errored }.count
        report.unrecordedErrors = max(0, declared - recorded)
        return report
    }

    /// The longest suite name a test case carries: beyond it, the outermost
    /// suites' names are left out ("… > inner > innermost").
    static let maximumSuiteName = 1000

    static func collect(suite: XMLElement, path: [String], into report: inout TestReport) {
        let name = suite["name"] ?? ""
        let nested = name.isEmpty ? path : path + [name]
        // Once per suite, shared by its cases: a copy each would make a report of deep,
        // long-named suites cost its depth times its names' length per case.
        var joined = nested.joined(separator: " > ")
        if joined.count > maximumSuiteName { joined = "… " + String(joined.suffix(maximumSuiteName - 2)) }
        for child in suite.children {
            switch child.name {
            case "testsuite": collect(suite: child, path: nested, into: &report)
            case "testcase": report.cases.append(testCase(child, suite: joined))
            default: continue
            }
        }
    }

    static func testCase(_ element: XMLElement, suite: String) -> TestCase {
        var outcome = TestCase.Outcome.passed
        var message: String?
        var flaky = false
        var rerunFailed = false
        var collectionError = false
        for child in element.children {
            switch child.name {
            case "failure":
                outcome = .failed
                message = message ?? summary(of: child)
            case "error":
                if outcome != .failed { outcome = .errored }
                message = message ?? summary(of: child)
                // pytest's words for a module it could not import; the text says why.
                if child["message"] == "collection failure" {
                    collectionError = true
                    if !child.text.isEmpty { message = firstLine(child.text) }
                }
            case "skipped":
                if outcome == .passed { outcome = .skipped }
                message = message ?? summary(of: child)
            case "flakyFailure", "flakyError":
                flaky = true
            case "rerunFailure", "rerunError":
                rerunFailed = true
            default: continue
            }
        }
        // node --test also marks a failure with an attribute.
        if outcome == .passed, let failure = element["failure"] {
            outcome = .failed
            message = firstLine(failure)
        }
        // Surefire: a passing case with reruns that failed was flaky, not failed.
        if outcome == .passed && rerunFailed { flaky = true }
        var test = TestCase(
            suite: suite, className: element["classname"] ?? "", name: element["name"] ?? "",
            file: element["file"], line: element["line"].flatMap { Int($0) },
            seconds: element["time"].flatMap { Double($0) } ?? 0, outcome: outcome, flaky: flaky && outcome == .passed,
            message: message)
        test.collectionError = collectionError && outcome == .errored
        return test
    }

    static func summary(of element: XMLElement) -> String? {
        if let message = element["message"], !message.isEmpty { return firstLine(message) }
        let text = element.text
        return text.isEmpty ? nil : firstLine(text)
    }

    static func firstLine(_ text: String) -> String {
        let trimmed = text.drop { $0.isWhitespace }
        return String(trimmed.prefix { $0 != "\n" && $0 != "\r\n" }.prefix(500))
    }
}
