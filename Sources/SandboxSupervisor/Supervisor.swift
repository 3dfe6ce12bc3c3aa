import Glibc
public import SandboxKernel
public import SandboxModel
public import SystemPackage

/// Runs one command in a sandbox: builds it, relays its output live, enforces
/// the limits the kernel cannot (wall clock, output, CPU of the whole group),
/// answers refused system calls, and judges how the step ended.
public struct Supervisor: Sendable {
    /// The host's layout and cgroups; probed when a step starts unless given.
    var hostOverride: HostLayout?
    var cgroupsOverride: CgroupHost?
    /// Signals received by `sandbox` itself that are passed on to the command
    /// (SIGINT, SIGTERM, SIGHUP). Only the CLI turns this on.
    public var relaysSignals = false
    /// A relay that outlives each run (verify's), used in place of one of the
    /// run's own: what arrives during a step is passed on to it, and stays
    /// recorded for the caller; a step still running 5 s later is killed.
    public var sharedSignals: SignalRelay?
    /// The host uid every run is, leased by the caller for all of them (verify's
    /// steps share one working copy, which that uid owns). Without one, each run
    /// started by root leases a uid of its own for as long as it lasts.
    public var identity: IdentityLease?
    public init(host: HostLayout? = nil, cgroups: CgroupHost? = nil) {
        hostOverride = host
        cgroupsOverride = cgroups
    }

    /// What a step is prepared against.
    struct Host {
        var layout: HostLayout
        var cgroups: CgroupHost
    }

    /// Runs `configuration`, relaying the command's output to `stdout` and `stderr`.
    /// Never throws: a sandbox that cannot be set up is a `setup-failed` result.
    public func run(
        _ configuration: RunConfiguration, stdout: FileDescriptor = .standardOutput,
        stderr: FileDescriptor = .standardError
    ) -> StepResult {
        let started = Clock.now()
        // libseccomp compiles on its own thread while the host is probed.
        let filter = SeccompCompiler.PendingFilter(configuration.seccomp)
        var result: StepResult
        do {
            var layout =
                try configuration.imageRoot.map(HostProbe.layout(ofImage:)) ?? hostOverride ?? HostProbe.layout()
            if configuration.imageRoot != nil, configuration.network == .host {
                // The host's network is reached as the host reaches it: through its
                // resolver and the authorities it trusts (a proxy's, say), not the image's.
                layout.certificates = HostProbe.layout().certificates
            }
            let host = Host(layout: layout, cgroups: cgroupsOverride ?? .detect())
            host.cgroups.warmAttach()
            let prepared = try prepare(configuration, host: host, filter: filter)
            // The lease is held until the sandbox has ended, and its cgroup with it.
            result = try withExtendedLifetime(prepared.lease) {
                try supervise(
                    prepared, configuration: configuration, cgroups: host.cgroups, stdout: stdout, stderr: stderr,
                    started: started)
            }
        } catch let error as SystemError {
            result = StepResult(status: .setupFailed)
            result.setupFailure = .init(
                stage: .supervisor(error.operation), errno: error.errno, message: error.description)
        } catch {
            result = StepResult(status: .setupFailed)
            result.setupFailure = .init(stage: .supervisor("setup"), errno: nil, message: "\(error)")
        }
        result.wallSeconds = Clock.seconds(since: started)
        return result
    }

    struct Prepared {
        var plan: LaunchPlan
        var usesCgroup: Bool
        /// The lease that holds the run's host uid (root only).
        var lease: IdentityLease?
    }

