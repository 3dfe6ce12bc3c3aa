import SandboxModel

/// Reads policy files. Every mistake is reported with its `file:line:column`.
public enum PolicyParser {
    /// A language's policy file.
    public static func language(_ text: String, file: String) throws(PolicyError) -> LanguagePolicy {
        guard let root = try YAMLValue.parse(text, file: file) else {
            throw PolicyError(file: file, reason: "the policy is empty")
        }
        var language: String?
        var detect: [String] = []
        var image: String?
        var environment: [String: String] = [:]
        var steps: [StepPolicy] = []
        var gates: [GateDefinition] = []
        var copyExclude: [String] = []
        var judging = JudgingFiles()
        let keys = ["language", "detect", "image", "environment", "steps", "gates", "copy-exclude", "judged-by"]
        for (key, value) in try root.mapping(allowed: keys, context: "a language policy") {
            switch key {
            case "language": language = try value.string("language")
            case "detect": detect = try value.strings("detect")
            case "image": image = try value.string("image")
            case "environment": environment = try self.environment(value)
            case "steps":
                for item in try value.items("steps") { steps.append(try step(item)) }
            case "gates": gates = try self.gates(value)
            case "copy-exclude":
                copyExclude = try value.strings("copy-exclude")
                for (index, name) in copyExclude.enumerated()
                where name.isEmpty || name == "." || name == ".." || name.contains("/") {
                    throw try value.items("copy-exclude")[index].fail(
                        "copy-exclude names entries at the tree's root: '\(name)' is a path")
                }
            case "judged-by": judging = try self.judging(value)
            default: break
            }
        }
        guard let language, !language.isEmpty else { throw root.fail("a language policy needs 'language'") }
        guard !detect.isEmpty else { throw root.fail("'\(language)' needs 'detect': the files that mark the language") }
        guard let image else { throw root.fail("'\(language)' needs 'image': the toolchain to mount") }
        guard !steps.isEmpty else { throw root.fail("'\(language)' has no steps") }
        var names = Set<String>()
        for step in steps where !names.insert(step.name).inserted {
            throw PolicyError(file: file, reason: "two steps are named '\(step.name)'")
        }
        var policy = LanguagePolicy(
            language: language, detect: detect, image: image, environment: environment, steps: steps, gates: gates,
            source: file)
        policy.copyExclude = copyExclude
        policy.judging = judging
        return policy
    }

