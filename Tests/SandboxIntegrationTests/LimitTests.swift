import Foundation
import SandboxKernel
import SandboxModel
import SandboxSupervisor
import SystemPackage
import Testing

/// Resource bombs and runaway processes: each is stopped by its limit, and the
/// result record names it.
@Suite(.serialized, .needsSandboxes) struct LimitTests {
    static let cgroupsAvailable: Bool = {
        if case .unavailable = CgroupHost.detect() { return false }
        return Harness.isRoot
    }()

    @Test(.enabled(if: cgroupsAvailable, "needs root and a cgroup hierarchy with memory and pids"))
    func memoryBombIsKilledAtTheLimit() {
        let run = Harness.python(
            """
            chunks = []
            while True:
                chunks.append(bytearray(8 << 20))
            """
        ) { $0.limits.memory = .mebibytes(96) }
        #expect(run.result.status == .memoryLimit)
        #expect(run.result.signal == SIGKILL)
        #expect(run.result.limitsHit == [.memory])
        #expect(run.result.exitStatus == 137)
        #expect(run.result.peakMemoryBytes > 64 << 20)
        #expect(run.result.peakMemoryBytes <= 96 << 20)
    }

    @Test(.enabled(if: cgroupsAvailable, "needs root and a cgroup hierarchy with memory and pids"))
    func forkBombIsRefusedAtTheProcessLimit() {
        let run = Harness.python(
            """
            import os, time
            children = 0
            try:
                while True:
                    if os.fork() == 0:
                        time.sleep(30)
                        os._exit(0)
                    children += 1
            except OSError as e:
                print("refused_after=%d" % children)
                print("errno=%d" % e.errno)
                raise SystemExit(3)
            """
        ) { $0.limits.pids = 16 }
        #expect(run.result.status == .pidsLimit)
        #expect(run.result.exitCode == 3)
        #expect(run.result.limitsHit.contains(.pids))
        #expect(run.values["errno"] == "\(EAGAIN)")
        let children = Int(run.values["refused_after"] ?? "") ?? -1
        #expect(children >= 10 && children < 16, "\(children) children")
        // The sleeping children died with the step: it took nowhere near 30 seconds.
        #expect(run.result.wallSeconds < 20)
    }

    /// Unread loopback TCP buffers are kernel memory the step makes the kernel
    /// hold: bounded with the step's memory (under cgroup v1 they are charged to a
    /// TCP counter of their own, and only once it has a limit), and in its peak.
    /// Bare, 200 connections queue about 745 MiB here.
    @Test(.enabled(if: cgroupsAvailable, "needs root and a cgroup hierarchy with memory and pids"))
    func socketBuffersAreBoundedWithTheMemoryLimit() {
        let run = Harness.python(
            """
            import socket
            server = socket.socket()
            server.bind(("127.0.0.1", 0))
            server.listen(200)
            total, kept, chunk = 0, [], b"x" * 65536
            for _ in range(200):
                client = socket.create_connection(server.getsockname())
                accepted, _ = server.accept()
                client.setblocking(False)
                while True:
                    try:
                        total += client.send(chunk)
                    except OSError:
                        break
                kept.append((client, accepted))
            print("queued=%d" % total)
            """
        ) { $0.limits.memory = .mebibytes(64) }
        #expect(run.result.status == .exited, "\(run.stderr)")
        let queued = Int(run.values["queued"] ?? "") ?? Int.max
        #expect(queued <= 64 << 20, "\(queued >> 20) MiB of socket buffers under a 64 MiB limit")
        #expect(run.result.peakMemoryBytes >= UInt64(min(queued, 64 << 20) / 2), "the peak counts them")
    }

    @Test func privateTmpFillsUpWithoutTouchingTheHost() {
        let run = Harness.python(
            """
            import errno
            written = 0
            try:
                with open("/tmp/fill", "wb") as f:
                    while True:
                        f.write(b"x" * 65536); f.flush(); written += 65536
            except OSError as e:
                print("errno=%d" % e.errno)
            print("written=%d" % written)
            """
        ) { $0.limits.tmpSize = .mebibytes(8) }
        #expect(run.values["errno"] == "\(ENOSPC)")
        let written = Int(run.values["written"] ?? "") ?? -1
        #expect(written > 4 << 20 && written <= 8 << 20)
        #expect(!FileManager.default.fileExists(atPath: "/tmp/fill"))
    }