    func prepare(
        _ configuration: RunConfiguration, host: Host, filter: SeccompCompiler.PendingFilter
    ) throws -> Prepared {
        let cgroups = host.cgroups
        guard !configuration.command.isEmpty else {
            throw SystemError("command", errno: nil, hint: "no command given")
        }
        var workspace: String?
        var owner: stat?
        if let path = configuration.workspace {
            owner = try Self.inspectWorkspace(path)
        }
        let lease = try self.lease(forWorkspaceOwnedBy: owner?.st_uid)
        let identity = lease.map { (uid: $0.uid, gid: $0.uid) } ?? (uid: geteuid(), gid: getegid())
        if let path = configuration.workspace, let owner {
            workspace = try Self.checkWorkspace(path, owner: owner, hostUID: identity.uid)
            if let cache = FilterCache.standard, cache.isWritable(fromWorkspace: workspace!) {
                throw SystemError(
                    "workspace", errno: nil, path: path,
                    hint: "it holds sandbox's filter cache (\(cache.directory)), which a step could then rewrite; "
                        + "give a narrower workspace or set XDG_CACHE_HOME outside it")
            }
        }
        let limits = configuration.limits
        var processLimits: [ProcessLimit] = [
            .core(0),
            .fileSize(limits.fileSize.bytes),
            .openFiles(limits.openFiles),
            .cpuSeconds((limits.cpuTime.milliseconds + 999) / 1000),
            // Counted per user namespace: only the step's own processes. One above
            // the cgroup's bound, which counts init too, so that the cgroup refuses
            // first and counts the refusal.
            .processes(limits.pids + 1),
            // Counted per user and charged to the user that made the sandbox's
            // namespace (host root, when root runs it): bounded well inside root's own
            // budget (96549 signals, 800 KiB of queues by default) and the same for every
            // step, by the limits the command's user namespace records as it is made.
            .pendingSignals(4096),
            .messageQueueBytes(128 << 10),
        ]
        let usesCgroup = cgroups.canCreateSteps
        if !usesCgroup {
            // Root must get a cgroup: without one, memory is not bounded for the step.
            guard geteuid() != 0 else {
                if case .unavailable(let reason) = cgroups {
                    throw SystemError("cgroup", errno: nil, hint: reason)
                }
                throw SystemError("cgroup", errno: EACCES, hint: "cannot create step groups")
            }
            processLimits.append(.addressSpace(limits.memory.bytes))
        }
        let plan = LaunchPlan(
            operations: RootLayout.operations(
                for: configuration, host: host.layout, workspace: workspace,
                fileSources: Set(configuration.binds.map(\.source).filter(HostProbe.isRegularFile))),
            command: configuration.command,
            environment: configuration.environment.map { "\($0.name)=\($0.value)" },
            searchPath: configuration.environmentValue("PATH") ?? "/usr/bin:/bin",
            newNetwork: configuration.network == .none,
            limits: processLimits,
            filter: try filter.program(),
            hostUID: identity.uid,
            hostGID: identity.gid)
        return Prepared(plan: plan, usesCgroup: usesCgroup, lease: lease)
    }

    /// How this supervisor's limits fall short of a cgroup's, in one line; nil
    /// when a cgroup bounds every step (always as root, which runs no step without).
    public var weakerEnforcement: String? {
        let cgroups = cgroupsOverride ?? .detect()
        guard geteuid() != 0, !cgroups.canCreateSteps else { return nil }
        return "no cgroup this user may create (\(cgroups.modeName)): memory is limited per process (RLIMIT_AS), "
            + "processes by RLIMIT_NPROC, CPU time per process"
    }

    /// The lease of a root run's host uid: the one held for every run, unless the
    /// workspace is owned by another uid of the range, which the run then takes
    /// (refused while another sandbox holds it). A run of its own leases the
    /// workspace's owner, waiting for it, or else the lowest uid free.
    func lease(forWorkspaceOwnedBy owner: UInt32?) throws(SystemError) -> IdentityLease? {
        guard geteuid() == 0 else { return nil }
        let owned = owner.flatMap { IdentityLease.range.contains($0) ? $0 : nil }
        if let identity, owned == nil || owned == identity.uid {
            return identity
        }
        return try IdentityLease.acquire(preferring: owned, waiting: identity == nil)
    }

    /// Who the sandboxes are on the host, in words: the calling user, or for root
    /// an unprivileged uid of the lease range, one per sandbox running, so that
    /// nothing inside ever holds the host's uid 0 or another sandbox's budgets.
    public static var hostIdentityDescription: String {
        let range = IdentityLease.range
        return geteuid() == 0
            ? "host uid \(range.lowerBound)-\(range.upperBound) (gid the same), one of its own per sandbox running"
            : "host uid \(geteuid()), gid \(getegid())"
    }

    /// The workspace, reached without symbolic links (an earlier step may have
    /// planted one to redirect the mount): who owns it, and its mode.
    static func inspectWorkspace(_ path: String) throws -> stat {
        let fd = try Descriptor.openDirectoryRefusingLinks(path, role: "workspace")
        defer { Descriptor.close(fd) }
        var info = stat()
        guard fstat(fd.rawValue, &info) == 0 else { throw SystemError.last("workspace", path: path) }
        return info
    }

