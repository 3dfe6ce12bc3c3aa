import SandboxModel

/// A trusted policy directory: `defaults.yaml` and one file per language.
public struct PolicySet: Equatable, Sendable {
    public var defaults: PolicyDefaults
    public var languages: [LanguagePolicy]

    public init(defaults: PolicyDefaults = PolicyDefaults(), languages: [LanguagePolicy] = []) {
        self.defaults = defaults
        self.languages = languages
    }

    /// Reads the directory's files (name, text). Every error in every file is
    /// returned, not only the first, so one `policy check` shows them all.
    public static func load(_ files: [(name: String, text: String)]) -> (PolicySet, [PolicyError]) {
        var set = PolicySet()
        var errors: [PolicyError] = []
        for file in files.sorted(by: { $0.name < $1.name })
        where file.name.hasSuffix(".yaml") || file.name.hasSuffix(".yml") {
            do {
                if file.name == "defaults.yaml" || file.name == "defaults.yml" {
                    set.defaults = try PolicyParser.defaults(file.text, file: file.name)
                } else {
                    let policy = try PolicyParser.language(file.text, file: file.name)
                    if let other = set.languages.first(where: { $0.language == policy.language }) {
                        errors.append(
                            PolicyError(
                                file: file.name,
                                reason: "language '\(policy.language)' is also defined in \(other.source)"))
                    } else {
                        set.languages.append(policy)
                    }
                }
            } catch {
                errors.append(error)
            }
        }
        return (set, errors)
    }

    public func language(_ name: String) -> LanguagePolicy? { languages.first { $0.language == name } }

    /// What judges a tree: the defaults' files and those of each language named,
    /// or else of each detected at the tree's root.
    public func judging(rootEntries: [String], languages names: [String] = []) -> JudgingFiles {
        let chosen = names.isEmpty ? detect(rootEntries: rootEntries) : names.compactMap(language)
        return chosen.reduce(defaults.judging) { $0.merged(with: $1.judging) }
    }

    /// The languages a tree holds, judged by its root entries.
    public func detect(rootEntries: [String]) -> [LanguagePolicy] {
        languages.filter { $0.detects(rootEntries: rootEntries) }
    }
}

extension EffectivePolicy {
    /// The effective policy as YAML-like text, for `sandbox policy show`.
    public var text: String { text(for: nil) }

    /// The same, for a tree that declares `declarations`: what it declares, each
    /// with where it says so, and the steps that do not run for it, and why.
    public func text(for declarations: ProjectDeclarations?) -> String {
        var lines = [
            "language: \(policy.language)", "source: \(policy.source)",
            "detect: [\(policy.detect.joined(separator: ", "))]",
            "image: \(policy.image)",
        ]
        if !policy.copyExclude.isEmpty { lines.append("copy-exclude: [\(policy.copyExclude.joined(separator: ", "))]") }
        if !policy.environment.isEmpty {
            lines.append("environment:")
            for (name, value) in policy.environment.sorted(by: { $0.key < $1.key }) {
                lines.append("  \(name): \(value)")
            }
        }
        lines.append("steps:")
        for step in policy.steps {
            lines.append("  - name: \(step.name)")
            lines.append("    kind: \(step.kind.rawValue)")
            lines.append("    network: \(step.network.rawValue)")
            if !step.onlyIf.isEmpty { lines.append("    only-if: [\(step.onlyIf.joined(separator: ", "))]") }
            if step.continueOnError { lines.append("    continue-on-error: true") }
            if !step.ifProjectUses.isEmpty {
                lines.append("    if-project-uses: [\(step.ifProjectUses.map(\.rawValue).joined(separator: ", "))]")
            }
            if !step.unlessProjectUses.isEmpty {
                lines.append(
                    "    unless-project-uses: [\(step.unlessProjectUses.map(\.rawValue).joined(separator: ", "))]")
            }
            if let declarations, let reason = step.skipReason(declarations) {
                lines.append("    not run for this tree: \(reason)")
            }
            if !step.mountsIfPresent.isEmpty {
                let mounts = step.mountsIfPresent.map {
                    $0.source == $0.destination ? $0.source : "\($0.source):\($0.destination)"
                }
                lines.append("    mounts-if-present: [\(mounts.joined(separator: ", "))]")
            }
            lines.append("    run: [\(step.run.map { JSONText.string($0) }.joined(separator: ", "))]")
            for report in step.reports {
                let source: String =
                    switch report.source {
                    case .file(let path): path
                    case .stdout: "stdout"
                    case .stderr: "stderr"
                    }
                var line = "    report: \(source) (\(report.format.rawValue))"
                if !report.include.isEmpty { line += " include [\(report.include.joined(separator: ", "))]" }
                if !report.exclude.isEmpty { line += " exclude [\(report.exclude.joined(separator: ", "))]" }
                lines.append(line)
            }
            if let limits = limits[step.name] {
                lines.append(
                    "    limits: memory \(limits.memory), pids \(limits.pids), cpu-time \(limits.cpuTime), "
                        + "timeout \(limits.timeout), output \(limits.output), tmp-size \(limits.tmpSize), file-size \(limits.fileSize)"
                )
            }
        }
        lines.append("gates:")
        for gate in gates {
            lines.append(
                "  \(gate.metric.rawValue): \"\(gate.comparison.rawValue) \(GateDefinition.format(gate.threshold))\""
                    + (gate.blocking ? "" : " (informational)"))
        }
        for refusal in refused { lines.append("# \(refusal)") }
        if let declarations {
            lines.append("project declares:" + (declarations.facts.isEmpty ? " nothing this policy reads" : ""))
            lines += declarations.described.map { "  \($0)" }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
