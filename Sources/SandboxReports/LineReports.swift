internal import FoundationEssentials

/// Calls `body` with each line of `bytes` (split at LF only, a trailing CR
/// dropped), without building an array of every line first.
func forEachLine(_ bytes: [UInt8], _ body: (ArraySlice<UInt8>) throws(ReportError) -> Void) throws(ReportError) {
    var start = 0
    while start < bytes.count {
        var end = start
        while end < bytes.count && bytes[end] != 0x0A { end += 1 }
        var line = bytes[start..<end]
        if line.last == 0x0D { line = line.dropLast() }
        try body(line)
        start = end + 1
    }
}

/// Records beyond this in one text report are refused.
let maximumTextRecords = 1_000_000

/// `go test -json` events: the last pass, fail or skip of each test. A package
/// that failed with no failing test (it did not build) is an error.
public enum GoTestJSONParser {
    struct Event: Decodable {
        var Action: String
        var Package: String?
        var Test: String?
        var Elapsed: Double?
        var Output: String?
    }

    public static func parse(_ bytes: [UInt8], file: String) throws(ReportError) -> TestReport {
        try ReportLimits.check(bytes, file: file)
        var outcomes: [(key: String, package: String, test: String, outcome: TestCase.Outcome, seconds: Double)] = []
        var index: [String: Int] = [:]
        var failedPackages: [String] = []
        var firstOutput: [String: String] = [:]
        let decoder = JSONDecoder()
        var lineNumber = 0
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            lineNumber += 1
            guard line.first == UInt8(ascii: "{") else { continue }  // build output interleaved
            guard let event = try? decoder.decode(Event.self, from: Data(line)) else {
                throw ReportError(file: file, position: "line \(lineNumber)", reason: "malformed test event")
            }
            let package = event.Package ?? ""
            guard let test = event.Test else {
                if event.Action == "fail" { failedPackages.append(package) }
                continue
            }
            let key = package + " " + test
            if event.Action == "output", let output = event.Output, firstOutput[key] == nil,
                !output.hasPrefix("=== "), !output.hasPrefix("--- ")
            {
                firstOutput[key] = output.trimmingCharacters(in: " \n\t")
            }
            let outcome: TestCase.Outcome
            switch event.Action {
            case "pass": outcome = .passed
            case "fail": outcome = .failed
            case "skip": outcome = .skipped
            default: continue
            }
            if let at = index[key] {
                outcomes[at].outcome = outcome
            } else {
                index[key] = outcomes.count
                outcomes.append((key, package, test, outcome, event.Elapsed ?? 0))
            }
        }
        var report = TestReport(
            cases: outcomes.map {
                TestCase(
                    suite: $0.package, className: $0.package, name: $0.test, seconds: $0.seconds, outcome: $0.outcome,
                    message: $0.outcome == .passed ? nil : firstOutput[$0.key])
            })
        for package in failedPackages
        where !outcomes.contains(where: { $0.package == package && $0.outcome == .failed }) {
            report.unrecordedErrors += 1
        }
        return report
    }
}

/// cargo's `--message-format=json` (clippy, build): `compiler-message` lines.
public enum CargoJSONParser {
    struct Line: Decodable {
        struct Message: Decodable {
            struct Code: Decodable { var code: String }
            struct Span: Decodable {
                var file_name: String
                var line_start: Int
                var column_start: Int
                var is_primary: Bool
            }
            var level: String
            var message: String
            var code: Code?
            var spans: [Span]
        }
        var reason: String
        var message: Message?
    }

