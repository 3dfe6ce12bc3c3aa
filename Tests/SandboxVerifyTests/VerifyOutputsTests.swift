import Foundation
import SandboxKernel
import SandboxModel
import SandboxVerdict
import Testing

@testable import SandboxVerify

/// Stage 6: every file the outcome goes to is written through the link-refusing
/// helper, and a failure to write one is said, never dropped.
@Suite struct VerifyOutputsTests {
    static let outcome = VerifyOutcome(
        languages: ["toy"], steps: [], verdict: VerdictEngine.evaluate([], gates: GateDefinition.defaults))

    /// A scratch directory, removed when the test ends.
    final class Scratch {
        let path: String
        init() throws { path = try Descriptor.makeTemporaryDirectory(prefix: "outputs-test") }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    @Test func theStepSummaryIsAppendedToAsGitHubLeavesIt() throws {
        let scratch = try Scratch()
        let summary = scratch.path + "/summary.md"
        try "earlier step\n".write(toFile: summary, atomically: false, encoding: .utf8)
        var outputs = VerifyOutputs()
        outputs.format = .github
        outputs.stepSummary = summary
        try outputs.prepare()
        try outputs.write(Self.outcome)
        let text = try String(contentsOfFile: summary, encoding: .utf8)
        #expect(text.hasPrefix("earlier step\n"))
        #expect(text.count > "earlier step\n".count, "the verdict was appended")
    }

    /// $GITHUB_STEP_SUMMARY through a link is refused before any step runs, and
    /// the file behind the link is left as it was.
    @Test func aStepSummaryThroughALinkIsRefused() throws {
        let scratch = try Scratch()
        let target = scratch.path + "/secret"
        try "kept\n".write(toFile: target, atomically: false, encoding: .utf8)
        #expect(symlink(target, scratch.path + "/summary.md") == 0)
        var outputs = VerifyOutputs()
        outputs.format = .github
        outputs.stepSummary = scratch.path + "/summary.md"
        #expect(throws: VerifyError.self) { try outputs.prepare() }
        // Planted after the check: the write itself refuses it, and says so.
        outputs.stepSummary = scratch.path + "/later.md"
        try outputs.prepare()
        #expect(symlink(target, scratch.path + "/later.md") == 0)
        do {
            try outputs.write(Self.outcome)
            Issue.record("the summary was written through a link")
        } catch {
            guard case .output(let message) = error else {
                Issue.record("not an output error: \(error)")
                return
            }
            #expect(message.contains("symbolic link"), "\(message)")
        }
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "kept\n")
    }

    /// Outside the github format there is no summary to write.
    @Test func onlyTheGitHubFormatWritesASummary() throws {
        let scratch = try Scratch()
        var outputs = VerifyOutputs()
        outputs.stepSummary = scratch.path + "/summary.md"
        try outputs.write(Self.outcome)
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/summary.md"))
    }
}

/// The trusted policy directory: every file whole, or an error.
@Suite struct TrustedPoliciesTests {
    @Test func aPolicyFileOverTheCapIsRefusedNotCut() throws {
        let scratch = try VerifyOutputsTests.Scratch()
        let policies = scratch.path + "/policies"
        #expect(mkdir(policies, 0o755) == 0)
        // A valid policy whose second half would be lost to a cut.
        let padding = String(repeating: "# padding\n", count: TrustedPolicies.maximumFileBytes / 10)
        try (padding + "language: x\n").write(toFile: policies + "/x.yaml", atomically: false, encoding: .utf8)
        do {
            _ = try TrustedPolicies.load(policies)
            Issue.record("a cut policy was read")
        } catch {
            #expect(error.description.contains("refused, not cut"), "\(error)")
        }
    }

    @Test func aMissingImageIsAPolicyErrorNamingTheFile() throws {
        let scratch = try VerifyOutputsTests.Scratch()
        let policies = scratch.path + "/policies"
        #expect(mkdir(policies, 0o755) == 0)
        try "language: x\ndetect: [x]\nimage: gone\nsteps:\n  - {name: t, kind: test, run: [t]}\n".write(
            toFile: policies + "/x.yaml", atomically: false, encoding: .utf8)
        do {
            _ = try TrustedPolicies.load(policies)
            Issue.record("loaded without its image")
        } catch {
            guard case .policy(let errors) = error else {
                Issue.record("not a policy error: \(error)")
                return
            }
            #expect(
                errors.map(\.description) == [
                    "x.yaml: image 'gone' is not in \(scratch.path)/images (images are read from images/ beside the policy directory)"
                ])
        }
    }
}
