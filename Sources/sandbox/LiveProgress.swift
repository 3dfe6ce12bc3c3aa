import Glibc
import SandboxModel
import SandboxVerdict
import SandboxVerify

/// The steps' states on a terminal, redrawn in place: queued, running with its
/// elapsed time, done with its outcome. A pipe gets plain lines instead.
final class LiveProgress: @unchecked Sendable {
    private var labels: [String] = []
    private var states: [String: String] = [:]
    private var started: [String: Double] = [:]
    private var drawnLines = 0
    private var running = true
    /// Allocated, so its address never moves.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var ticker = pthread_t()
    private var tickerStarted = false

    /// A live display when stderr is a terminal; nil otherwise.
    static func onTerminal() -> LiveProgress? {
        isatty(2) == 1 ? LiveProgress() : nil
    }

    private init() {
        pthread_mutex_init(mutex, nil)
        let context = Unmanaged.passRetained(self).toOpaque()
        tickerStarted =
            pthread_create(
                &ticker, nil,
                { context in
                    let progress = Unmanaged<LiveProgress>.fromOpaque(context!).takeRetainedValue()
                    progress.tick()
                    return nil
                }, context) == 0
        if !tickerStarted { Unmanaged<LiveProgress>.fromOpaque(context).release() }
    }

    func handle(_ event: VerifyProgress) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        switch event {
        case .queued(let label):
            labels.append(label)
            states[label] = "queued"
        case .running(let label):
            started[label] = Self.now()
            states[label] = "running"
        case .skipped(let label, let why):
            states[label] = "skipped: \(why)"
        case .done(let label, let result):
            started[label] = nil
            states[label] = "done: " + VerifyCommand.outcome(result)
        }
        draw()
    }

    /// Stops the ticker and leaves the final states on screen.
    func finish() {
        pthread_mutex_lock(mutex)
        running = false
        draw()
        pthread_mutex_unlock(mutex)
        if tickerStarted { pthread_join(ticker, nil) }
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
        FileDescriptorOutput.standardError.write(text)
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
