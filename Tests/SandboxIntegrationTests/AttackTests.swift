import Foundation
import SandboxModel
import Synchronization
import Testing

/// Every row of the attack table in SECURITY.md, run for real: each test asserts
/// that the attack failed and that the host is unchanged.
@Suite(.serialized, .needsSandboxes) struct AttackTests {
    /// x86_64 system-call numbers the probes call directly.
    static let syscalls: [(name: String, number: Int)] = [
        ("ptrace", 101), ("process_vm_readv", 310), ("process_vm_writev", 311), ("userfaultfd", 323),
        ("io_uring_setup", 425), ("bpf", 321), ("perf_event_open", 298), ("keyctl", 250), ("add_key", 248),
        ("request_key", 249), ("kexec_load", 246), ("kexec_file_load", 320), ("init_module", 175),
        ("finit_module", 313), ("delete_module", 176), ("open_by_handle_at", 304), ("name_to_handle_at", 303),
        ("fsopen", 430), ("fsmount", 432), ("fsconfig", 431), ("fspick", 433), ("open_tree", 428),
        ("move_mount", 429), ("mount_setattr", 442), ("mount", 165), ("umount2", 166), ("pivot_root", 155),
        ("chroot", 161), ("unshare", 272), ("setns", 308),
    ]

    static let pythonSyscall = """
        import ctypes, os, sys
        libc = ctypes.CDLL(None, use_errno=True)
        def call(number, *args):
            ctypes.set_errno(0)
            result = libc.syscall(number, *[ctypes.c_long(a) for a in args])
            return result, ctypes.get_errno()

        """

    // MARK: terminal injection (bubblewrap CVE-2017-5226, flatpak CVE-2023-28100)

    @Test func noTerminalAndTIOCSTIRefused() throws {
        let before = HostSnapshot()
        let run = Harness.python(
            Self.pythonSyscall + """
                import fcntl, termios
                print("session_leader=%s" % (os.getsid(0) == os.getpid()))
                print("stdin_is_tty=%s" % os.isatty(0))
                try:
                    open("/dev/tty", "rb"); print("dev_tty=opened")
                except OSError as e:
                    print("dev_tty=%d" % e.errno)
                for name, request in (("tiocsti", termios.TIOCSTI), ("tiocsti_high", termios.TIOCSTI | (1 << 32)), ("tioclinux", 0x541C)):
                    result, error = call(16, 1, request, 0)
                    print("%s=%d,%d" % (name, result, error))
                result, error = call(16, 1, termios.TCGETS, 0)
                print("tcgets_errno=%d" % error)
                """)
        let values = run.values
        #expect(run.result.status == .exited, "\(run.stderr)")
        #expect(values["session_leader"] == "True")
        #expect(values["stdin_is_tty"] == "False")
        #expect(values["dev_tty"] == "\(ENXIO)" || values["dev_tty"] == "\(ENOENT)")
        #expect(values["tiocsti"] == "-1,\(EPERM)")
        #expect(values["tiocsti_high"] == "-1,\(EPERM)", "the high bits must not smuggle TIOCSTI past the filter")
        #expect(values["tioclinux"] == "-1,\(EPERM)")
        // An ordinary ioctl is allowed through (ENOTTY from the kernel: stdout is not a terminal).
        #expect(values["tcgets_errno"] == "\(ENOTTY)")
        #expect(run.denied["ioctl"] == 3)
        #expect(HostSnapshot() == before)
    }

    // MARK: ptrace into the sandbox (bubblewrap CVE-2016-8659, runc CVE-2016-9962)

    @Test func ptraceAndProcessMemoryRefused() {
        let run = Harness.python(
            Self.pythonSyscall + """
                print("attach=%d,%d" % call(101, 16, 1, 0, 0))
                print("vm_readv=%d,%d" % call(310, 1, 0, 0, 0, 0, 0))
                try:
                    open("/proc/1/mem", "rb").read(1); print("init_mem=read")
                except OSError as e:
                    print("init_mem=%d" % e.errno)
                try:
                    os.readlink("/proc/1/exe"); print("init_exe=read")
                except OSError as e:
                    print("init_exe=%d" % e.errno)
                """)
        let values = run.values
        #expect(values["attach"] == "-1,\(EPERM)")
        #expect(values["vm_readv"] == "-1,\(EPERM)")
        #expect(values["init_mem"] == "\(EACCES)", "init stays non-dumpable")
        #expect(values["init_exe"] == "\(EACCES)")
        #expect(run.denied["ptrace"] == 1)
        #expect(run.denied["process_vm_readv"] == 1)
    }

