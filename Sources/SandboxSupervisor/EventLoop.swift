import Glibc
import SandboxKernel
import SandboxModel
import SystemPackage

/// The supervisor's single-threaded loop over one sandbox: output, setup
/// failures, refused system calls, the wall clock, CPU time and signals, all
/// through poll(2).
struct EventLoop {
    let process: SandboxProcess
    let pidfd: FileDescriptor
    let configuration: RunConfiguration
    let cgroup: (any StepCgroup)?
    /// Where the command's stdout and stderr are relayed.
    let outputs: [OutputChannel]
    let signals: SignalRelay?
    let started: Clock.Instant

    var observation = StepObservation()
    /// Bytes the command wrote on each stream.
    var bytesRead: [UInt64] = [0, 0]
    /// Refused calls by name, in the order first seen.
    var denied: [(name: String, count: Int)] = []
    var streamsOpen = [true, true]
    var failuresOpen = true
    var listenerSocketOpen = true
    /// The seccomp listener, once the command has sent it.
    var listener: FileDescriptor?
    var initExited: Clock.Instant?
    /// When a signal was passed on, where the step must end soon after it.
    var relayed: Clock.Instant?
    /// How long a step is given to end once a signal was passed on to it, when
    /// it must (verify's): a command may outlive it (a shell given SIGINT waits
    /// for its foreground child first, and that child was not given it).
    var endsAfterSignal: UInt64?

    static let chunk = 64 << 10
    static let cpuCheckInterval: UInt64 = 200_000_000
    /// Once init is gone every writer is dead; this only guards against the impossible.
    static let drainGrace: UInt64 = 2_000_000_000

    init(
        process: SandboxProcess, pidfd: FileDescriptor, configuration: RunConfiguration, cgroup: (any StepCgroup)?,
        outputs: [OutputChannel], signals: SignalRelay?, started: Clock.Instant
    ) {
        self.process = process
        self.pidfd = pidfd
        self.configuration = configuration
        self.cgroup = cgroup
        self.outputs = outputs
        self.signals = signals
        self.started = started
    }

    mutating func run() {
        let deadline = started + configuration.limits.timeout.milliseconds * 1_000_000
        let watchCPU = cgroup?.accountsCPU ?? false
        let cpuLimit = configuration.limits.cpuTime.milliseconds * 1_000_000
        var buffer = [UInt8](repeating: 0, count: Self.chunk)
        defer { Descriptor.close(listener) }
        while true {
            let now = Clock.now()
            if let exited = initExited {
                let drained = !streamsOpen.contains(true) && outputs.allSatisfy(\.pending.isEmpty)
                if drained || now - exited > Self.drainGrace { break }
            }
            if initExited == nil && now >= deadline {
                terminate(.timeout)
            }
            if initExited == nil && watchCPU, let used = cgroup?.usage().cpuNanoseconds, used >= cpuLimit {
                terminate(.cpuTime)
            }
            if initExited == nil, let relayed, let grace = endsAfterSignal, now - relayed >= grace {
                kill(process.initPid, SIGKILL)
            }
            var fds: [pollfd] = []
            var roles: [Role] = []
            func watch(_ fd: FileDescriptor, _ role: Role) {
                fds.append(pollfd(fd: fd.rawValue, events: Int16(POLLIN), revents: 0))
                roles.append(role)
            }
            for stream in 0..<2 {
                // Backpressure: while a reader lags, the command's pipe fills and it waits.
                if !outputs[stream].pending.isEmpty {
                    fds.append(pollfd(fd: outputs[stream].fd.rawValue, events: Int16(POLLOUT), revents: 0))
                    roles.append(.flush(stream))
                } else if streamsOpen[stream] {
                    watch(stream == 0 ? process.stdout : process.stderr, .output(stream))
                }
            }
            if failuresOpen { watch(process.failures, .failures) }
            if listenerSocketOpen { watch(process.listenerSocket, .listenerSocket) }
            if let listener { watch(listener, .listener) }
            if initExited == nil { watch(pidfd, .initExit) }
            if let signals { watch(signals.fd, .signal) }

            var waitNanos =
                initExited.map { Self.drainGrace - min(Self.drainGrace, now - $0) }
                ?? (deadline > now ? deadline - now : 0)
            if watchCPU && initExited == nil { waitNanos = min(waitNanos, Self.cpuCheckInterval) }
            if initExited == nil, let relayed, let grace = endsAfterSignal {
                waitNanos = min(waitNanos, grace - min(grace, now - relayed))
            }
            let waitMillis = Int32(min((waitNanos + 999_999) / 1_000_000, 60_000))
            let ready = poll(&fds, nfds_t(fds.count), waitMillis)
            if ready < 0 {
                if errno == EINTR { continue }
                terminate(.timeout)
                break
            }
            for (index, fd) in fds.enumerated() where fd.revents != 0 {
                switch roles[index] {
                case .output(let stream): relay(stream, buffer: &buffer)
                case .flush(let stream): outputs[stream].flush()
                case .failures: readFailure()
                case .listenerSocket: receiveListener()
                case .listener: answerRefusedCall(revents: fd.revents)
                case .initExit: initExited = Clock.now()
                case .signal:
                    while let signal = signals?.next() {
                        kill(process.initPid, signal)
                        relayed = relayed ?? Clock.now()
                    }
                }
            }
        }
    }

