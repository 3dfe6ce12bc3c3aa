/// The lines a branch adds or changes, from `git diff -U0` between the merge base
/// and the branch, as Codecov's patch status and diff-cover count them: each
/// file's line numbers on the branch's side. Deleted files add nothing; renamed
/// and copied files are named by their new path. Read as untrusted data.
public enum UnifiedDiff {
    /// The added lines of each file, by the path on the branch's side.
    public static func addedLines(_ bytes: [UInt8], file: String = "git diff") throws(ReportError) -> [String: Set<Int>]
    {
        try ReportLimits.check(bytes, file: file)
        var added: [String: Set<Int>] = [:]
        var current: String?
        // Between `diff --git` and the first hunk: a `+++ ` line there names the
        // file; inside a hunk it is an added line that reads "++ …".
        var inHeader = false
        var lineNumber = 0
        var records = 0
        for raw in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if raw.starts(with: Array("diff --git ".utf8)) {
                (current, inHeader) = (nil, true)
            } else if inHeader, raw.starts(with: Array("+++ ".utf8)) {
                let name = String(decoding: raw.dropFirst(4), as: UTF8.self)
                current = name == "/dev/null" ? nil : try path(name, file: file, line: lineNumber)
            } else if raw.starts(with: Array("@@ ".utf8)) {
                inHeader = false
                guard let path = current else { continue }
                let (start, count) = try range(raw, file: file, line: lineNumber)
                records += count
                guard records <= CoverageReport.maximumRecords else {
                    throw ReportError(file: file, reason: "more than \(CoverageReport.maximumRecords) changed lines")
                }
                added[path, default: []].formUnion(start..<(start + count))
            }
        }
        return added.filter { !$0.value.isEmpty }
    }

    /// `b/path`, or git's quoted form (`"b/na\303\257ve"`, C escapes), less the prefix.
    static func path(_ text: String, file: String, line: Int) throws(ReportError) -> String {
        // git ends a name holding a space with a tab, as diff(1) does.
        var name = text.hasSuffix("\t") ? String(text.dropLast()) : text
        if name.hasPrefix("\"") {
            guard name.count >= 2, name.hasSuffix("\""), let unquoted = unquote(name.dropFirst().dropLast()) else {
                throw ReportError(file: file, position: "line \(line)", reason: "a path git quoted badly")
            }
            name = unquoted
        }
        guard name.hasPrefix("b/"), name.count > 2 else {
            throw ReportError(file: file, position: "line \(line)", reason: "a new-side path without b/")
        }
        return String(name.dropFirst(2))
    }

    /// git's C-style quoting: \\, \", \t, \n, and octal bytes.
    static func unquote(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "\\") else {
                bytes.append(byte)
                continue
            }
            guard let escaped = iterator.next() else { return nil }
            switch escaped {
            case UInt8(ascii: "\\"), UInt8(ascii: "\""): bytes.append(escaped)
            case UInt8(ascii: "t"): bytes.append(9)
            case UInt8(ascii: "n"): bytes.append(10)
            case UInt8(ascii: "0")...UInt8(ascii: "3"):
                guard let second = iterator.next(), let third = iterator.next(),
                    (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(second),
                    (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(third)
                else { return nil }
                bytes.append((escaped - 48) << 6 | (second - 48) << 3 | (third - 48))
            default: return nil
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// The new side of `@@ -a,b +c,d @@`: its first line and how many (1 when
    /// the count is left out, as git does for one line).
    static func range(_ raw: ArraySlice<UInt8>, file: String, line: Int) throws(ReportError) -> (Int, Int) {
        let fields = raw.split(separator: UInt8(ascii: " "))
        guard fields.count >= 4, fields[2].first == UInt8(ascii: "+") else {
            throw ReportError(file: file, position: "line \(line)", reason: "a hunk header without a new side")
        }
        let parts = fields[2].dropFirst().split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count),
            let start = Int(String(decoding: parts[0], as: UTF8.self)),
            let count = parts.count == 2 ? Int(String(decoding: parts[1], as: UTF8.self)) : 1,
            (0...ReportLimits.maximumLine).contains(start), (0...ReportLimits.maximumLine).contains(count),
            start <= ReportLimits.maximumLine - count
        else { throw ReportError(file: file, position: "line \(line)", reason: "a hunk header that is not one") }
        return (start, count)
    }
}
