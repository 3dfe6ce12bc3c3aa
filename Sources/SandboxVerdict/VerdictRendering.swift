import SandboxModel
import SandboxReports

/// The verdict for people (text), machines (JSON), pull-request comments
/// (Markdown) and GitHub Actions (workflow commands and a step summary).
/// Every string that came from a report is untrusted and escaped for its target.
extension Verdict {
    public var headline: String { mergeReady ? "MERGE READY" : "NOT READY" }

    // MARK: Text

    public var text: String {
        var lines = ["\(headline)", ""]
        for revision in revisions { lines.append("  judged \(Escaping.singleLine(revision.summary))") }
        if !revisions.isEmpty { lines.append("") }
        for gate in gates {
            let mark =
                switch gate.status {
                case .passed: "ok  "
                case .failed: gate.definition.blocking ? "FAIL" : "warn"
                case .notMeasured: "--  "
                }
            lines.append("  \(mark) \(gate.definition.metric.title): \(gate.summary)")
            for reason in gate.reasons { lines.append("         \(Escaping.singleLine(reason))") }
        }
        if skippedTests > 0 { lines.append("  \(skippedTests) tests skipped") }
        for test in flakyTests { lines.append("  flaky (passed on a rerun): \(Escaping.singleLine(test))") }
        for note in notes { lines.append("  note: \(Escaping.singleLine(note))") }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: JSON

    /// The schema's name and version; bump on any incompatible change.
    public static let schema = "sandbox.verdict/1"

    public var json: String {
        let gateObjects = gates.map { gate in
            let fields: [(String, String)] = [
                ("metric", JSONText.string(gate.definition.metric.rawValue)),
                ("operator", JSONText.string(gate.definition.comparison.rawValue)),
                ("threshold", JSONText.number(gate.definition.threshold)),
                ("actual", gate.actual.map(JSONText.number) ?? "null"),
                ("status", JSONText.string(gate.status.rawValue)),
                ("blocking", gate.definition.blocking ? "true" : "false"),
                ("reasons", "[" + gate.reasons.map(JSONText.string).joined(separator: ", ") + "]"),
            ]
            return "    {" + fields.map { "\(JSONText.string($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
        }
        let revisionObjects = revisions.map { revision in
            "{\"role\": \(JSONText.string(revision.role.rawValue)), \"name\": \(JSONText.string(revision.name)), "
                + "\"commit\": \(JSONText.string(revision.commit)), \"tree\": \(JSONText.string(revision.tree))}"
        }
        let stepObjects = steps.map { step in
            let result = step.result.json.split(separator: "\n").joined(separator: " ")
            let image: String = JSONText.string(step.image)
            let head =
                "    {\"name\": \(JSONText.string(step.name)), \"kind\": \(JSONText.string(step.kind.rawValue)), "
            return head + "\"image\": \(image), \"continueOnError\": \(step.continuesOnError), \"result\": \(result)}"
        }
        return """
            {
              "schema": \(JSONText.string(Self.schema)),
              "mergeReady": \(mergeReady),
              "gates": [
            \(gateObjects.joined(separator: ",\n"))
              ],
              "skippedTests": \(skippedTests),
              "flakyTests": [\(flakyTests.map(JSONText.string).joined(separator: ", "))],
              "notes": [\(notes.map(JSONText.string).joined(separator: ", "))],
              "revisions": [\(revisionObjects.joined(separator: ", "))],
              "steps": [
            \(stepObjects.joined(separator: ",\n"))
              ]
            }

            """
    }

    // MARK: Markdown

    public var markdown: String {
        var lines = ["### \(mergeReady ? "✅" : "❌") \(headline)", ""]
        for revision in revisions { lines.append("Judged " + Escaping.markdown(revision.summary) + "  ") }
        if !revisions.isEmpty { lines.append("") }
        for gate in gates {
            // A gate nothing measured is neither ticked nor left open like a failure.
            let box =
                switch gate.status {
                case .passed: "[x]"
                case .failed: "[ ]"
                case .notMeasured: "➖"
                }
            let note =
                gate.status == .notMeasured
                ? " (not measured: no step reports it)" : gate.definition.blocking ? "" : " (informational)"
            lines.append("- \(box) **\(gate.definition.metric.title)**: `\(gate.summary)`\(note)")
        }
        let failing = gates.filter { $0.status == .failed && !$0.reasons.isEmpty }
        if !failing.isEmpty {
            lines.append("")
            for gate in failing {
                lines.append("#### \(gate.definition.metric.title)")
                lines.append("")
                for reason in gate.reasons { lines.append("- \(Escaping.markdown(reason))") }
                lines.append("")
            }
        }
        if skippedTests > 0 { lines.append("\(skippedTests) tests skipped.") }
        if !flakyTests.isEmpty {
            lines.append("Flaky (passed on a rerun): " + flakyTests.map(Escaping.markdown).joined(separator: ", "))
        }
        for note in notes { lines.append("Note: " + Escaping.markdown(note)) }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: GitHub Actions

    /// GitHub shows at most 10 annotations of each level per step.
    public static let annotationsPerLevel = 10
    /// `$GITHUB_STEP_SUMMARY` takes up to 1 MiB per step.
    public static let stepSummaryLimit = 1 << 20

    /// Workflow commands: one `::error` per failing blocking gate reason (up to the
    /// limit), `::warning` for informational ones, and a notice with the headline.
    /// Against a base, those on the lines the branch changes come first: the limit
    /// never hides them behind the rest of the tree's.
    public var githubAnnotations: String {
        var annotations: [(level: String, onChange: Bool, text: String)] = []
        for gate in gates where gate.status == .failed {
            let level = gate.definition.blocking ? "error" : "warning"
            let reasons = gate.reasons.isEmpty ? [gate.summary] : gate.reasons
            for reason in reasons {
                let location = Escaping.location(in: reason)
                var properties = ["title=" + Escaping.githubProperty(gate.definition.metric.title)]
                var onChange = false
                if let location {
                    properties.insert("file=" + Escaping.githubProperty(location.file), at: 0)
                    properties.insert("line=\(location.line)", at: 1)
                    onChange = changes?[CoverageReport.treePath(location.file)]?.contains(location.line) ?? false
                }
                let text = "::\(level) \(properties.joined(separator: ","))::\(Escaping.githubData(reason))"
                annotations.append((level, onChange, text))
            }
        }
        var lines: [String] = []
        var counts: [String: Int] = [:]
        for annotation in annotations.filter(\.onChange) + annotations.filter({ !$0.onChange }) {
            guard counts[annotation.level, default: 0] < Self.annotationsPerLevel else { continue }
            counts[annotation.level, default: 0] += 1
            lines.append(annotation.text)
        }
        lines.append("::notice title=sandbox verify::\(headline)")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The Markdown for `$GITHUB_STEP_SUMMARY`, cut to GitHub's limit.
    public var githubStepSummary: String {
        let full = markdown
        guard full.utf8.count > Self.stepSummaryLimit else { return full }
        let note = "\n\n…(cut at GitHub's 1 MiB step-summary limit)\n"
        var cut = Substring(full).utf8.prefix(Self.stepSummaryLimit - note.utf8.count)
        while String(cut) == nil { cut = cut.dropLast() }
        return String(cut)! + note
    }
}

/// Escaping for each place untrusted text goes.
public enum Escaping {
    /// One line: control characters shown, never obeyed (no terminal escapes).
    public static func singleLine(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            default: append(scalar, to: &out)
            }
        }
        return out
    }

    /// Whether a terminal or renderer would obey the character rather than show
    /// it: C0 and C1 controls (ESC starts a terminal title, a screen clear, an OSC
    /// 52 clipboard write; C1's CSI does alone), and Unicode's format characters
    /// and separators (bidi overrides and isolates, which reorder what a reviewer
    /// reads; U+2028 and U+2029, which break lines).
    static func isObeyed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator: true
        default: false
        }
    }

