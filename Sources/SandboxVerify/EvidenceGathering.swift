import SandboxModel
import SandboxPolicy
import SandboxReports
import SandboxVerdict

/// Stage 4, Evidence: pure. Each step that ran, with its reports read, becomes
/// evidence for the verdict, and a record of its output for `--out`.
struct EvidenceGathering {
    /// Keep each report file's bytes in its step's record (for `--out`); off, they
    /// are dropped once parsed, so that large reports are not held to the end.
    let keepsReportFiles: Bool
    private(set) var records: [StepRecord] = []

    init(keepsReportFiles: Bool) {
        self.keepsReportFiles = keepsReportFiles
    }

    mutating func add(_ ran: PlanExecution.StepRun) {
        let step = ran.planned.step
        var evidence = StepEvidence(
            name: ran.planned.label, kind: step.kind, result: ran.run.result, limits: ran.planned.limits)
        evidence.continuesOnError = step.continueOnError
        evidence.image = ran.planned.imageDigest.map { ran.planned.image + " " + $0 } ?? StepEvidence.hostImage
        evidence.outputTail = String(
            decoding: Self.tail(of: step, stdout: ran.run.stdout, stderr: ran.run.stderr), as: UTF8.self)
        // A stream cut at the output limit ends mid-record: its parse error says so.
        let outputCut = ran.run.result.limitsHit.contains(.output)
        var kept: [KeptReport] = []
        evidence.reports = ran.reports.map { spec, read in
            let name = spec.displayName
            switch read {
            case .success(let bytes):
                if keepsReportFiles, spec.isFile { kept.append(KeptReport(name: name, bytes: bytes)) }
                return ReportReader.evidence(
                    bytes, spec: spec, stepKind: step.kind, file: name, outputCut: outputCut && !spec.isFile)
            case .failure(let failure):
                return ReportEvidence(
                    name: name, kind: ReportReader.kind(of: spec, in: step.kind),
                    content: .failure(ReportError(file: name, reason: failure.reason)))
            }
        }
        var record = StepRecord(
            language: ran.planned.language, evidence: evidence, stdout: ran.run.stdout, stderr: ran.run.stderr)
        record.reportFiles = kept
        records.append(record)
    }

    /// What to quote when the step fails unexplained: the end of standard error;
    /// of standard output when standard error is blank and no report reads it.
    static func tail(of step: StepPolicy, stdout: [UInt8], stderr: [UInt8]) -> ArraySlice<UInt8> {
        let blank = stderr.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        let readsStdout = step.reports.contains { $0.source == .stdout }
        return (blank && !readsStdout ? stdout : stderr).suffix(StepEvidence.outputTailBytes)
    }
}

extension ReportSpec {
    var isFile: Bool {
        if case .file = source { return true }
        return false
    }

    /// The report's file name, or the stream it is read from.
    var displayName: String {
        switch source {
        case .file(let path): String(path.split(separator: "/").last ?? "report")
        case .stdout: "stdout"
        case .stderr: "stderr"
        }
    }
}