    @Test func fileSizeLimitStopsTheWriter() throws {
        let workspace = Harness.workspace()
        defer { try? FileManager.default.removeItem(at: workspace) }
        // dd keeps SIGXFSZ's default action (Python, for one, ignores it and sees EFBIG).
        let run = Harness.run(["/bin/dd", "if=/dev/zero", "of=big", "bs=1M", "count=4"]) {
            $0.limits.fileSize = .mebibytes(1)
            $0.workspace = workspace.path
        }
        #expect(run.result.limitsHit == [.fileSize])
        #expect(run.result.status == .signaled)
        #expect(run.result.signal == SIGXFSZ)
        let size =
            try FileManager.default.attributesOfItem(atPath: workspace.appendingPathComponent("big").path)[.size]
            as? Int
        #expect(size == 1 << 20)
    }

    @Test func outputFloodIsStoppedAndCapped() {
        let run = Harness.run(["/usr/bin/yes", "flood"]) { $0.limits.output = ByteSize(bytes: 65536) }
        #expect(run.result.status == .outputLimit)
        #expect(run.result.limitsHit == [.output])
        #expect(run.stdout.utf8.count == 65536, "exactly the limit is relayed")
        #expect(run.result.stdoutBytes > 65536)
    }

    @Test func outputLeftInAFullPipeAfterExitStillCountsAgainstTheLimit() {
        // A 1 MiB pipe lets the command write far past the limit and exit before
        // the supervisor has read any of it.
        let run = Harness.python(
            """
            import fcntl, os
            fcntl.fcntl(1, 1031, 1 << 20)
            os.write(1, b"x" * (512 << 10))
            """
        ) { $0.limits.output = ByteSize(bytes: 65536) }
        #expect(run.result.status == .outputLimit)
        #expect(run.result.limitsHit == [.output])
        #expect(run.stdout.utf8.count == 65536)
    }

    @Test func sleepingForeverTimesOut() {
        let run = Harness.run(["/bin/sleep", "1000"]) { $0.limits.timeout = TimeSpan(milliseconds: 700) }
        #expect(run.result.status == .timeout)
        #expect(run.result.limitsHit == [.timeout])
        #expect(run.result.wallSeconds >= 0.7 && run.result.wallSeconds < 5)
        #expect(run.result.exitStatus == 137)
    }

    /// A CI log reader that stops reading must not stop the deadline: the relay
    /// never blocks the supervisor.
    @Test func stalledOutputReaderCannotDelayTheTimeout() {
        guard let ends = try? Descriptor.pipe() else {
            Issue.record("no pipe")
            return
        }
        defer { [ends.read, ends.write].forEach(Descriptor.close) }
        var configuration = RunConfiguration(command: ["/usr/bin/yes", "flood"])
        configuration.limits.timeout = TimeSpan(milliseconds: 800)
        let err = Harness.anonymousFile()
        defer { Descriptor.close(err) }
        // Nobody reads the read end: the pipe fills after 64 KiB.
        let result = Supervisor().run(configuration, stdout: ends.write, stderr: err)
        #expect(result.status == .timeout)
        #expect(result.wallSeconds < 5)
        #expect(result.limitsHit == [.timeout])
        #expect(fcntl(ends.write.rawValue, F_GETFL) & O_NONBLOCK == 0, "the caller's descriptor keeps its flags")
    }

    @Test func cpuTimeOfTheWholeStepIsLimited() {
        // Two busy processes: the group's CPU time counts, not one process's.
        let run = Harness.run(["/bin/sh", "-c", "(while :; do :; done) & while :; do :; done"]) {
            $0.limits.cpuTime = .seconds(1)
        }
        #expect(run.result.status == .cpuTimeLimit)
        #expect(run.result.limitsHit.contains(.cpuTime))
        #expect(run.result.cpuSeconds >= 1)
    }