    /// `judged-by`: `configuration` and `code`, lists of path patterns, and
    /// `sections`, a mapping from a path pattern to the parts of it that judge.
    static func judging(_ value: YAMLValue) throws(PolicyError) -> JudgingFiles {
        var judging = JudgingFiles()
        func checked(_ pattern: String, at place: YAMLValue) throws(PolicyError) -> String {
            let parts = pattern.split(separator: "/", omittingEmptySubsequences: false)
            guard !pattern.hasPrefix("/"), !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }),
                parts.last != "**"
            else { throw place.fail("'\(pattern)' is not a path in the tree ('a/b', '*.toml', '**/conftest.py')") }
            return pattern
        }
        func patterns(_ entry: YAMLValue, _ key: String) throws(PolicyError) -> [String] {
            var found: [String] = []
            for item in try entry.items(key) {
                found.append(try checked(try item.string("an item of \(key)"), at: item))
            }
            return found
        }
        for (key, entry) in try value.mapping(allowed: ["configuration", "sections", "code"], context: "judged-by") {
            switch key {
            case "configuration": judging.configuration = try patterns(entry, key)
            case "code": judging.code = try patterns(entry, key)
            case "sections":
                for (file, parts) in try entry.mapping(allowed: [], anyKey: true, context: "sections") {
                    let names = try parts.strings("the sections of \(file)")
                    guard !names.isEmpty, names.allSatisfy({ !$0.isEmpty }) else {
                        throw parts.fail("the sections of \(file) are a list of names ('tool.coverage', 'flake8')")
                    }
                    judging.sections[try checked(file, at: parts)] = names
                }
            default: break
            }
        }
        return judging
    }

    static func step(_ value: YAMLValue) throws(PolicyError) -> StepPolicy {
        var name: String?
        var kind: StepKind?
        var run: [String] = []
        var reports: [ReportSpec] = []
        var limits = LimitSettings()
        var network = NetworkMode.none
        var networkValue: YAMLValue?
        var onlyIf: [String] = []
        var mountsIfPresent: [BindMount] = []
        var continueOnError = false
        var ifProjectUses: [ProjectTool] = []
        var unlessProjectUses: [ProjectTool] = []
        let keys = [
            "name", "kind", "run", "reports", "limits", "network", "only-if", "mounts-if-present", "continue-on-error",
            "if-project-uses", "unless-project-uses",
        ]
        for (key, entry) in try value.mapping(allowed: keys, context: "a step") {
            switch key {
            case "name": name = try entry.string("name")
            case "kind": kind = try entry.choice(StepKind.self, "a step kind")
            case "run":
                run = try entry.strings("run")
                guard let first = run.first, !first.isEmpty else { throw entry.fail("'run' needs a command") }
            case "reports":
                for item in try entry.items("reports") { reports.append(try report(item)) }
            case "limits": limits = try self.limits(entry)
            case "network":
                let text = try entry.string("network")
                guard let mode = NetworkMode(rawValue: text) else { throw entry.fail("network is none or host") }
                network = mode
                networkValue = entry
            case "only-if": onlyIf = try entry.strings("only-if")
            case "mounts-if-present": mountsIfPresent = try mounts(entry, key: "mounts-if-present")
            case "continue-on-error": continueOnError = try entry.bool("continue-on-error")
            case "if-project-uses": ifProjectUses = try tools(entry, key: key)
            case "unless-project-uses": unlessProjectUses = try tools(entry, key: key)
            default: break
            }
        }
        guard let name, !name.isEmpty else { throw value.fail("a step needs a 'name'") }
        guard let kind else { throw value.fail("step '\(name)' needs a 'kind'") }
        guard !run.isEmpty else { throw value.fail("step '\(name)' needs 'run': the command as a list") }
        if network == .host && kind != .install, let networkValue {
            throw networkValue.fail("step '\(name)' is a \(kind.rawValue) step; only install steps may have network")
        }
        var step = StepPolicy(
            name: name, kind: kind, run: run, reports: reports, limits: limits, network: network, onlyIf: onlyIf)
        step.mountsIfPresent = mountsIfPresent
        step.continueOnError = continueOnError
        step.ifProjectUses = ifProjectUses
        step.unlessProjectUses = unlessProjectUses
        return step
    }

    static func tools(_ value: YAMLValue, key: String) throws(PolicyError) -> [ProjectTool] {
        var tools: [ProjectTool] = []
        for item in try value.items(key) {
            tools.append(try item.choice(ProjectTool.self, "a tool a project declares"))
        }
        return tools
    }

    static func report(_ value: YAMLValue) throws(PolicyError) -> ReportSpec {
        var source: ReportSpec.Source?
        var format: ReportFormat?
        var include: [String] = []
        var exclude: [String] = []
        let keys = ["path", "stream", "format", "include", "exclude"]
        for (key, entry) in try value.mapping(allowed: keys, context: "a report") {
            switch key {
            case "path":
                let path = try entry.string("path")
                guard path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
                    throw entry.fail("a report path is absolute, inside the sandbox, without '..'")
                }
                source = .file(path)
            case "stream":
                switch try entry.string("stream") {
                case "stdout": source = .stdout
                case "stderr": source = .stderr
                default: throw entry.fail("stream is stdout or stderr")
                }
            case "format": format = try entry.choice(ReportFormat.self, "a report format")
            case "include": include = try entry.strings("include")
            case "exclude": exclude = try entry.strings("exclude")
            default: break
            }
        }
        guard let source else { throw value.fail("a report needs a 'path' or a 'stream'") }
        guard let format else { throw value.fail("a report needs a 'format'") }
        for key in ["include", "exclude"] where !format.isCoverage {
            if let entry = value.node.mapping?[key] {
                throw YAMLValue(node: entry, file: value.file).fail("'\(key)' applies to coverage reports only")
            }
        }
        return ReportSpec(source: source, format: format, include: include, exclude: exclude)
    }

    /// An `environment` mapping, each name and value checked as `--env` checks
    /// them: a mistake is an error at its line, never a variable left out.
    static func environment(_ value: YAMLValue) throws(PolicyError) -> [String: String] {
        var environment: [String: String] = [:]
        for (name, entry) in try value.mapping(allowed: [], anyKey: true, context: "environment") {
            let text = try entry.string("the value of \(name)")
            var probe = RunConfiguration(command: [])
            do {
                try probe.setEnvironment(parsing: "\(name)=\(text)")
            } catch {
                throw entry.fail((error as? ModelError)?.reason ?? "\(error)")
            }
            environment[name] = text
        }
        return environment
    }

    static let limitKeys = ["memory", "pids", "cpu-time", "timeout", "output", "tmp-size", "file-size"]

    static func limits(_ value: YAMLValue) throws(PolicyError) -> LimitSettings {
        var limits = LimitSettings()
        for (key, entry) in try value.mapping(allowed: limitKeys, context: "limits") {
            let text = try entry.string(key)
            do {
                switch key {
                case "memory": limits.memory = try ByteSize(parsing: text, option: key)
                case "pids":
                    guard let count = UInt64(text), count > 0 else {
                        throw ModelError(key, "'\(text)' is not a count of at least 1")
                    }
                    limits.pids = count
                case "cpu-time": limits.cpuTime = try TimeSpan(parsing: text, option: key)
                case "timeout": limits.timeout = try TimeSpan(parsing: text, option: key)
                case "output": limits.output = try ByteSize(parsing: text, option: key)
                case "tmp-size": limits.tmpSize = try ByteSize(parsing: text, option: key)
                case "file-size": limits.fileSize = try ByteSize(parsing: text, option: key)
                default: break
                }
            } catch {
                throw entry.fail((error as? ModelError)?.description ?? "\(error)")
            }
        }
        return limits
    }

    /// `metric: ">= 80"` or `metric: {check: ">= 80", blocking: false}`.
    static func gates(_ value: YAMLValue) throws(PolicyError) -> [GateDefinition] {
        var gates: [GateDefinition] = []
        let metrics = GateDefinition.Metric.allCases.map(\.rawValue)
        for (key, entry) in try value.mapping(allowed: metrics, context: "gates") {
            let metric = GateDefinition.Metric(rawValue: key)!
            var check = entry
            var blocking = true
            if case .mapping = entry.node {
                var found: YAMLValue?
                for (field, fieldValue) in try entry.mapping(allowed: ["check", "blocking"], context: "gate \(key)") {
                    if field == "check" { found = fieldValue }
                    if field == "blocking" { blocking = try fieldValue.bool("blocking") }
                }
                guard let found else { throw entry.fail("gate \(key) needs a 'check' such as \">= 80\"") }
                check = found
            }
            let text = try check.string("gate \(key)")
            let parts = text.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 2, let comparison = GateDefinition.Comparison(rawValue: String(parts[0])),
                let threshold = Double(parts[1].hasSuffix("%") ? parts[1].dropLast() : parts[1])
            else { throw check.fail("a gate reads like \">= 80\" or \"<= 0\"") }
            gates.append(GateDefinition(metric, comparison, threshold, blocking: blocking))
        }
        return gates
    }
}

extension YAMLValue {
    /// A mapping whose keys are free (environment variable names).
    func mapping(allowed: [String], anyKey: Bool, context: String) throws(PolicyError) -> [(
        key: String, value: YAMLValue
    )] {
        guard anyKey else { return try mapping(allowed: allowed, context: context) }
        guard case .mapping(let mapping) = node else { throw fail("\(context) must be a mapping") }
        var entries: [(key: String, value: YAMLValue)] = []
        for (keyNode, valueNode) in mapping {
            let key = YAMLValue(node: keyNode, file: file)
            entries.append((try key.string("a key of \(context)"), YAMLValue(node: valueNode, file: file)))
        }
        return entries
    }
}
