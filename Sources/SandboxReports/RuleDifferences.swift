/// What changed in configuration files between two versions, key by key, as
/// the comparing script (run in a sandbox, TOML by tomllib, INI by configparser,
/// JSON by json) reports it:
/// `{"files": [{"index": N, "error": "...", "changes": [{"table", "key", "old", "new"}]}]}`,
/// where a value is `{"scalar": text}` or `{"list": [text]}`, and an absent one
/// is null. Every name and value comes from the untrusted tree.
public enum RuleDifferences {
    public enum Value: Equatable, Sendable {
        case scalar(String)
        case list([String])
    }

    /// One key whose value differs.
    public struct Change: Equatable, Sendable {
        /// The dotted table (TOML, JSON) or the section (INI) the key is in; empty at the top.
        public var table: String
        public var key: String
        public var old: Value?
        public var new: Value?

        public init(table: String, key: String, old: Value?, new: Value?) {
            self.table = table
            self.key = key
            self.old = old
            self.new = new
        }

        /// `table.key`: what a policy's `sections` name.
        public var dotted: String { table.isEmpty ? key : table + "." + key }
    }

    /// One compared file: its changes, or why its versions could not be read.
    public struct File: Equatable, Sendable {
        public var changes: [Change]
        public var error: String?
        /// More keys differ than the comparison lists: whether what judges changed
        /// is not known.
        public var truncated = false

        public init(changes: [Change], error: String? = nil, truncated: Bool = false) {
            self.changes = changes
            self.error = error
            self.truncated = truncated
        }
    }

    struct Report: Decodable {
        struct ValueJSON: Decodable {
            var scalar: String?
            var list: [String]?
        }
        struct ChangeJSON: Decodable {
            var table: String
            var key: String
            var old: ValueJSON?
            var new: ValueJSON?
        }
        struct FileJSON: Decodable {
            var index: Int
            var error: String?
            var changes: [ChangeJSON]?
            var truncated: Bool?
        }
        var files: [FileJSON]
    }

    /// The files by their index in the request.
    public static func parse(_ bytes: [UInt8], file: String = "the rules' comparison") throws(ReportError)
        -> [Int: File]
    {
        let report = try decodeReport(Report.self, bytes, file: file)
        func value(_ json: Report.ValueJSON?) throws(ReportError) -> Value? {
            guard let json else { return nil }
            switch (json.scalar, json.list) {
            case (let scalar?, nil): return .scalar(scalar)
            case (nil, let list?): return .list(list)
            default: throw ReportError(file: file, reason: "a value is a scalar or a list")
            }
        }
        var files: [Int: File] = [:]
        for entry in report.files {
            var changes: [Change] = []
            for change in entry.changes ?? [] {
                changes.append(
                    Change(table: change.table, key: change.key, old: try value(change.old), new: try value(change.new))
                )
            }
            files[entry.index] = File(changes: changes, error: entry.error, truncated: entry.truncated ?? false)
        }
        return files
    }

    /// A change in words: "exclude_also: 2 added: 'def hidden', 'if x:'",
    /// "addopts: '-q' became '-q --deselect t.py::t'". Every text from the tree
    /// is cut short and stripped of control characters.
    public static func words(_ change: Change) -> String {
        let key = clean(change.key, 60)
        let name = change.table.isEmpty ? key : "[\(clean(change.table, 60))] \(key)"
        switch (change.old, change.new) {
        case (.list(let old)?, .list(let new)?):
            let added = difference(new, old)
            let removed = difference(old, new)
            var parts: [String] = []
            if !added.isEmpty { parts.append("\(added.count) added: \(sample(added))") }
            if !removed.isEmpty { parts.append("\(removed.count) removed: \(sample(removed))") }
            return "\(name): " + (parts.isEmpty ? "reordered" : parts.joined(separator: "; "))
        case (nil, let new?): return "\(name): set to \(shown(new))"
        case (let old?, nil): return "\(name): removed (was \(shown(old)))"
        case (let old?, let new?): return "\(name): \(shown(old)) became \(shown(new))"
        case (nil, nil): return "\(name): changed"
        }
    }

    /// The items of `items` that `other` lacks, counting repeats.
    static func difference(_ items: [String], _ other: [String]) -> [String] {
        var left = Dictionary(other.map { ($0, 1) }, uniquingKeysWith: +)
        return items.filter { item in
            guard let count = left[item], count > 0 else { return true }
            left[item] = count - 1
            return false
        }
    }

    static func sample(_ items: [String]) -> String {
        let shown = items.prefix(3).map { "'\(clean($0, 60))'" }.joined(separator: ", ")
        return items.count > 3 ? shown + ", …" : shown
    }

    static func shown(_ value: Value) -> String {
        switch value {
        case .scalar(let text): "'\(clean(text, 80))'"
        case .list(let items): items.isEmpty ? "[]" : "[\(sample(items))]"
        }
    }

    /// At most `limit` characters, each control character (a newline, an escape)
    /// shown as a space.
    public static func clean(_ text: String, _ limit: Int) -> String {
        let scalars = text.unicodeScalars.prefix(limit + 1).map { scalar -> Character in
            scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format
                ? " " : Character(scalar)
        }
        return scalars.count > limit ? String(scalars.prefix(limit)) + "…" : String(scalars)
    }
}
