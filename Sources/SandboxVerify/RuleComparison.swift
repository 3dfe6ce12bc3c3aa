import SandboxKernel
import SandboxModel
import SandboxReports

/// Compares the versions of configuration files key by key, in a sandbox: the
/// files come from the untrusted tree, so Python's own readers (tomllib,
/// configparser, json) parse them there, and what comes back through the pipe
/// is read as a bounded JSON report (`RuleDifferences`).
struct RuleComparison {
    /// The reader a file's versions are read with.
    enum Form: String {
        case toml, ini, json
    }

    struct Request: Equatable {
        var index: Int
        var form: Form
        /// The two versions; nil where the tree has no such file.
        var old: [UInt8]?
        var new: [UInt8]?
    }

    static let python = "/usr/bin/python3"
    static let inside = "/rules"

    /// Each request's `index`/`old` and `index`/`new`, written as files of a
    /// private directory that the sandbox sees read-only.
    static func files(_ requests: [Request]) -> GitTreeContent {
        var entries: [GitTreeEntry] = []
        var blobs: [String: [UInt8]] = [:]
        for request in requests {
            for (name, bytes) in [("old", request.old), ("new", request.new)] {
                guard let bytes else { continue }
                // Any id will do: the export only pairs an entry with its bytes.
                let object = String(repeating: "0", count: 32) + hex(UInt32(entries.count))
                entries.append(
                    GitTreeEntry(kind: .file(executable: false), object: object, path: "\(request.index)/\(name)"))
                blobs[object] = bytes
            }
        }
        return GitTreeContent(entries: entries, blobs: blobs)
    }

    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// The outcomes by index, or why there are none.
    static func compare(_ requests: [Request], runner: any SandboxRunner) -> Result<
        [Int: RuleDifferences.File], Failure
    > {
        guard !requests.isEmpty else { return .success([:]) }
        guard HostProbe.exists(python) else { return .failure(Failure("no \(python) on this host to read them")) }
        let tree: ExportedTree
        do {
            tree = try ExportedTree(files(requests), commit: "the rules to compare")
        } catch {
            return .failure(Failure("\(error)"))
        }
        defer { tree.remove() }
        let arguments = requests.flatMap { [String($0.index), $0.form.rawValue] }
        var configuration = RunConfiguration(command: [python, "-I", "-S", "-c", script] + arguments)
        configuration.binds = [BindMount(source: tree.path, destination: inside)]
        configuration.limits.timeout = .minutes(2)
        configuration.limits.memory = .mebibytes(512)
        let cap = ReportLimits.maximumBytes
        let run = runner.capture(configuration, stdoutCap: cap, stderrCap: 1 << 14)
        guard run.result.status == .exited, run.result.exitCode == 0 else {
            let said = run.result.setupFailure?.message ?? String(decoding: run.stderr.suffix(300), as: UTF8.self)
            return .failure(Failure("the comparison did not finish: \(run.result.status.rawValue): \(said)"))
        }
        do {
            return .success(try RuleDifferences.parse(run.stdout))
        } catch {
            return .failure(Failure("\(error)"))
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// Reads `/rules/N/old` and `/rules/N/new` as the form given after each N, and
    /// prints every leaf key whose value differs. Keys are their paths of names, so
    /// that `["a.b"]` and `[a.b]` stay two; values are compared as JSON text, so
    /// that TOML's dates and NaN compare as written. INI is read as its tools read
    /// it: [DEFAULT] given to every section (and compared as a section of its own),
    /// a key given twice refused, values of several lines lists, as coverage.py and
    /// flake8 read them. A file with more changes than are listed says so.
    static let script = """
        import configparser, json, sys, tomllib

        LIMIT = 1 << 20
        MISSING = object()

        def text(value):
            return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)

        def shown(value):
            if value is MISSING:
                return None
            if isinstance(value, list):
                return {"list": [text(item)[:200] for item in value[:1000]]}
            return {"scalar": text(value)[:200]}

        def flatten(document, table, leaves):
            for key, value in document.items():
                if isinstance(value, dict) and value:
                    flatten(value, table + (str(key),), leaves)
                else:
                    leaves[table + (str(key),)] = value
            return leaves

        def name(part):
            # A name holding a dot is quoted, as TOML writes it: ["a.b"] is not [a.b].
            return json.dumps(part) if "." in part or not part else part

        def ini_value(value):
            lines = [line.strip() for line in value.splitlines() if line.strip()]
            return lines if "\\n" in value else value

        def load(path, form):
            try:
                with open(path, "rb") as file:
                    data = file.read(LIMIT + 1)
            except FileNotFoundError:
                return {}
            if len(data) > LIMIT:
                raise ValueError("larger than 1 MiB")
            body = data.decode("utf-8-sig")
            if form == "toml":
                return tomllib.loads(body)
            if form == "json":
                document = json.loads(body)
                if not isinstance(document, dict):
                    raise ValueError("not a JSON object")
                return document
            parser = configparser.ConfigParser(interpolation=None, strict=True)
            parser.read_string(body)
            sections = {section: {key: ini_value(value) for key, value in parser.items(section, raw=True)}
                        for section in parser.sections()}
            if parser.defaults():
                sections["DEFAULT"] = {key: ini_value(value) for key, value in parser.defaults().items()}
            return sections

        def compare(number, form, entry):
            old = flatten(load(f"/rules/{number}/old", form), (), {})
            new = flatten(load(f"/rules/{number}/new", form), (), {})
            changes = []
            for key in sorted(set(old) | set(new)):
                before, after = old.get(key, MISSING), new.get(key, MISSING)
                if before is not MISSING and after is not MISSING and text(before) == text(after):
                    continue
                if len(changes) == 500:
                    entry["truncated"] = True
                    break
                changes.append({"table": ".".join(map(name, key[:-1]))[:200], "key": name(key[-1])[:200],
                                "old": shown(before), "new": shown(after)})
            entry["changes"] = changes

        files = []
        arguments = sys.argv[1:]
        for at in range(0, len(arguments) - 1, 2):
            entry = {"index": int(arguments[at])}
            try:
                compare(arguments[at], arguments[at + 1], entry)
            except Exception as error:
                entry["error"] = f"{type(error).__name__}: {str(error)[:200]}"
            files.append(entry)
        json.dump({"files": files}, sys.stdout)
        """
}