    public static func parse(_ bytes: [UInt8], file: String, tool: String = "cargo") throws(ReportError)
        -> FindingsReport
    {
        try ReportLimits.check(bytes, file: file)
        var report = FindingsReport()
        let decoder = JSONDecoder()
        var lineNumber = 0
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            lineNumber += 1
            guard line.first == UInt8(ascii: "{") else { continue }
            guard let decoded = try? decoder.decode(Line.self, from: Data(line)) else {
                throw ReportError(file: file, position: "line \(lineNumber)", reason: "malformed cargo message")
            }
            guard decoded.reason == "compiler-message", let message = decoded.message else { continue }
            let level: Finding.Level =
                switch message.level {
                case "error", "error: internal compiler error": .error
                case "warning": .warning
                default: .note
                }
            // The summary line ("N warnings emitted") has no span.
            guard let span = message.spans.first(where: \.is_primary) ?? message.spans.first else { continue }
            report.findings.append(
                Finding(
                    tool: tool, rule: message.code?.code, level: level, message: message.message, file: span.file_name,
                    line: span.line_start, column: span.column_start))
        }
        return report
    }
}

/// Compiler and linter text: `file:line[:col]: level: message` (gcc, clang,
/// swiftc, go vet without a level), and rustc's `level: message` then ` --> file:line:col`.
public enum DiagnosticsParser {
    public static func parse(
        _ bytes: [UInt8], file: String, tool: String, levelWhenUnstated: Finding.Level = .error
    ) throws(ReportError) -> FindingsReport {
        if bytes.count > ReportLimits.maximumBytes {
            throw ReportError(file: file, reason: "the report is larger than \(ReportLimits.maximumBytes >> 20) MiB")
        }
        var report = FindingsReport()
        var pending: (level: Finding.Level, message: String)?
        try forEachLine(bytes) { (bytes: ArraySlice<UInt8>) throws(ReportError) in
            guard report.findings.count < maximumTextRecords else {
                throw ReportError(file: file, reason: "more than \(maximumTextRecords) diagnostics")
            }
            let text = String(decoding: bytes, as: UTF8.self)
            let line = Substring(text)
            if let (level, message) = leveled(line) {
                pending = (level, message)
                return
            }
            if let pendingDiagnostic = pending, let arrow = line.firstRange(of: "--> ") {
                if let location = location(line[arrow.upperBound...]) {
                    report.findings.append(
                        Finding(
                            tool: tool, level: pendingDiagnostic.level, message: pendingDiagnostic.message,
                            file: location.file, line: location.line, column: location.column))
                }
                pending = nil
                return
            }
            guard let (location, rest) = locatedPrefix(line) else { return }
            if let (level, message) = leveled(rest) {
                report.findings.append(
                    Finding(
                        tool: tool, level: level, message: message, file: location.file, line: location.line,
                        column: location.column))
            } else if !rest.isEmpty {
                report.findings.append(
                    Finding(
                        tool: tool, level: levelWhenUnstated, message: String(rest), file: location.file,
                        line: location.line, column: location.column))
            }
        }
        return report
    }

    /// "warning: text" / "error[E0425]: text" / "note: text"; cargo's summary lines are not findings.
    static func leveled(_ text: Substring) -> (Finding.Level, String)? {
        for (word, level) in [("error", Finding.Level.error), ("warning", .warning), ("note", .note)] {
            guard text.hasPrefix(word) else { continue }
            var rest = text.dropFirst(word.count)
            if rest.first == "[" { rest = rest.drop { $0 != "]" }.dropFirst() }
            guard rest.hasPrefix(": ") else { return nil }
            let message = String(rest.dropFirst(2))
            if message.hasPrefix("`") && message.contains(" generated ") { return nil }
            if message.hasPrefix("could not compile") || message.hasPrefix("aborting due to") { return nil }
            return (level, message)
        }
        return nil
    }

