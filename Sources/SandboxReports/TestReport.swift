/// One test as a report recorded it.
public struct TestCase: Equatable, Sendable {
    public enum Outcome: String, Equatable, Sendable {
        case passed, failed, errored, skipped
    }

    /// The suites it sits in, outermost first ("tests.test_math", "describe block").
    public var suite: String
    public var className: String
    public var name: String
    public var file: String?
    public var line: Int?
    public var seconds: Double
    public var outcome: Outcome
    /// Failed at least once, then passed on a rerun.
    public var flaky: Bool
    /// The failure, error or skip message, first line.
    public var message: String?
    /// The record is of a module that could not be collected (pytest's "collection
    /// failure"): an error, but not a test that ran.
    public var collectionError = false

    public init(
        suite: String = "", className: String = "", name: String, file: String? = nil, line: Int? = nil,
        seconds: Double = 0, outcome: Outcome, flaky: Bool = false, message: String? = nil
    ) {
        self.suite = suite
        self.className = className
        self.name = name
        self.file = file
        self.line = line
        self.seconds = seconds
        self.outcome = outcome
        self.flaky = flaky
        self.message = message
    }
}

/// The tests of one report, counted from the records themselves.
public struct TestReport: Equatable, Sendable {
    public var cases: [TestCase]
    /// Errors a report declares in a summary attribute without any record to show
    /// for them (gotestsum's build failures): counted as errors, never ignored.
    public var unrecordedErrors: Int

    public init(cases: [TestCase] = [], unrecordedErrors: Int = 0) {
        self.cases = cases
        self.unrecordedErrors = unrecordedErrors
    }

    public var total: Int { cases.count }
    public var passed: Int { cases.filter { $0.outcome == .passed }.count }
    public var failed: Int { cases.filter { $0.outcome == .failed }.count }
    public var errors: Int { cases.filter { $0.outcome == .errored }.count + unrecordedErrors }
    public var skipped: Int { cases.filter { $0.outcome == .skipped }.count }
    public var flaky: Int { cases.filter(\.flaky).count }
    /// Tests that ran: neither skipped nor a module that could not be collected.
    public var ran: Int { cases.filter { $0.outcome != .skipped && !$0.collectionError }.count }

    /// Several reports as one.
    public static func merged(_ reports: [TestReport]) -> TestReport {
        TestReport(cases: reports.flatMap(\.cases), unrecordedErrors: reports.map(\.unrecordedErrors).reduce(0, +))
    }
}
