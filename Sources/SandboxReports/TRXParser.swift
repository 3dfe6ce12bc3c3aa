/// TRX, the Visual Studio test results file `dotnet test --logger trx` writes.
/// Each `Results/UnitTestResult` is a test; its class and method come from the
/// `TestDefinitions/UnitTest` with the same id (`testId`). MSTest's data-driven
/// results count their `InnerResults` rows instead of themselves. Failures that
/// `ResultSummary/Counters` declares without a result to show (a crashed test
/// host) count as errors.
public enum TRXParser {
    public static func parse(_ bytes: [UInt8], file: String) throws(ReportError) -> TestReport {
        let root = try XMLReader.parse(bytes, file: file)
        guard localName(root.name) == "TestRun" else {
            throw ReportError(file: file, reason: "not a TRX report: the root element is <\(root.name)>")
        }
        var methods: [String: Method] = [:]
        for unitTest in elements("TestDefinitions", in: root).flatMap({ elements("UnitTest", in: $0) }) {
            guard let id = unitTest["id"], let method = element("TestMethod", in: unitTest) else { continue }
            methods[id] = Method(className: method["className"] ?? "", name: method["name"] ?? unitTest["name"] ?? "")
        }
        var report = TestReport()
        for result in elements("Results", in: root).flatMap({ elements("UnitTestResult", in: $0) }) {
            try collect(result, methods: methods, file: file, into: &report)
        }
        report.unrecordedErrors = try unrecordedErrors(root, recorded: report, file: file)
        return report
    }

    /// A test's class and method, from its definition.
    struct Method {
        var className: String
        var name: String
    }

    static func collect(
        _ result: XMLElement, methods: [String: Method], file: String, into report: inout TestReport
    ) throws(ReportError) {
        let rows = elements("InnerResults", in: result).flatMap { elements("UnitTestResult", in: $0) }
        if !rows.isEmpty {
            for row in rows { try collect(row, methods: methods, file: file, into: &report) }
            return
        }
        let testName = result["testName"] ?? ""
        let method = result["testId"].flatMap { methods[$0] }
        let className = method?.className ?? ""
        // xUnit names a theory's rows by their arguments: keep them, less the class.
        var name = testName.isEmpty ? method?.name ?? "" : testName
        if !className.isEmpty, name.hasPrefix(className + ".") { name.removeFirst(className.count + 1) }
        let outcomeText = result["outcome"] ?? ""
        guard let outcome = outcome(outcomeText) else {
            throw ReportError(file: file, reason: "unknown test outcome '\(outcomeText)' for \(testName)")
        }
        let errorInfo = element("ErrorInfo", in: element("Output", in: result))
        let message = element("Message", in: errorInfo).map { JUnitParser.firstLine($0.text) }
        let stack = element("StackTrace", in: errorInfo)?.text ?? ""
        let location = sourceLocation(in: stack)
        report.cases.append(
            TestCase(
                className: className, name: name, file: location?.file, line: location?.line,
                seconds: result["duration"].flatMap(seconds) ?? 0, outcome: outcome,
                message: message?.isEmpty == false ? message : nil))
    }

    /// vstest's outcomes. Anything that did not finish is an error; a test that
    /// did not run, or was inconclusive, is shown as skipped.
    static func outcome(_ text: String) -> TestCase.Outcome? {
        switch text {
        case "Passed", "PassedButRunAborted", "Completed", "Warning": .passed
        case "Failed": .failed
        case "Error", "Timeout", "Aborted", "Disconnected", "NotRunnable", "InProgress", "Pending": .errored
        case "NotExecuted", "Inconclusive": .skipped
        default: nil
        }
    }

    /// Failures the counters declare beyond the recorded ones; an aborted or
    /// errored run with nothing recorded as failing is one error.
    static func unrecordedErrors(_ root: XMLElement, recorded: TestReport, file: String) throws(ReportError) -> Int {
        guard let summary = element("ResultSummary", in: root) else { return 0 }
        let counters = element("Counters", in: summary)
        var declared = 0
        for name in ["failed", "error", "timeout", "aborted"] {
            declared += try ReportLimits.declaredCount(counters?[name], name, file: file)
        }
        let failing = recorded.failed + recorded.errors
        let missing = max(0, declared - failing)
        if missing == 0, failing == 0, ["Aborted", "Error"].contains(summary["outcome"] ?? "") { return 1 }
        return missing
    }

    /// "   at Ns.Class.Method() in /src/File.cs:line 21": the first frame with a file.
    /// Frames longer than a path can be are skipped unread.
    static func sourceLocation(in stack: String) -> (file: String, line: Int)? {
        for frame in stack.utf8.split(whereSeparator: { $0 == 0x0A || $0 == 0x0D }) where frame.count <= 8192 {
            let bytes = Array(frame)
            guard let lineMarker = lastIndex(of: Array(":line ".utf8), in: bytes[...]),
                let inMarker = lastIndex(of: Array(" in ".utf8), in: bytes[..<lineMarker]),
                let line = Int(
                    String(decoding: bytes[(lineMarker + 6)...].prefix { $0 >= 0x30 && $0 <= 0x39 }, as: UTF8.self))
            else { continue }
            return (String(decoding: bytes[(inMarker + 4)..<lineMarker], as: UTF8.self), line)
        }
        return nil
    }

    static func lastIndex(of needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        return (haystack.startIndex...(haystack.endIndex - needle.count)).reversed().first { start in
            haystack[start..<(start + needle.count)].elementsEqual(needle)
        }
    }

    /// "00:00:01.2500000" (hours, minutes, seconds), or "1.02:00:00" with days.
    static func seconds(_ text: String) -> Double? {
        let parts = text.split(separator: ":")
        guard parts.count == 3, let minutes = Double(parts[1]), let seconds = Double(parts[2]) else { return nil }
        let dayAndHours = parts[0].split(separator: ".")
        guard (1...2).contains(dayAndHours.count), let hours = Double(dayAndHours.last!),
            let days = dayAndHours.count == 2 ? Double(dayAndHours[0]) : 0
        else { return nil }
        return days * 86400 + hours * 3600 + minutes * 60 + seconds
    }

    static func localName(_ name: String) -> Substring {
        name.split(separator: ":", maxSplits: 1).last ?? Substring(name)
    }

    /// Children by local name: TRX sits in the TeamTest namespace, prefixed or not.
    static func elements(_ name: String, in parent: XMLElement?) -> [XMLElement] {
        parent?.children.filter { localName($0.name) == name } ?? []
    }

    static func element(_ name: String, in parent: XMLElement?) -> XMLElement? {
        parent?.children.first { localName($0.name) == name }
    }
}