    /// The character itself, or `\u{hex}` where it would be obeyed.
    static func append(_ scalar: Unicode.Scalar, to out: inout String) {
        if isObeyed(scalar) {
            out += "\\u{\(String(scalar.value, radix: 16))}"
        } else {
            out.unicodeScalars.append(scalar)
        }
    }

    /// GitHub workflow-command data: `%`, CR and LF escaped, so the text can
    /// neither end the command nor start a new one; every other character a
    /// terminal would obey is shown as `\u{hex}` (the runner's log is one).
    public static func githubData(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "%": out += "%25"
            case "\r": out += "%0D"
            case "\n": out += "%0A"
            default: append(scalar, to: &out)
            }
        }
        return out
    }

    /// A workflow-command property also escapes `:` and `,`.
    public static func githubProperty(_ text: String) -> String {
        var out = ""
        for scalar in githubData(text).unicodeScalars {
            switch scalar {
            case ":": out += "%3A"
            case ",": out += "%2C"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Markdown: one line, with the characters that make links, HTML, mentions,
    /// tables or math (`$…$`) escaped.
    /// Scalar by scalar, never by character: a combining mark or a prepended letter
    /// makes `*` or `<` part of a larger character that a character test misses.
    public static func markdown(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        let escaped = Set("\\`*_{}[]()<>#+|!@~&$".unicodeScalars)
        for scalar in singleLine(text).unicodeScalars {
            // `www.` starts a link with no scheme: a word joiner before its dot breaks it.
            if scalar == ".", String(String.UnicodeScalarView(out.suffix(3))).lowercased() == "www" {
                out.append("\u{2060}")
            }
            if escaped.contains(scalar) { out.append("\\") }
            out.append(scalar)
            // GitHub finds mentions, issue references and bare links after the
            // backslashes are gone: a word joiner breaks them.
            if scalar == "@" || scalar == "#" || scalar == ":" { out.append("\u{2060}") }
        }
        return String(out)
    }

    /// "path:12: ..." at the start of a reason.
    static func location(in reason: String) -> (file: String, line: Int)? {
        let parts = reason.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        // A line, or the first of ranges ("17-19, 24"); digits that run on into a
        // path ("a:5/conftest.py") are no line.
        let digits = parts.count >= 2 ? parts[1].prefix { $0.isASCII && $0.isNumber } : ""
        let after = parts.count >= 2 ? parts[1].dropFirst(digits.count).first : nil
        guard !parts[0].isEmpty, !parts[0].contains(" "), let line = Int(digits),
            after == nil || after == "-" || after == ","
        else { return nil }
        return (String(parts[0]), line)
    }
}

extension JSONText {
    /// A gate's number: whole numbers without a fraction.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        return value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
