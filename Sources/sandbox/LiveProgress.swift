import Glibc
import SandboxModel
import SandboxVerify

/// The steps' states on a terminal, redrawn in place: queued, running with its
/// elapsed time, done with its outcome. A pipe gets plain lines instead.
final class LiveProgress: @unchecked Sendable {
    private var labels: [String] = []
    private var states: [String: String] = [:]
    private var started: [String: Double] = [:]
    private var drawnLines = 0
    private var running = true
    private var mutex = pthread_mutex_t()
    private var ticker = pthread_t()

    /// A live display when stderr is a terminal; nil otherwise.
    static func onTerminal() -> LiveProgress? {
        isatty(2) == 1 ? LiveProgress() : nil
    }

    private init() {
        pthread_mutex_init(&mutex, nil)
        let context = Unmanaged.passRetained(self).toOpaque()
        pthread_create(
            &ticker, nil,
            { context in
                let progress = Unmanaged<LiveProgress>.fromOpaque(context!).takeRetainedValue()
                progress.tick()
                return nil
            }, context)
    }

    func handle(_ event: VerifyProgress) {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
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
        pthread_mutex_lock(&mutex)
        running = false
        draw()
        pthread_mutex_unlock(&mutex)
        pthread_join(ticker, nil)
    }

    private func tick() {
        while true {
            usleep(250_000)
            pthread_mutex_lock(&mutex)
            defer { pthread_mutex_unlock(&mutex) }
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
            text += "\u{1B}[2K[\(label)] \(state)\n"
        }
        drawnLines = labels.count
        FileDescriptorOutput.standardError.write(text)
    }

    private static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