    enum Role {
        case output(Int)
        case flush(Int)
        case failures
        case listenerSocket
        case listener
        case initExit
        case signal
    }

    mutating func terminate(_ reason: StepObservation.SupervisorKill) {
        if observation.supervisorKill == nil && initExited == nil {
            observation.supervisorKill = reason
        }
        kill(process.initPid, SIGKILL)
    }

    mutating func relay(_ stream: Int, buffer: inout [UInt8]) {
        let fd = stream == 0 ? process.stdout : process.stderr
        let count = buffer.withUnsafeMutableBytes { Descriptor.read(fd, into: $0) }
        guard count > 0 else {
            if count == 0 || (errno != EAGAIN && errno != EINTR) { streamsOpen[stream] = false }
            return
        }
        let limit = configuration.limits.output.bytes
        let before = bytesRead[stream]
        bytesRead[stream] += UInt64(count)
        let allowed = before >= limit ? 0 : Int(min(UInt64(count), limit - before))
        if allowed > 0 {
            buffer.withUnsafeBytes { outputs[stream].send(UnsafeRawBufferPointer(rebasing: $0[0..<allowed])) }
        }
        if bytesRead[stream] > limit {
            // Over the limit is over the limit, even when the command had already
            // exited and only its pipe still held the rest: the output was cut.
            if observation.supervisorKill == nil { observation.supervisorKill = .outputLimit }
            if initExited == nil { kill(process.initPid, SIGKILL) }
        }
    }

    mutating func readFailure() {
        guard
            let failure = process.readSetupFailure(operations: configurationOperations, command: configuration.command)
        else {
            failuresOpen = false
            return
        }
        // The first failure is the cause; later ones follow from it.
        if observation.setupFailure == nil { observation.setupFailure = failure }
    }

    var configurationOperations: [RootOperation] = []

    mutating func receiveListener() {
        listenerSocketOpen = false
        if let fd = process.receiveListener() { listener = fd }
    }

    mutating func answerRefusedCall(revents: Int16) {
        // Under `on-deny kill` the call is never answered: the caller stays blocked
        // in it until the step is torn down, so nothing after it runs.
        let killing = configuration.seccomp.onDeny == .kill
        guard let listener else { return }
        if revents & Int16(POLLIN) != 0,
            let name = SeccompListener.takeRefusedCall(from: listener, answering: !killing)
        {
            if let index = denied.firstIndex(where: { $0.name == name }) {
                denied[index].count += 1
            } else {
                denied.append((name, 1))
            }
            if killing { terminate(.refusedSyscall) }
            return
        }
        // Every filtered process is gone, or the listener broke: stop watching it.
        if revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 {
            Descriptor.close(listener)
            self.listener = nil
        }
    }
}