    @Test func daemonsDoNotOutliveTheStep() throws {
        let workspace = Harness.workspace()
        defer { try? FileManager.default.removeItem(at: workspace) }
        let heartbeat = workspace.appendingPathComponent("beat")
        let run = Harness.run([
            "/bin/sh", "-c",
            "(setsid sh -c 'while :; do echo beat >> /workspace/beat; sleep 0.05; done' </dev/null >/dev/null 2>&1 &); sleep 0.3; exit 4",
        ]) { $0.workspace = workspace.path }
        #expect(run.result.status == .exited)
        #expect(run.result.exitCode == 4)
        let size = try FileManager.default.attributesOfItem(atPath: heartbeat.path)[.size] as? Int ?? 0
        #expect(size > 0, "the daemon ran")
        usleep(400_000)
        let later = try FileManager.default.attributesOfItem(atPath: heartbeat.path)[.size] as? Int ?? 0
        #expect(later == size, "the daemon died with the step")
    }

    @Test func aDaemonHoldingStdoutDoesNotHangTheStep() {
        let run = Harness.run(["/bin/sh", "-c", "(sleep 1000 &); echo done"]) { $0.limits.timeout = .seconds(30) }
        #expect(run.result.status == .exited)
        #expect(run.stdout == "done\n")
        #expect(run.result.wallSeconds < 10)
    }

    @Test(
        .enabled(if: cgroupsAvailable, "needs root and a cgroup hierarchy"),
        .enabled(if: Harness.binaryAvailable, "needs the built sandbox executable"))
    func stepGroupsAreRemovedAndAbandonedOnesCleanedUp() throws {
        guard case .v1(let memory, _, _) = CgroupHost.detect() else { return }
        let steps = memory + "/sandbox-steps"
        // A group left by a supervisor that died: pid 999999 runs nothing.
        try? FileManager.default.createDirectory(atPath: steps, withIntermediateDirectories: true)
        let abandoned = steps + "/step-999999-1"
        try FileManager.default.createDirectory(atPath: abandoned, withIntermediateDirectories: true)
        // A separate supervisor process, so no other test's steps share its pid.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Harness.binary)
        process.arguments = ["run", "--", "/bin/true"]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: abandoned))
        let ours = try FileManager.default.contentsOfDirectory(atPath: steps).filter {
            $0.hasPrefix("step-\(process.processIdentifier)-")
        }
        #expect(ours.isEmpty, "\(ours)")
    }
}

/// How a step starts, ends and reports when things go wrong outside the command.
@Suite(.needsSandboxes) struct LifecycleTests {
    @Test func missingWorkspaceIsASetupFailure() {
        let run = Harness.run(["/bin/true"]) { $0.workspace = "/nonexistent/checkout" }
        #expect(run.result.status == .setupFailed)
        #expect(run.result.exitStatus == 125)
        #expect(run.result.setupFailure?.message == "workspace /nonexistent/checkout: No such file or directory")
    }

    @Test func missingCommandIs127() {
        let run = Harness.run(["no-such-command"])
        #expect(run.result.status == .setupFailed)
        #expect(run.result.exitStatus == 127)
        #expect(run.result.setupFailure?.message == "execve no-such-command: No such file or directory")
    }

    @Test func missingBindSourceNamesIt() throws {
        var configuration = RunConfiguration(command: ["/bin/true"])
        configuration.binds = [try BindMount(parsing: "/nonexistent/toolchain")]
        let run = Harness.run(["/bin/true"]) { $0.binds = configuration.binds }
        #expect(run.result.status == .setupFailed)
        #expect(run.result.setupFailure?.message == "mount source /nonexistent/toolchain: No such file or directory")
    }