    // MARK: /proc/self/exe overwrite (runc CVE-2019-5736)

    @Test func hostBinaryIsNeitherWritableNorReachable() throws {
        let before = HostSnapshot()
        let run = Harness.python(
            """
            import os
            for path in ("/proc/1/exe", "/proc/self/exe", "/usr/bin/python3"):
                try:
                    open(path, "r+b"); print("%s=opened" % path)
                except OSError as e:
                    print("%s=%d" % (path, e.errno))
            print("host_binary_visible=%s" % os.path.exists("\(Harness.binary)"))
            """)
        let values = run.values
        #expect(values["/proc/1/exe"] == "\(EACCES)")
        let refusals = ["\(ETXTBSY)", "\(EROFS)", "\(EACCES)"]
        #expect(refusals.contains(values["/proc/self/exe"] ?? ""), "\(run.stdout)")
        #expect(refusals.contains(values["/usr/bin/python3"] ?? ""), "\(run.stdout)")
        #expect(values["host_binary_visible"] == "False")
        #expect(HostSnapshot() == before)
    }

    // MARK: leaked descriptors and cwd (runc CVE-2024-21626)

    @Test func noHostDescriptorLeaksIn() throws {
        let directory = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let secret = directory.appendingPathComponent("secret")
        try "host secret".write(to: secret, atomically: true, encoding: .utf8)
        // Deliberately not close-on-exec, and a directory too: what a careless supervisor leaks.
        let leakedFile = open(secret.path, O_RDONLY)
        let leakedDirectory = open(directory.path, O_RDONLY | O_DIRECTORY)
        defer {
            close(leakedFile)
            close(leakedDirectory)
        }
        let run = Harness.python(
            """
            import os
            fds = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
            print("fds=%s" % ",".join(map(str, fds)))
            print("cwd=%s" % os.getcwd())
            for fd in fds:
                if fd > 2:
                    try:
                        print("target_%d=%s" % (fd, os.readlink("/proc/self/fd/%d" % fd)))
                    except OSError:
                        pass
            """)
        let values = run.values
        // 0-2, and the descriptor listdir itself holds open.
        let fds = values["fds"]?.split(separator: ",").compactMap { Int($0) } ?? []
        #expect(fds.filter { $0 > 2 }.count <= 1, "fds: \(values["fds"] ?? "")")
        #expect(values["cwd"] == "/workspace")
        #expect(!run.stdout.contains(directory.path))
        #expect(!run.stdout.contains("secret"))
    }

    // MARK: symlinks planted in the workspace (crun CVE-2021-30465, runc CVE-2025-31133, flatpak CVE-2024-42472)

