import Glibc
import SandboxKernel
public import SandboxModel
import SandboxVerdict
import SystemPackage

/// Progress on standard error. On a terminal, the steps' states are redrawn in
/// place (queued, running with its elapsed time, done with its outcome); a pipe
/// gets one plain line per change instead.
public final class ProgressDisplay: @unchecked Sendable {
    /// Redrawn in place: standard error is a terminal.
    private let live: Bool
    private var labels: [String] = []
    private var states: [String: String] = [:]
    private var started: [String: Double] = [:]
    private var drawnLines = 0
    private var running = true
    /// Allocated, so its address never moves.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var ticker = pthread_t()
    private var tickerStarted = false

    /// Live when standard error is a terminal. Its ticker thread starts with the
    /// first event, not before: `Verifier.verify` unshares its mounts first, which
    /// the kernel allows only while this process has one thread.
    public init() {
        live = isatty(2) == 1
        pthread_mutex_init(mutex, nil)
    }

    /// Starts the thread that redraws elapsed times; called with the mutex held.
    private func startTicker() {
        guard live, !tickerStarted, running else { return }
        let context = Unmanaged.passRetained(self).toOpaque()
        tickerStarted =
            pthread_create(
                &ticker, nil,
                { context in
                    let progress = Unmanaged<ProgressDisplay>.fromOpaque(context!).takeRetainedValue()
                    progress.tick()
                    return nil
                }, context) == 0
        if !tickerStarted { Unmanaged<ProgressDisplay>.fromOpaque(context).release() }
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Shows one event.
    public func handle(_ event: VerifyProgress) {
        guard live else {
            try? Descriptor.writeAll(.standardError, Self.line(event))
            return
        }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        startTicker()
        switch event {
        case .queued(let label):
            labels.append(label)
            states[label] = "queued"
        case .running(let label):
            started[label] = Self.now()
            states[label] = "running"
        case .skipped(let label, let why):
            states[label] = "skipped: \(why)"
        case .status(let label, let what):
            if states[label] == nil { labels.append(label) }
            states[label] = what
        case .done(let label, let result):
            started[label] = nil
            states[label] = "done: " + Self.outcome(result)
        }
        draw()
    }

    /// Stops the ticker and leaves the final states on screen; once.
    public func finish() {
        pthread_mutex_lock(mutex)
        let wasRunning = running
        running = false
        if live && wasRunning && !labels.isEmpty { draw() }
        pthread_mutex_unlock(mutex)
        if wasRunning && tickerStarted { pthread_join(ticker, nil) }
    }

    /// One event as a plain line: "[python/test] done: exited 0 in 2.119 s".
    public static func line(_ event: VerifyProgress) -> String {
        switch event {
        case .queued(let step): "[\(step)] queued\n"
        case .running(let step): "[\(step)] running\n"
        case .skipped(let step, let why): "[\(step)] skipped: \(why)\n"
        case .status(let label, let what): "[\(label)] \(what)\n"
        case .done(let step, let result): "[\(step)] done: \(outcome(result))\n"
        }
    }

    /// "exited 0 in 2.119 s", "output-limit in 2.397 s".
    public static func outcome(_ result: StepResult) -> String {
        let how: String =
            switch result.status {
            case .exited: "exited \(result.exitCode ?? 0)"
            case .signaled: "died of signal \(result.signal ?? 0)"
            case .setupFailed: "could not start: \(result.setupFailure?.message ?? "")"
            default: result.status.rawValue
            }
        return "\(how) in \(JSONText.seconds(result.wallSeconds)) s"
    }

    private func tick() {
        while true {
            usleep(250_000)
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            guard running else { return }
            if !started.isEmpty { draw() }
        }
    }

    /// Called with the mutex held.
    private func draw() {
        var text = drawnLines > 0 ? "\u{1B}[\(drawnLines)A" : ""
        for label in labels {
            var state = states[label] ?? ""
            if let start = started[label] {
                let tenths = Int((Self.now() - start) * 10)
                state += " \(tenths / 10).\(tenths % 10)s"
            }
            // One terminal line each, or the cursor arithmetic above goes wrong.
            let line = Escaping.singleLine("[\(label)] \(state)")
            text += "\u{1B}[2K" + String(line.prefix(Self.width - 1)) + "\n"
        }
        drawnLines = labels.count
        try? Descriptor.writeAll(.standardError, text)
    }

    /// The terminal's width (TIOCGWINSZ), 80 when unknown.
    private static let width: Int = {
        var size = winsize()
        return ioctl(2, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 10 ? Int(size.ws_col) : 80
    }()

    private static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
