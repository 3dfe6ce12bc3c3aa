import Glibc
import SandboxKernel
import SandboxModel
import SandboxPolicy

/// Stage 3, Execute: runs a plan's steps in order, each in its own sandbox on
/// one working copy of the tree, and reads their reports from inside. Each step
/// is handed on as it ends, so that its report bytes need not be held to the end.
struct PlanExecution {
    let runner: any SandboxRunner
    let workspaceSize: ByteSize
    /// The signal that stops the run, once one has arrived.
    var interrupted: () -> Int32? = { nil }

    /// What a step left: how its sandbox ended, what it wrote, and each report's
    /// bytes as read from inside (or why they could not be read).
    struct StepRun {
        var planned: PlannedStep
        var run: CapturedRun
        var reports: [(spec: ReportSpec, bytes: Result<[UInt8], ReportFailure>)]
    }

    /// Runs `plan` on a copy of `source`; returns what the verdict should say
    /// about the copy itself (a bound it could not have, a removal that failed).
    func run(
        _ plan: VerifyPlan, on source: SourceTree, progress: (VerifyProgress) -> Void, finished: (StepRun) -> Void
    ) throws(VerifyError) -> [String] {
        let work: Workspace
        do {
            work = try Workspace(
                copying: source.path, excluding: plan.copyExclude, runner: runner, size: workspaceSize)
        } catch {
            throw interrupted().map { .interrupted($0) } ?? error
        }
        for step in plan.steps { progress(.queued(step.label)) }
        for step in plan.steps {
            // A signal stops everything: the step it reached was given it.
            if let signal = interrupted() {
                work.remove()
                throw .interrupted(signal)
            }
            if let reason = step.skipped {
                progress(.skipped(step.label, reason))
                continue
            }
            // `only-if` names files of which any one must exist (an ESLint config
            // has several names); links resolve inside the copy, never out of it.
            let onlyIf = step.step.onlyIf
            if !onlyIf.isEmpty, !onlyIf.contains(where: { Descriptor.existsInside(work.path, $0) }) {
                progress(.skipped(step.label, "none of \(onlyIf.joined(separator: ", ")) is present"))
                continue
            }
            progress(.running(step.label))
            let ran = run(step, in: work)
            progress(.done(step.label, ran.run.result))
            finished(ran)
        }
        if let signal = interrupted() {
            work.remove()
            throw .interrupted(signal)
        }
        return work.notes + (work.remove().map { [$0] } ?? [])
    }

    func run(_ step: PlannedStep, in work: Workspace) -> StepRun {
        let run: CapturedRun
        switch step.launch {
        case .cannotStart(let failure):
            var result = StepResult(status: .setupFailed)
            result.setupFailure = failure
            run = CapturedRun(result: result)
        case .run(var configuration):
            configuration.workspace = work.path
            run = runner.capture(configuration, stdoutCap: step.captureCap, stderrCap: step.captureCap)
        }
        let started = run.result.status != .setupFailed
        let reports = step.step.reports.map { spec -> (ReportSpec, Result<[UInt8], ReportFailure>) in
            guard started else { return (spec, .failure(ReportFailure("not written: the step could not start"))) }
            switch spec.source {
            case .stdout: return (spec, .success(run.stdout))
            case .stderr: return (spec, .success(run.stderr))
            case .file(let path): return (spec, work.readInside(path, cap: PlannedStep.reportCap))
            }
        }
        return StepRun(planned: step, run: run, reports: reports)
    }
}
