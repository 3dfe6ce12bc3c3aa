import Yams

/// A YAML node with its file and position, and typed readers that fail with
/// `file:line:column` errors a person can act on.
struct YAMLValue {
    let node: Node
    let file: String

    static func parse(_ text: String, file: String) throws(PolicyError) -> YAMLValue? {
        do {
            guard let node = try Yams.compose(yaml: text) else { return nil }
            return YAMLValue(node: node, file: file)
        } catch let error as YamlError {
            throw PolicyError(file: file, reason: "not valid YAML: \(Self.describe(error))")
        } catch {
            throw PolicyError(file: file, reason: "not valid YAML")
        }
    }

    static func describe(_ error: YamlError) -> String {
        "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
    }

    func fail(_ reason: String) -> PolicyError {
        PolicyError(file: file, line: node.mark?.line, column: node.mark?.column, reason: reason)
    }

    /// A mapping's entries in order; duplicate or unknown keys are errors.
    func mapping(allowed: [String], context: String) throws(PolicyError) -> [(key: String, value: YAMLValue)] {
        guard case .mapping(let mapping) = node else { throw fail("\(context) must be a mapping") }
        var seen = Set<String>()
        var entries: [(key: String, value: YAMLValue)] = []
        for (keyNode, valueNode) in mapping {
            let key = YAMLValue(node: keyNode, file: file)
            guard case .scalar(let scalar) = keyNode else { throw key.fail("keys of \(context) must be plain names") }
            guard allowed.contains(scalar.string) else {
                let suggestion = allowed.min { distance($0, scalar.string) < distance($1, scalar.string) }
                let hint = suggestion.map { distance($0, scalar.string) <= 3 ? " (did you mean \($0)?)" : "" } ?? ""
                throw key.fail(
                    "unknown key '\(scalar.string)' in \(context)\(hint); expected one of: \(allowed.joined(separator: ", "))"
                )
            }
            guard seen.insert(scalar.string).inserted else { throw key.fail("'\(scalar.string)' is given twice") }
            entries.append((scalar.string, YAMLValue(node: valueNode, file: file)))
        }
        return entries
    }

    func string(_ context: String) throws(PolicyError) -> String {
        guard case .scalar(let scalar) = node else { throw fail("\(context) must be a single value") }
        return scalar.string
    }

    /// `true` or `false`, and nothing else.
    func bool(_ key: String) throws(PolicyError) -> Bool {
        switch try string(key) {
        case "true": return true
        case "false": return false
        default: throw fail("\(key) is true or false")
        }
    }

    func strings(_ context: String) throws(PolicyError) -> [String] {
        guard case .sequence(let sequence) = node else { throw fail("\(context) must be a list") }
        var values: [String] = []
        for item in sequence {
            values.append(try YAMLValue(node: item, file: file).string("an item of \(context)"))
        }
        return values
    }

    /// One of an enumeration's raw values: "'tset' is not a step kind; expected one of: ...".
    func choice<Choice: RawRepresentable & CaseIterable>(_ type: Choice.Type, _ what: String) throws(PolicyError)
        -> Choice
    where Choice.RawValue == String {
        let text = try string(what)
        guard let parsed = Choice(rawValue: text) else {
            throw fail(
                "'\(text)' is not \(what); expected one of: \(Choice.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return parsed
    }

    func items(_ context: String) throws(PolicyError) -> [YAMLValue] {
        guard case .sequence(let sequence) = node else { throw fail("\(context) must be a list") }
        return sequence.map { YAMLValue(node: $0, file: file) }
    }
}

/// Edit distance, for "did you mean".
func distance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    var row = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        var previous = row[0]
        row[0] = i
        for j in stride(from: 1, through: b.count, by: 1) {
            let current = row[j]
            row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
            previous = current
        }
    }
    return row[b.count]
}
