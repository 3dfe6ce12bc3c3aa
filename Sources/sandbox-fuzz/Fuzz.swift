import Foundation
import SandboxModel
import SandboxPolicy
import SandboxReports

/// libFuzzer's entry point for every parser of untrusted input: the report
/// readers, the XML reader, the policy, image and `.sandbox.yaml` loaders, the
/// seccomp profile parser, and what a tree's CI files declare. The parser is
/// chosen by SANDBOX_FUZZ_TARGET (see `targets`); each input is given to it as
/// a step or a tree would give it. Built only with SANDBOX_FUZZ set (`make fuzz`):
/// errors are expected, crashes and hangs are what libFuzzer finds.
let targets: [String: @Sendable ([UInt8]) -> Void] = [
    "junit": { _ = try? JUnitParser.parse($0, file: "f") },
    "trx": { _ = try? TRXParser.parse($0, file: "f") },
    "xml": { _ = try? XMLReader.parse($0, file: "f") },
    "cobertura": { _ = try? CoberturaParser.parse($0, file: "f") },
    "lcov": { _ = try? LcovParser.parse($0, file: "f") },
    "go-cover": { _ = try? GoCoverProfileParser.parse($0, file: "f") },
    "coverage-py-json": { _ = try? CoveragePyJSONParser.parse($0, file: "f") },
    "llvm-cov-json": { _ = try? LLVMCovJSONParser.parse($0, file: "f") },
    "sarif": { _ = try? SARIFParser.parse($0, file: "f") },
    "ruff-json": { _ = try? RuffJSONParser.parse($0, file: "f") },
    "pylint-json": { _ = try? PylintJSONParser.parse($0, file: "f") },
    "eslint-json": { _ = try? ESLintJSONParser.parse($0, file: "f") },
    "go-test-json": { _ = try? GoTestJSONParser.parse($0, file: "f") },
    "cargo-json": { _ = try? CargoJSONParser.parse($0, file: "f") },
    "diagnostics": { _ = try? DiagnosticsParser.parse($0, file: "f", tool: "t") },
    "libtest": { _ = try? LibtestParser.parse($0, file: "f") },
    "tap": { _ = try? TAPParser.parse($0, file: "f") },
    "tar": { _ = try? TarReader.entries(of: $0) },
    // The first byte chooses which part of a layout the rest is read as.
    "oci-layout": { bytes in
        guard let first = bytes.first else { return }
        let rest = Array(bytes.dropFirst())
        switch first % 3 {
        case 0: _ = try? OCILayout.manifests(ofIndex: rest)
        case 1: _ = try? OCILayout.layers(ofManifest: rest, file: "f")
        default: try? OCILayout.checkVersion(rest)
        }
    },
    "git-ls-tree": { _ = try? GitTreeListing.parse($0[...]) },
    "git-cat-file": { _ = try? GitBatch.parse($0[...]) },
    "git-diff": { _ = try? UnifiedDiff.addedLines($0) },
    "rule-differences": { bytes in
        guard let files = try? RuleDifferences.parse(bytes) else { return }
        for file in files.values { _ = file.changes.map(RuleDifferences.words) }
    },
    // A link's target, then NUL-separated `path=target` links of the tree.
    "git-links": { bytes in
        let parts = bytes.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        guard let target = parts.first else { return }
        let links = Dictionary(
            parts.dropFirst().compactMap { part -> (String, String)? in
                guard let equals = part.firstIndex(of: "=") else { return nil }
                return (String(part[..<equals]), String(part[part.index(after: equals)...]))
            }, uniquingKeysWith: { first, _ in first })
        _ = GitTreePath.resolve(link: "a/b", target: target, links: links)
    },
    "policy": { _ = try? PolicyParser.language(String(decoding: $0, as: UTF8.self), file: "f") },
    "image": { _ = try? PolicyParser.image(String(decoding: $0, as: UTF8.self), file: "f") },
    "defaults": { _ = try? PolicyParser.defaults(String(decoding: $0, as: UTF8.self), file: "f") },
    "sandbox-yaml": { _ = try? PolicyParser.repositoryOverride($0, file: ".sandbox.yaml") },
    "seccomp": { _ = try? SeccompProfile(parsing: String(decoding: $0, as: UTF8.self), source: "f") },
    // The first byte chooses the file a tree would hold it as.
    "declarations": { bytes in
        let paths = [".github/workflows/ci.yml", ".travis.yml", ".golangci.yml", "tox.ini"]
        guard let first = bytes.first else { return }
        let path = paths[Int(first) % paths.count]
        _ = ProjectDeclarations.read(files: [(path, Array(bytes.dropFirst()))], present: ["rustfmt.toml"])
    },
]

let chosen: @Sendable ([UInt8]) -> Void = {
    let name = ProcessInfo.processInfo.environment["SANDBOX_FUZZ_TARGET"] ?? ""
    guard let target = targets[name] else {
        FileHandle.standardError.write(
            Data(("SANDBOX_FUZZ_TARGET must be one of: " + targets.keys.sorted().joined(separator: " ") + "\n").utf8))
        exit(2)
    }
    return target
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    chosen(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