    /// "path:12:5: rest" or "path:12: rest"; the path may hold spaces (it ends at
    /// the first ":<digits>:" or ":<digits>: ").
    static func locatedPrefix(_ line: Substring) -> ((file: String, line: Int, column: Int?), Substring)? {
        var cursor = line.startIndex
        while let colon = line[cursor...].firstIndex(of: ":") {
            let afterColon = line.index(after: colon)
            let digits = line[afterColon...].prefix { $0.isASCII && $0.isNumber }
            if !digits.isEmpty, colon > line.startIndex, let number = Int(digits), digits.endIndex < line.endIndex,
                line[digits.endIndex] == ":"
            {
                let file = String(line[..<colon])
                guard !file.hasPrefix(" ") else { return nil }
                let rest = line[line.index(after: digits.endIndex)...]
                let columnDigits = rest.prefix { $0.isASCII && $0.isNumber }
                if !columnDigits.isEmpty, columnDigits.endIndex < rest.endIndex, rest[columnDigits.endIndex] == ":" {
                    return (
                        (file, number, Int(columnDigits)),
                        rest[rest.index(after: columnDigits.endIndex)...].drop { $0 == " " }
                    )
                }
                return ((file, number, nil), rest.drop { $0 == " " })
            }
            cursor = afterColon
        }
        return nil
    }

    static func location(_ text: Substring) -> (file: String, line: Int, column: Int?)? {
        let parts = text.split(separator: ":")
        guard parts.count >= 2, let line = Int(parts[1]) else { return nil }
        return (String(parts[0]), line, parts.count > 2 ? Int(parts[2]) : nil)
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var view = Substring(self)
        while let first = view.first, set.contains(first) { view = view.dropFirst() }
        while let last = view.last, set.contains(last) { view = view.dropLast() }
        return String(view)
    }
}

/// Rust's libtest human output (`cargo test`): `test NAME ... ok|FAILED|ignored`
/// lines, and the `---- NAME stdout ----` sections that explain failures.
public enum LibtestParser {
    public static func parse(_ bytes: [UInt8], file: String) throws(ReportError) -> TestReport {
        if bytes.count > ReportLimits.maximumBytes {
            throw ReportError(file: file, reason: "the report is larger than \(ReportLimits.maximumBytes >> 20) MiB")
        }
        var report = TestReport()
        var messages: [String: String] = [:]
        // The failure section being read, until its first explaining line is found.
        var section: String?
        try forEachLine(bytes) { (bytes: ArraySlice<UInt8>) throws(ReportError) in
            guard report.cases.count < maximumTextRecords else {
                throw ReportError(file: file, reason: "more than \(maximumTextRecords) tests")
            }
            let line = Substring(String(decoding: bytes, as: UTF8.self))
            if line.hasPrefix("---- "), line.hasSuffix(" stdout ----"), line.count < 4096 {
                section = String(line.dropFirst(5).dropLast(12))
                return
            }
            if let name = section, !line.isEmpty, !line.hasPrefix("thread "), !line.contains("panicked at") {
                messages[name] = String(line.prefix(500))
                section = nil
            }
            // The name starts after "test ": "test ... ok" names nothing (found by fuzzing).
            guard line.hasPrefix("test ") else { return }
            let afterTest = line.dropFirst(5)
            guard let separator = afterTest.firstRange(of: " ... ") else { return }
            var name = afterTest[..<separator.lowerBound]
            // libtest's own annotations, not part of the name.
            for annotation in [" - should panic", " - compile fail", " - compile"] where name.hasSuffix(annotation) {
                name = name.dropLast(annotation.count)
                break
            }
            let verdict = line[separator.upperBound...]
            let outcome: TestCase.Outcome
            if verdict == "ok" {
                outcome = .passed
            } else if verdict == "FAILED" {
                outcome = .failed
            } else if verdict.hasPrefix("ignored") {
                outcome = .skipped
            } else {
                return
            }
            let message = verdict.hasPrefix("ignored, ") ? String(verdict.dropFirst("ignored, ".count)) : nil
            report.cases.append(TestCase(className: "", name: String(name), outcome: outcome, message: message))
        }
        for index in report.cases.indices where report.cases[index].outcome == .failed {
            report.cases[index].message = messages[report.cases[index].name]
        }
        return report
    }
}