    /// The sandbox's host uid must be able to write the workspace. A root run takes
    /// the uid of the range that owns it, waiting while another sandbox holds it.
    /// Returns its absolute path.
    static func checkWorkspace(_ path: String, owner info: stat, hostUID: UInt32) throws -> String {
        if info.st_uid != hostUID && info.st_mode & S_IWOTH == 0 {
            let range = IdentityLease.range
            throw SystemError(
                "workspace", errno: EACCES, path: path,
                hint: "owned by uid \(info.st_uid), but the sandbox runs as host uid \(hostUID); "
                    + (geteuid() == 0
                        ? "chown -R it to one uid of \(range.lowerBound)-\(range.upperBound) (the sandbox then runs "
                            + "as that uid, once no other holds it), or run sandbox as an ordinary user"
                        : "use a directory you own"))
        }
        return try HostProbe.resolve(path, role: "workspace")
    }

    func supervise(
        _ prepared: Prepared, configuration: RunConfiguration, cgroups: CgroupHost, stdout: FileDescriptor,
        stderr: FileDescriptor,
        started: Clock.Instant
    ) throws -> StepResult {
        var cgroup: (any StepCgroup)?
        defer { cgroup?.destroy() }
        let own = sharedSignals == nil && relaysSignals ? SignalRelay() : nil
        defer { own?.restore() }
        let signals = sharedSignals ?? own
        // The group is made and joined while init builds the root: the cgroup
        // lock's grace period then costs the step nothing it would not wait anyway.
        let process = try SandboxLauncher.launch(prepared.plan) { pid in
            guard prepared.usesCgroup else { return }
            cgroups.removeAbandonedSteps()
            let step = try cgroups.createStep(limits: configuration.limits)
            cgroup = step
            try step.attach(pid)
        }
        defer { process.closeAll() }
        let pidfd: FileDescriptor
        do {
            pidfd = try process.openProcessDescriptor()
        } catch {
            Self.abandon(process)
            throw error
        }
        defer { Descriptor.close(pidfd) }

        var loop = EventLoop(
            process: process, pidfd: pidfd, configuration: configuration, cgroup: cgroup,
            outputs: [OutputChannel(stdout), OutputChannel(stderr)], signals: signals, started: started)
        loop.configurationOperations = prepared.plan.operations
        if sharedSignals != nil { loop.endsAfterSignal = 5_000_000_000 }
        // The loop enforces the deadline itself; the watchdog holds it even when the
        // loop is stuck writing to a reader that stopped reading.
        let deadline = started + configuration.limits.timeout.milliseconds * 1_000_000
        let watchdog: Watchdog
        do {
            watchdog = try Watchdog(processDescriptor: pidfd, deadline: deadline)
        } catch {
            Self.abandon(process)
            throw error
        }
        loop.run()
        let watchdogFired = watchdog.stop()

        var waitStatus: Int32 = 0
        var usage = rusage()
        _ = retryingInterrupts { wait4(process.initPid, &waitStatus, 0, &usage) }
        var observation = loop.observation
        if observation.commandEnd == nil, observation.setupFailure == nil {
            observation.commandEnd = process.readExitRecord().map(CommandEnd.init(waitStatus:))
        }
        // Init reports the command's end before it exits; with no report, the
        // watchdog's kill is what ended the step.
        if watchdogFired, observation.commandEnd == nil, observation.supervisorKill == nil {
            observation.supervisorKill = .timeout
        }
        let rusageSeconds =
            Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
        let counters = cgroup?.usage() ?? CgroupUsage()
        observation.memoryLimitKills = counters.memoryLimitKills
        observation.pidsLimitRefusals = counters.pidsLimitRefusals
        observation.cpuSeconds = counters.cpuNanoseconds.map { Double($0) / 1e9 } ?? rusageSeconds
        observation.cpuLimitSeconds = configuration.limits.cpuTime.seconds
        var result = observation.judged()
        result.peakMemoryBytes = counters.peakMemoryBytes ?? UInt64(max(usage.ru_maxrss, 0)) * 1024
        result.stdoutBytes = loop.bytesRead[0]
        result.stderrBytes = loop.bytesRead[1]
        result.deniedSyscalls = loop.denied.map { StepResult.DeniedSyscall(name: $0.name, count: $0.count) }
        return result
    }

    /// Kills a sandbox that cannot be supervised and reaps its init, so its
    /// cgroup empties before it is removed.
    static func abandon(_ process: SandboxProcess) {
        kill(process.initPid, SIGKILL)
        var status: Int32 = 0
        _ = retryingInterrupts { waitpid(process.initPid, &status, 0) }
    }
}

typealias Clock = MonotonicClock