    /// A single file can be bound, read-only, where a directory could not be.
    @Test func aFileCanBeBoundReadOnly() throws {
        let file = Harness.temporaryDirectory().appendingPathComponent("settings.conf")
        defer { try? FileManager.default.removeItem(at: file.deletingLastPathComponent()) }
        try "mirror = /opt/mirror\n".write(to: file, atomically: true, encoding: .utf8)
        let bind = try BindMount(parsing: "\(file.path):/opt/host/settings.conf")
        let read = Harness.run(["/bin/cat", "/opt/host/settings.conf"]) { $0.binds = [bind] }
        #expect(read.result.status == .exited && read.result.exitCode == 0, "\(read.stderr)")
        #expect(read.stdout == "mirror = /opt/mirror\n")
        let write = Harness.run(["/bin/sh", "-c", "echo x > /opt/host/settings.conf"]) { $0.binds = [bind] }
        #expect(write.result.exitCode != 0, "the bound file is read-only")
    }

    @Test func readOnlyBindIsReadOnly() throws {
        let directory = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try "tool".write(to: directory.appendingPathComponent("tool"), atomically: true, encoding: .utf8)
        let run = Harness.run(["/bin/sh", "-c", "cat /opt/toolchain/tool; echo; touch /opt/toolchain/new 2>&1"]) {
            $0.binds = [BindMount(source: directory.path, destination: "/opt/toolchain")]
        }
        #expect(run.stdout.hasPrefix("tool\n"))
        #expect(run.stdout.contains("Read-only file system"))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("new").path))
    }

    @Test func workspaceWritesLandInTheWorkspace() throws {
        let workspace = Harness.workspace()
        defer { try? FileManager.default.removeItem(at: workspace) }
        let run = Harness.run(["/bin/sh", "-c", "echo built > artifact && pwd"]) { $0.workspace = workspace.path }
        #expect(run.stdout == "/workspace\n")
        #expect(try String(contentsOf: workspace.appendingPathComponent("artifact"), encoding: .utf8) == "built\n")
    }

    @Test func stdoutAndStderrAreSeparateAndCounted() {
        let run = Harness.run(["/bin/sh", "-c", "printf out; printf error >&2"])
        #expect(run.stdout == "out")
        #expect(run.stderr == "error")
        #expect(run.result.stdoutBytes == 3)
        #expect(run.result.stderrBytes == 5)
    }

    @Test func killProfileEndsTheStepAndNamesTheCall() throws {
        var profile = SeccompProfile.default
        profile.onDeny = .kill
        let run = Harness.python(
            """
            import ctypes
            print("before", flush=True)
            ctypes.CDLL(None).syscall(101, 16, 1, 0, 0)
            print("after", flush=True)
            """
        ) { $0.seccomp = profile }
        #expect(run.result.signal == SIGSYS)
        #expect(run.result.limitsHit == [.seccomp])
        #expect(run.result.deniedSyscalls == [.init(name: "ptrace", count: 1)])
        #expect(run.stdout == "before\n")
    }

    @Test(.enabled(if: Harness.binaryAvailable, "needs the built sandbox executable"))
    func signalsAreRelayedToTheCommand() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Harness.binary)
        process.arguments = [
            "run", "--", "/bin/sh", "-c", "trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.05; done",
        ]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let ready = out.fileHandleForReading.availableData
        #expect(String(decoding: ready, as: UTF8.self) == "ready\n")
        kill(process.processIdentifier, SIGTERM)
        let rest = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 7)
        #expect(String(decoding: rest, as: UTF8.self) == "got TERM\n")
    }

    @Test(.enabled(if: Harness.binaryAvailable, "needs the built sandbox executable"))
    func killingTheSupervisorKillsTheSandbox() throws {
        let workspace = Harness.workspace()
        defer { try? FileManager.default.removeItem(at: workspace) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Harness.binary)
        process.arguments = [
            "run", "--workspace", workspace.path, "--", "/bin/sh", "-c",
            "echo ready; while :; do echo beat >> /workspace/beat; sleep 0.05; done",
        ]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        _ = out.fileHandleForReading.availableData
        usleep(200_000)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        usleep(200_000)
        let beat = workspace.appendingPathComponent("beat").path
        let size = try FileManager.default.attributesOfItem(atPath: beat)[.size] as? Int ?? 0
        usleep(400_000)
        let later = try FileManager.default.attributesOfItem(atPath: beat)[.size] as? Int ?? 0
        #expect(size > 0)
        #expect(later == size, "the sandbox died with its supervisor")
    }
}