/// TAP, the Test Anything Protocol, as test runners print it (Spectre's
/// `SPECTRE_REPORTER=tap`, node-tap): `ok N - description` and `not ok N - ...`
/// lines, a `# skip` or `# todo` directive after the description (or as it, as
/// Spectre writes skips), a `# ...` comment after a failure as its message, and
/// the plan `1..N`. Indented lines (subtests) are their parent's detail. Tests
/// the plan promises but no line reports (a run that died) are errors, and so
/// is `Bail out!`; output with neither a plan nor a test line is not TAP.
public enum TAPParser {
    public static func parse(_ bytes: [UInt8], file: String) throws(ReportError) -> TestReport {
        if bytes.count > ReportLimits.maximumBytes {
            throw ReportError(file: file, reason: "the report is larger than \(ReportLimits.maximumBytes >> 20) MiB")
        }
        var report = TestReport()
        var planned: Int?
        var explaining: Int?
        try forEachLine(bytes) { (bytes: ArraySlice<UInt8>) throws(ReportError) in
            guard report.cases.count < maximumTextRecords else {
                throw ReportError(file: file, reason: "more than \(maximumTextRecords) tests")
            }
            let line = Substring(String(decoding: bytes, as: UTF8.self))
            if line.hasPrefix("#") {
                if let index = explaining, report.cases[index].message == nil {
                    report.cases[index].message = String(line.dropFirst().drop { $0 == " " }.prefix(500))
                }
                return
            }
            explaining = nil
            if line.hasPrefix("Bail out!") {
                report.unrecordedErrors += 1
                return
            }
            if let plan = Self.plan(line) {
                planned = plan
                return
            }
            guard let (passed, rest) = Self.status(line) else { return }
            var description = rest.drop { $0.isNumber }.drop { $0 == " " }
            if description.hasPrefix("- ") { description = description.dropFirst(2) }
            var outcome: TestCase.Outcome = passed ? .passed : .failed
            var name = description
            if let hash = description.firstIndex(of: "#") {
                let directive = description[description.index(after: hash)...].drop { $0 == " " }
                let word = directive.prefix { $0.isLetter }.lowercased()
                if word == "skip" || word == "todo" {
                    // A todo that fails is expected to; one that passes is a pass.
                    if word == "skip" || !passed { outcome = .skipped }
                    let before = description[..<hash].trimmingCharacters(in: " ")
                    name = before.isEmpty ? Substring(directive.dropFirst(4).drop { $0 == " " }) : Substring(before)
                }
            }
            report.cases.append(TestCase(name: String(name.prefix(1000)), outcome: outcome))
            if outcome == .failed { explaining = report.cases.count - 1 }
        }
        guard planned != nil || !report.cases.isEmpty || report.unrecordedErrors > 0 else {
            throw ReportError(file: file, reason: "not TAP: no plan (1..N) and no ok or not ok line")
        }
        if let planned, planned > report.cases.count {
            report.unrecordedErrors += planned - report.cases.count
        }
        return report
    }

    /// `1..N`, possibly with a directive (`1..0 # SKIP ...`).
    static func plan(_ line: Substring) -> Int? {
        guard line.hasPrefix("1..") else { return nil }
        let digits = line.dropFirst(3).prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 9 else { return nil }
        let after = line.dropFirst(3 + digits.count)
        guard after.isEmpty || after.hasPrefix(" ") else { return nil }
        return Int(digits)
    }

    /// Whether `ok` or `not ok` starts the line, and what follows it.
    static func status(_ line: Substring) -> (passed: Bool, rest: Substring)? {
        for (prefix, passed) in [("ok", true), ("not ok", false)] where line.hasPrefix(prefix) {
            let rest = line.dropFirst(prefix.count)
            guard rest.isEmpty || rest.hasPrefix(" ") else { return nil }
            return (passed, rest.drop { $0 == " " })
        }
        return nil
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        String(drop { $0 == character }.reversed().drop { $0 == character }.reversed())
    }
}
