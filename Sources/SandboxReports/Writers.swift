import SandboxModel

/// Merged results for other tools: one JUnit file for all tests, one SARIF log
/// for all findings.
public enum JUnitWriter {
    /// `suites` are (name, report) pairs, one `<testsuite>` each.
    public static func write(_ suites: [(name: String, report: TestReport)]) -> String {
        let all = TestReport.merged(suites.map(\.report))
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml +=
            "<testsuites tests=\"\(all.total)\" failures=\"\(all.failed)\" errors=\"\(all.errors)\" skipped=\"\(all.skipped)\">\n"
        for (name, report) in suites {
            xml += "  <testsuite name=\"\(escape(name))\" tests=\"\(report.total)\" failures=\"\(report.failed)\""
            xml += " errors=\"\(report.errors)\" skipped=\"\(report.skipped)\">\n"
            for test in report.cases {
                xml += "    <testcase classname=\"\(escape(test.className))\" name=\"\(escape(test.name))\""
                xml += " time=\"\(test.seconds)\""
                if let file = test.file { xml += " file=\"\(escape(file))\"" }
                if let line = test.line { xml += " line=\"\(line)\"" }
                let message = test.message.map { " message=\"\(escape($0))\"" } ?? ""
                switch test.outcome {
                case .passed: xml += test.flaky ? "><flakyFailure\(message)/></testcase>\n" : "/>\n"
                case .failed: xml += "><failure\(message)/></testcase>\n"
                case .errored: xml += "><error\(message)/></testcase>\n"
                case .skipped: xml += "><skipped\(message)/></testcase>\n"
                }
            }
            if report.unrecordedErrors > 0 {
                xml += "    <testcase classname=\"\(escape(name))\" name=\"errors outside any test\">"
                xml += "<error message=\"\(report.unrecordedErrors) errors reported outside any test\"/></testcase>\n"
            }
            xml += "  </testsuite>\n"
        }
        return xml + "</testsuites>\n"
    }

    /// XML attribute text: markup characters and every control character as references.
    public static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n": out += "&#10;"
            case "\r": out += "&#13;"
            case "\t": out += "&#9;"
            // XML 1.0 cannot carry other control characters at all, even as references.
            case _ where scalar.value < 0x20 || (0xFFFE...0xFFFF).contains(scalar.value): out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

public enum SARIFWriter {
    /// One run per tool, results in order.
    public static func write(_ findings: [Finding]) -> String {
        var tools: [String] = []
        for finding in findings where !tools.contains(finding.tool) { tools.append(finding.tool) }
        let runs = tools.map { tool -> String in
            let results = findings.filter { $0.tool == tool }.map { finding -> String in
                var fields = [
                    "\"level\": \(string(finding.level == .note ? "note" : finding.level.rawValue))",
                    "\"message\": {\"text\": \(string(finding.message))}",
                ]
                if let rule = finding.rule { fields.insert("\"ruleId\": \(string(rule))", at: 0) }
                if let file = finding.file {
                    var region: [String] = []
                    if let line = finding.line { region.append("\"startLine\": \(line)") }
                    if let column = finding.column { region.append("\"startColumn\": \(column)") }
                    let regionText = region.isEmpty ? "" : ", \"region\": {\(region.joined(separator: ", "))}"
                    fields.append(
                        "\"locations\": [{\"physicalLocation\": {\"artifactLocation\": {\"uri\": \(string(file))}\(regionText)}}]"
                    )
                }
                return "        {" + fields.joined(separator: ", ") + "}"
            }
            return """
                    {
                      "tool": {"driver": {"name": \(string(tool))}},
                      "results": [
                \(results.joined(separator: ",\n"))
                      ]
                    }
                """
        }
        return """
            {
              "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
              "version": "2.1.0",
              "runs": [
            \(runs.joined(separator: ",\n"))
              ]
            }

            """
    }

    static func string(_ text: String) -> String { JSONText.string(text) }
}