    @Test func workspaceSymlinksResolveInsideTheSandbox() throws {
        let workspace = Harness.workspace()
        defer { try? FileManager.default.removeItem(at: workspace) }
        try FileManager.default.createSymbolicLink(
            atPath: workspace.appendingPathComponent("etc").path, withDestinationPath: "/etc")
        try FileManager.default.createSymbolicLink(
            atPath: workspace.appendingPathComponent("root").path, withDestinationPath: "/root")
        try FileManager.default.createSymbolicLink(
            atPath: workspace.appendingPathComponent("up").path, withDestinationPath: "../../../../..")
        let before = HostSnapshot()
        let run = Harness.python(
            """
            import os
            print("shadow=%s" % os.path.exists("etc/shadow"))
            print("root=%s" % os.path.exists("root"))
            print("up=%s" % sorted(os.listdir("up")))
            try:
                open("etc/passwd", "a").write("evil::0:0::/:/bin/sh\\n"); print("append=ok")
            except OSError as e:
                print("append=%d" % e.errno)
            """
        ) { $0.workspace = workspace.path }
        let values = run.values
        #expect(values["shadow"] == "False")
        #expect(values["root"] == "False")
        #expect(
            values["up"] == "['bin', 'dev', 'etc', 'home', 'lib', 'lib64', 'proc', 'sbin', 'tmp', 'usr', 'workspace']")
        #expect(values["append"] == "\(EROFS)")
        #expect(HostSnapshot() == before)
        #expect(try String(contentsOfFile: "/etc/passwd", encoding: .utf8).contains("evil") == false)
    }

    // MARK: a report path turned into a symlink to a host secret

    @Test(.enabled(if: Harness.binaryAvailable, "needs the built sandbox executable"))
    func resultFileIsNeverWrittenThroughALink() throws {
        let workspace = Harness.workspace()
        defer { try? FileManager.default.removeItem(at: workspace) }
        let victim = workspace.appendingPathComponent("victim")
        try "precious".write(to: victim, atomically: true, encoding: .utf8)
        let planted = workspace.appendingPathComponent("result.json")
        try FileManager.default.createSymbolicLink(atPath: planted.path, withDestinationPath: victim.path)
        let outcome = try Harness.cli([
            "run", "--workspace", workspace.path, "--result", planted.path, "--", "/bin/true",
        ])
        #expect(outcome.status == 125)
        #expect(outcome.stderr.contains("a symbolic link on the way, which sandbox does not follow"))
        #expect(try String(contentsOf: victim, encoding: .utf8) == "precious")
    }

    @Test(.enabled(if: Harness.binaryAvailable, "needs the built sandbox executable"))
    func resultFileRefusesALinkedDirectoryOnTheWay() throws {
        let workspace = Harness.workspace()
        defer { try? FileManager.default.removeItem(at: workspace) }
        let victimDirectory = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: victimDirectory) }
        let victim = victimDirectory.appendingPathComponent("result.json")
        try "precious".write(to: victim, atomically: true, encoding: .utf8)
        // An earlier step replaced reports/ with a link to somewhere else.
        try FileManager.default.createSymbolicLink(
            atPath: workspace.appendingPathComponent("reports").path, withDestinationPath: victimDirectory.path)
        let outcome = try Harness.cli([
            "run", "--result", workspace.appendingPathComponent("reports/result.json").path, "--", "/bin/true",
        ])
        #expect(outcome.status == 125)
        #expect(try String(contentsOf: victim, encoding: .utf8) == "precious")
    }

    @Test func workspaceReachedThroughALinkIsRefused() throws {
        let workspace = Harness.workspace()
        defer { try? FileManager.default.removeItem(at: workspace) }
        let link = Harness.temporaryDirectory().appendingPathComponent("checkout")
        defer { try? FileManager.default.removeItem(at: link.deletingLastPathComponent()) }
        // An earlier step planted checkout -> / ; following it would mount the host's root.
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "/")
        let run = Harness.run(["/bin/true"]) { $0.workspace = link.path }
        #expect(run.result.status == .setupFailed)
        #expect(run.result.setupFailure?.message.contains("symbolic link") == true)
    }

    // MARK: the host's root uid, and the kernel's knobs in /proc

    @Test func nothingInsideActsAsTheHostsRoot() throws {
        let workspace = Harness.workspace()
        defer { try? FileManager.default.removeItem(at: workspace) }
        let run = Harness.python(
            """
            import os
            for path in ("/proc/sys/kernel/core_pattern", "/proc/sysrq-trigger", "/proc/sys/vm/drop_caches"):
                try:
                    open(path, "w").write("x"); print("%s=written" % path)
                except OSError as e:
                    print("%s=%d" % (path, e.errno))
            print("usr_owner=%d" % os.stat("/usr/bin").st_uid)
            open("made", "w").write("x")
            os.chmod("made", 0o4755)
            """
        ) { $0.workspace = workspace.path }
        let values = run.values
        for path in ["/proc/sys/kernel/core_pattern", "/proc/sysrq-trigger", "/proc/sys/vm/drop_caches"] {
            // sysrq-trigger is absent on kernels built without the magic SysRq key.
            let refusals = ["\(EACCES)", "\(EROFS)"] + (path.hasSuffix("sysrq-trigger") ? ["\(ENOENT)"] : [])
            #expect(refusals.contains(values[path] ?? ""), "\(path): \(values[path] ?? "")")
        }
        // Host root's files are nobody's inside: the sandbox is not host uid 0.
        #expect(values["usr_owner"] == "65534")
        var info = stat()
        #expect(stat(workspace.appendingPathComponent("made").path, &info) == 0)
        #expect(info.st_uid != 0, "a file the sandbox made, even setuid, is not the host root's")
        var owner = stat()
        #expect(stat(workspace.path, &owner) == 0)
        #expect(info.st_uid == (Harness.isRoot ? owner.st_uid : geteuid()), "the workspace's uid of the range")
    }

    // MARK: capabilities that survive (runc CVE-2022-29162, crun CVE-2022-27650)

    // MARK: per-user kernel quotas (host root's, for a root-started sandbox)

    /// The kernel counts inotify instances, queued signals and message-queue bytes
    /// per user, and charges a root-started sandbox's to host root: each is
    /// bounded per sandbox, well inside root's own budget. io_setup, which can
    /// reserve the machine's whole fs.aio-max-nr, is not implemented; prlimit
    /// reaches only the caller's own limits, never init's.
    @Test func hostQuotasAreBoundedPerSandbox() {
        let run = Harness.python(
            Self.pythonSyscall + """
                import signal
                instances = 0
                while libc.inotify_init1(0) >= 0:
                    instances += 1
                print("inotify=%d,%d" % (instances, ctypes.get_errno()))
                class sigval(ctypes.Union):
                    _fields_ = [("sival_int", ctypes.c_int), ("sival_ptr", ctypes.c_void_p)]
                signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGRTMIN])
                queued = 0
                while queued < 200000 and libc.sigqueue(os.getpid(), signal.SIGRTMIN, sigval(1)) == 0:
                    queued += 1
                print("sigqueue=%d,%d" % (queued, ctypes.get_errno()))
                context = ctypes.c_ulong(0)
                print("io_setup=%d,%d" % call(206, 128, ctypes.addressof(context)))
                limit = (ctypes.c_ulong * 2)(1, 1)
                print("prlimit_init=%d,%d" % call(302, 1, 7, ctypes.addressof(limit), 0))
                print("prlimit_own=%d,%d" % call(302, 0, 7, 0, ctypes.addressof(limit)))
                """)
        let values = run.values
        #expect(run.result.status == .exited, "\(run.stderr)")
        #expect(values["inotify"] == "32,\(EMFILE)")
        #expect(values["sigqueue"] == "4096,\(EAGAIN)")
        #expect(values["io_setup"] == "-1,\(ENOSYS)")
        #expect(run.denied["io_setup"] == nil, "not implemented, silently: its users fall back")
        #expect(values["prlimit_init"] == "-1,\(EPERM)")
        #expect(run.denied["prlimit64"] == 1)
        #expect(values["prlimit_own"] == "0,0")
    }

    /// The kernel keeps one pipe-buffer budget per host user (fs.pipe-user-pages-soft).
    /// Root's sandboxes each run as a host uid of their own: one that holds large
    /// pipes exhausts only its own budget, and another's new pipes keep their 64 KiB.
    @Test(.enabled(if: Harness.isRoot, "root's sandboxes; a user's all are that user"))
    func concurrentSandboxesDoNotShareAHostUsersPipeBudget() throws {
        var other: Captured?
        let holders = Self.whileHolding(
            """
            import fcntl, os
            pipes, size = [], 0
            while size < 1 << 30:
                pipe = os.pipe()
                pipes.append(pipe)
                try:
                    size += fcntl.fcntl(pipe[0], 1031, 1 << 20)
                except OSError:
                    break
            # Refused past the budget; new pipes still open, at 8 KiB once it is spent.
            pipes += [os.pipe() for _ in range(64)]
            print("held=%d" % size)
            print("last=%d" % fcntl.fcntl(pipes[-1][0], 1032))
            """
        ) {
            other = Harness.python("import fcntl, os; print('size=%d' % fcntl.fcntl(os.pipe()[0], 1032))")
        }
        let holder = try #require(holders.first)
        #expect(holder.result.exitCode == 0, "\(holder.stderr)")
        #expect(Int(holder.values["held"] ?? "") ?? 0 >= 32 << 20, "\(holder.stdout)")
        #expect(holder.values["last"] == "8192", "its own budget is spent: \(holder.stdout)")
        #expect(other?.values["size"] == "65536", "\(other?.stdout ?? "")\(other?.stderr ?? "")")
    }

    /// The kernel charges inotify instances up the chain of user-namespace owners:
    /// made by root's supervisor, five sandboxes holding their 32 each would take all
    /// of host root's 128 (fs.inotify.max_user_instances). Each namespace is made as
    /// its sandbox's own host uid, so host root keeps its budget.
    @Test(.enabled(if: Harness.isRoot, "a user's sandboxes are charged to that user"))
    func sandboxesDoNotSpendHostRootsInotifyInstances() throws {
        var hostInstance: Int32 = -1
        var hostErrno: Int32 = 0
        let holders = Self.whileHolding(
            """
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            held = []
            while len(held) < 64 and libc.inotify_init1(0) >= 0:
                held.append(1)
            print("held=%d" % len(held))
            """, count: 5
        ) {
            hostInstance = inotify_init1(Int32(IN_CLOEXEC))
            hostErrno = errno
        }
        if hostInstance >= 0 { close(hostInstance) }
        #expect(holders.map { $0.values["held"] } == Array(repeating: "32", count: 5), "\(holders.map(\.stderr))")
        #expect(hostInstance >= 0, "host root's inotify_init1: errno \(hostErrno)")
    }

    /// The toolchain directories a step sees (/usr here) are overlays of the
    /// sandbox's own: a lock it holds on one of their files stops neither the host
    /// nor another sandbox, and a watch it sets sees nothing of what the host runs.
    @Test func toolchainFilesAreNoChannelBetweenJobs() throws {
        let lock = """
            import fcntl
            locked = [open(path, "rb") for path in ("/usr/bin/ls", "/etc/ld.so.cache")]
            for file in locked:
                fcntl.flock(file, fcntl.LOCK_EX)

            """
        var hostLocked = false
        var other: Captured?
        let holders = Self.whileHolding(lock) {
            // /etc/ld.so.cache, which every dynamic program opens, is a copy of the sandbox's own.
            hostLocked = ["/usr/bin/ls", "/etc/ld.so.cache"].allSatisfy { path in
                let file = open(path, O_RDONLY | O_CLOEXEC)
                defer { if file >= 0 { close(file) } }
                return file >= 0 && flock(file, LOCK_EX | LOCK_NB) == 0
            }
            other = Harness.python(
                "import fcntl\ntry:\n    fcntl.flock(open('/usr/bin/ls', 'rb'), fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
                    + "    print('other=locked')\nexcept OSError as error:\n    print('other=%d' % error.errno)\n")
        }
        #expect(holders.first?.result.exitCode == 0, "\(holders.first?.stderr ?? "")")
        #expect(hostLocked, "the host's lock on /usr/bin/ls is not blocked by the sandbox's")
        #expect(other?.values["other"] == "locked", "\(other?.stdout ?? "")\(other?.stderr ?? "")")
        let watch = """
            import ctypes, os
            libc = ctypes.CDLL(None, use_errno=True)
            watcher = libc.inotify_init1(os.O_NONBLOCK)
            print("watch=%d" % libc.inotify_add_watch(watcher, b"/usr/bin/ls", 0xfff))

            """
        let watched = Self.whileHolding(
            watch,
            then:
                "\ntry:\n    print('events=%d' % len(os.read(watcher, 4096)))\nexcept BlockingIOError:\n    print('events=0')\n"
        ) {
            let ls = Process()
            ls.executableURL = URL(fileURLWithPath: "/usr/bin/ls")
            ls.standardOutput = FileHandle.nullDevice
            try? ls.run()
            ls.waitUntilExit()
        }
        // The overlays show what the host's directories hold, listed as well as read.
        let listed = Harness.python("import os\nprint('usr=' + ','.join(sorted(os.listdir('/usr'))))")
        let host = try FileManager.default.contentsOfDirectory(atPath: "/usr").sorted().joined(separator: ",")
        #expect(listed.values["usr"] == host, "\(listed.stdout)\(listed.stderr)")
        #expect(watched.first?.values["watch"] == "1", "\(watched.first?.stderr ?? "")")
        #expect(watched.first?.values["events"] == "0", "the host's run of /usr/bin/ls shows no event inside")
    }

    /// Root's sandboxes get device nodes of their own (the host's device numbers, on
    /// a tmpfs of the sandbox's): a watch on /dev/null sees nothing of the host's
    /// writes to its own, and the devices work as before.
    @Test(.enabled(if: Harness.isRoot, "mknod needs root; a user's sandboxes bind the host's nodes"))
    func deviceNodesAreTheSandboxsOwn() throws {
        let watch = """
            import ctypes, os
            libc = ctypes.CDLL(None, use_errno=True)
            watcher = libc.inotify_init1(os.O_NONBLOCK)
            print("watch=%d" % libc.inotify_add_watch(watcher, b"/dev/null", 0x2))
            with open("/dev/null", "w") as null:
                print("wrote=%d" % null.write("x"))
            print("zero=%r" % open("/dev/zero", "rb").read(2))
            print("null=%d,%d" % (os.major(os.stat("/dev/null").st_rdev), os.minor(os.stat("/dev/null").st_rdev)))
            try:
                print("own=%d" % len(os.read(watcher, 4096)))
            except BlockingIOError:
                print("own=0")

            """
        let watched = Self.whileHolding(
            watch,
            then:
                "\ntry:\n    print('events=%d' % len(os.read(watcher, 4096)))\nexcept BlockingIOError:\n    print('events=0')\n"
        ) {
            let null = FileHandle(forWritingAtPath: "/dev/null")
            null?.write(Data("from the host\n".utf8))
            try? null?.close()
        }
        let values = watched.first?.values ?? [:]
        #expect(values["watch"] == "1" && values["wrote"] == "1", "\(watched.first?.stderr ?? "")")
        #expect(values["zero"] == "b'\\x00\\x00'" && values["null"] == "1,3", "\(values)")
        #expect(values["own"] != "0", "the sandbox's own write is seen: the watch works")
        #expect(values["events"] == "0", "the host's write to its /dev/null shows no event inside")
    }

    /// Runs `count` sandboxes of `script` (Python) at once, each holding what the
    /// script made until `body` has run, then running `then`; returns what each did.
    static func whileHolding(_ script: String, count: Int = 1, then: String = "", _ body: () -> Void) -> [Captured] {
        let workspaces = (0..<count).map { _ in Harness.workspace() }
        defer { workspaces.forEach { try? FileManager.default.removeItem(at: $0) } }
        let runs = Mutex<[Int: Captured]>([:])
        for (index, workspace) in workspaces.enumerated() {
            Thread {
                let run = Harness.python(
                    script + """

                        import os as _os, time as _time
                        open("holding", "w").close()
                        for _ in range(600):
                            if _os.path.exists("release"):
                                break
                            _time.sleep(0.05)
                        """ + then
                ) { $0.workspace = workspace.path }
                runs.withLock { $0[index] = run }
            }.start()
        }
        let started = Date()
        for workspace in workspaces {
            let holding = workspace.appendingPathComponent("holding").path
            while !FileManager.default.fileExists(atPath: holding), runs.withLock({ $0.count }) < count,
                Date().timeIntervalSince(started) < 30
            {
                usleep(20_000)
            }
        }
        body()
        for workspace in workspaces {
            _ = FileManager.default.createFile(atPath: workspace.appendingPathComponent("release").path, contents: nil)
        }
        while runs.withLock({ $0.count }) < count { usleep(20_000) }
        return runs.withLock { runs in (0..<count).compactMap { runs[$0] } }
    }

    /// Init is a copy of the supervisor, argument strings and all: they name the
    /// host's paths (the binary, the tree, --out), and must not show inside.
    @Test func initsCommandLineNamesNothingOfTheHost() {
        let probe = Harness.python("print(repr(open('/proc/1/cmdline', 'rb').read().strip(b'\\0')))")
        #expect(probe.result.exitCode == 0, "\(probe.stderr)")
        #expect(probe.stdout == "b''\n")
    }

    /// /dev is read-only once built, as the root is: nothing can be planted there.
    /// Its device nodes and /dev/shm are mounts of their own and work as before.
    @Test func devIsReadOnlyOnceBuilt() {
        let run = Harness.run([
            "/bin/sh", "-c",
            "echo x > /dev/planted 2>/dev/null; echo dev=$?; echo x > /dev/null; echo null=$?; "
                + "echo x > /dev/shm/ok; echo shm=$?; mkdir /dev/d 2>/dev/null; echo mkdir=$?",
        ])
        #expect(run.values == ["dev": "2", "null": "0", "shm": "0", "mkdir": "1"], "\(run.stdout)\(run.stderr)")
    }

    /// What /proc tells of the host that no step needs reads as nothing: the boot
    /// arguments, the boot id, the disks, the ACPI and driver directories.
    @Test func theHostsProcDetailsAreMasked() {
        let probe = Harness.python(
            """
            import os
            for path in ("/proc/cmdline", "/proc/sys/kernel/random/boot_id", "/proc/partitions", "/proc/diskstats"):
                print(path, repr(open(path).read()))
            for path in ("/proc/acpi", "/proc/driver"):
                print(path, os.listdir(path) if os.path.isdir(path) else [])
            """)
        #expect(probe.result.exitCode == 0, "\(probe.stderr)")
        #expect(
            probe.stdout == """
                /proc/cmdline ''
                /proc/sys/kernel/random/boot_id ''
                /proc/partitions ''
                /proc/diskstats ''
                /proc/acpi []
                /proc/driver []

                """)
    }

    @Test func everyCapabilitySetIsEmptyAndNoNewPrivsIsSet() {
        let run = Harness.run(["/bin/sh", "-c", "grep -E '^(Cap|NoNewPrivs|Seccomp:|Uid|Gid)' /proc/self/status"])
        for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
            #expect(run.stdout.contains("\(set):\t0000000000000000"), "\(set) in \(run.stdout)")
        }
        #expect(run.stdout.contains("NoNewPrivs:\t1"))
        #expect(run.stdout.contains("Seccomp:\t2"))
        #expect(run.stdout.contains("Uid:\t1000\t1000\t1000\t1000"))
    }

    // MARK: the new mount API, clone3, nested namespaces, and the rest of the refused list

    @Test func refusedSystemCallsFailAndAreCountedByName() {
        let probes = Self.syscalls.map { "print(\"\($0.name)=%d,%d\" % call(\($0.number), 0, 0, 0, 0, 0))" }
        let run = Harness.python(
            Self.pythonSyscall + probes.joined(separator: "\n") + """

                print("clone3=%d,%d" % call(435, 0, 0))
                print("clone_newuser=%d,%d" % call(56, 0x10000000 | 17, 0, 0, 0, 0))
                print("clone_newns=%d,%d" % call(56, 0x20000 | 17, 0, 0, 0, 0))
                pid = os.fork()
                if pid == 0:
                    os._exit(7)
                print("fork=%d" % os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
                import socket
                for name, family, protocol in (("netlink_route", 16, 0), ("netlink_audit", 16, 9), ("netlink_uevent", 16, 15),
                        ("netlink_route_high", 16, 0x100000000), ("packet", 17, 0), ("vsock", 40, 0), ("unix", 1, 0),
                        ("inet", 2, 0), ("inet6", 10, 0)):
                    try:
                        kind = socket.SOCK_RAW if family == 16 else socket.SOCK_DGRAM
                        result = call(41, family, kind, protocol)
                        print("socket_%s=%s" % (name, "ok" if result[0] >= 0 else str(result[1])))
                    except OSError as e:
                        print("socket_%s=%d" % (name, e.errno))
                """)
        let values = run.values
        #expect(run.result.status == .exited, "\(run.stderr)")
        for probe in Self.syscalls {
            #expect(values[probe.name] == "-1,\(EPERM)", "\(probe.name): \(values[probe.name] ?? "missing")")
            #expect(run.denied[probe.name] == 1, "\(probe.name) counted")
        }
        #expect(values["clone3"] == "-1,\(ENOSYS)")
        #expect(run.denied["clone3"] == nil, "clone3 answers ENOSYS silently: libc falls back to clone")
        #expect(values["clone_newuser"] == "-1,\(EPERM)")
        #expect(values["clone_newns"] == "-1,\(EPERM)")
        #expect(run.denied["clone"] == 2)
        #expect(values["fork"] == "7", "an ordinary fork still works")
        for family in ["netlink_audit", "netlink_uevent", "packet", "vsock"] {
            #expect(values["socket_\(family)"] == "\(EPERM)", "\(family)")
        }
        // NETLINK_ROUTE alone, which getifaddrs opens (Go's net.Interfaces): it lists
        // the sandbox's own loopback. High bits do not make another protocol pass.
        for family in ["netlink_route", "netlink_route_high", "unix", "inet", "inet6"] {
            #expect(values["socket_\(family)"] == "ok", "\(family)")
        }
    }

    @Test func foreignArchitecturesAreKilled() throws {
        let workspace = Harness.workspace()
        defer { try? FileManager.default.removeItem(at: workspace) }
        let source = workspace.appendingPathComponent("i386.c")
        try """
        #include <stdio.h>
        int main(void) {
            long result;
            __asm__ volatile("int $0x80" : "=a"(result) : "a"(20L));
            printf("getpid via int 0x80 returned %ld\\n", result);
            return 0;
        }
        """.write(to: source, atomically: true, encoding: .utf8)
        let compile = try Harness.cliProcess(
            "/usr/bin/gcc", ["-O0", "-o", workspace.appendingPathComponent("i386").path, source.path])
        try #require(compile == 0, "gcc is needed to build the 32-bit probe")
        let i386 = Harness.run(["./i386"]) { $0.workspace = workspace.path }
        #expect(i386.result.status == .signaled)
        #expect(i386.result.signal == SIGSYS)
        #expect(!i386.stdout.contains("returned"))

        let x32 = Harness.python(Self.pythonSyscall + "print(\"x32=%d,%d\" % call(0x40000000 | 39))")
        #expect(x32.result.signal == SIGSYS)
        #expect(!x32.stdout.contains("x32="))
    }

    // MARK: cgroup v1 release_agent (CVE-2022-0492)

    @Test func noCgroupFilesystemInside() {
        let run = Harness.python(
            Self.pythonSyscall + """
                print("sys=%s" % os.path.exists("/sys"))
                os.makedirs("/tmp/cg", exist_ok=True)
                print("mount=%d,%d" % call(165, 0, 0, 0, 0, 0))
                print("cgroup_entry=%s" % open("/proc/self/cgroup").read().strip().split("\\n")[0])
                """)
        #expect(run.values["sys"] == "False")
        #expect(run.values["mount"] == "-1,\(EPERM)")
        // The cgroup namespace roots the step's group at "/".
        #expect(run.values["cgroup_entry"]?.hasSuffix(":/") == true, "\(run.stdout)")
    }

    // MARK: argument injection (flatpak CVE-2024-32462, firejail CVE-2020-17368)

    @Test(.enabled(if: Harness.binaryAvailable, "needs the built sandbox executable"))
    func commandWordsAreNeverOptions() throws {
        // A command that looks like an option is looked up as a command, not parsed.
        let dashed = try Harness.cli(["run", "--", "--workspace=/", "-c", "id"])
        #expect(dashed.status == 127)
        #expect(dashed.stderr.contains("execve --workspace=/: No such file or directory"))
        // Shell metacharacters in arguments stay literal.
        let literal = try Harness.cli(["run", "--", "/bin/echo", "$(id)", ";", "touch /workspace/x"])
        #expect(literal.status == 0)
        #expect(literal.stdout == "$(id) ; touch /workspace/x\n")
    }

    // MARK: side channels between parallel jobs

    @Test func parallelJobsShareNoShmSocketsOrLocks() async throws {
        async let first = Task.detached {
            Harness.python(
                """
                import socket, time, os
                open("/dev/shm/shared", "w").write("from the first job")
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.bind("\\0sandbox-side-channel"); s.listen(1)
                s2 = socket.socket(socket.AF_INET, socket.SOCK_STREAM); s2.bind(("127.0.0.1", 47123)); s2.listen(1)
                print("listening=yes", flush=True)
                time.sleep(2)
                """)
        }.value
        try await Task.sleep(nanoseconds: 700_000_000)
        let second = Harness.python(
            """
            import socket, os
            print("shm=%s" % os.path.exists("/dev/shm/shared"))
            for name, family, address in (("abstract", socket.AF_UNIX, "\\0sandbox-side-channel"), ("tcp", socket.AF_INET, ("127.0.0.1", 47123))):
                s = socket.socket(family, socket.SOCK_STREAM)
                try:
                    s.connect(address); print("%s=connected" % name)
                except OSError as e:
                    print("%s=%d" % (name, e.errno))
            """)
        let firstRun = await first
        #expect(firstRun.values["listening"] == "yes", "\(firstRun.stderr)")
        #expect(second.values["shm"] == "False")
        #expect(second.values["abstract"] == "\(ECONNREFUSED)")
        #expect(second.values["tcp"] == "\(ECONNREFUSED)")
    }

    @Test func noNetworkButLoopback() {
        let run = Harness.python(
            """
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM); s.bind(("127.0.0.1", 0)); s.listen(1)
            c = socket.create_connection(s.getsockname()); print("loopback=ok")
            for name, address in (("outside", ("1.1.1.1", 53)), ("host_v6", ("::1", 22))):
                family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
                t = socket.socket(family, socket.SOCK_STREAM); t.settimeout(2)
                try:
                    t.connect(address); print("%s=connected" % name)
                except OSError as e:
                    print("%s=%s" % (name, e.errno))
            print("interfaces=%s" % sorted(line.split(":")[0].strip() for line in open("/proc/net/dev").readlines()[2:]))
            """)
        #expect(run.values["loopback"] == "ok", "\(run.stderr)")
        #expect(run.values["outside"] == "\(ENETUNREACH)")
        #expect(run.values["host_v6"] == "\(ECONNREFUSED)", "::1 is the sandbox's own loopback")
        #expect(run.values["interfaces"] == "['lo']")
    }

    @Test func environmentAndHostSecretsStayOutside() {
        setenv("SANDBOX_TEST_HOST_SECRET", "hunter2", 1)
        let run = Harness.run([
            "/bin/sh", "-c",
            "env; ls -d /root /run /sys /etc/shadow /var 2>&1; ls -A /home; ls -A /home/sandbox; touch /home/sandbox/x && echo writable; hostname",
        ])
        #expect(!run.stdout.contains("hunter2"))
        #expect(!run.stdout.contains("SANDBOX_TEST_HOST_SECRET"))
        let names = run.stdout.split(separator: "\n").compactMap { $0.split(separator: "=").first.map(String.init) }
        #expect(
            Set(names.filter { $0.allSatisfy { $0.isUppercase || $0 == "_" } }).isSubset(of: [
                "PATH", "HOME", "LANG", "TMPDIR", "PWD", "SHLVL", "_",
            ]))
        for path in ["/root", "/run", "/sys", "/etc/shadow", "/var"] {
            #expect(run.stdout.contains("'\(path)': No such file or directory"), "\(path)")
        }
        // /home holds the sandbox user's own home alone: empty, writable, its own.
        #expect(run.stdout.hasSuffix("\nsandbox\nwritable\nsandbox\n"), "\(run.stdout)")
    }
}

extension Harness {
    /// Runs a host tool (the test's own setup, never untrusted input); returns its exit status.
    static func cliProcess(_ path: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
