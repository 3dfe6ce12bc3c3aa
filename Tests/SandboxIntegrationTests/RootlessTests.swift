import Foundation
import Testing

/// `sandbox` run by an ordinary user: still contained, with the limits the host
/// gives such a user, and it says which ones it could not have.
@Suite(.serialized, .needsSandboxes) struct RootlessTests {
    static let userName = "sandbox-test"

    /// The user to run as (created when root), and a copy of the binary that user can execute.
    static let setup: (user: String?, binary: String)? = {
        guard FileManager.default.fileExists(atPath: Harness.binary) else { return nil }
        var user: String?
        if Harness.isRoot {
            if getpwnam(userName) == nil {
                let status = try? Harness.cliProcess(
                    "/usr/sbin/useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", userName])
                guard status == 0 else { return nil }
            }
            user = userName
        }
        let directory = Harness.temporaryDirectory()
        let copy = directory.appendingPathComponent("sandbox").path
        // Written through a close-on-exec descriptor: a process another test starts
        // meanwhile must not inherit it open for writing, or exec of the copy fails
        // with ETXTBSY ("Text file busy"), as it once did under make test.
        guard let bytes = FileManager.default.contents(atPath: Harness.binary) else { return nil }
        let fd = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o755)
        guard fd >= 0 else { return nil }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            guard written > 0 else { break }
            offset += written
        }
        close(fd)
        guard offset == bytes.count else { return nil }
        chmod(directory.path, 0o755)
        chmod(copy, 0o755)
        return (user, copy)
    }()

    /// Under `make test` these run whatever happens, and a failed setup fails them.
    static let available = Harness.sandboxesRequired || setup != nil

    static func run(_ arguments: [String], workspace: URL? = nil, environment: [String: String] = [:]) throws -> (
        status: Int32, stdout: String, stderr: String
    ) {
        let setup = try #require(Self.setup)
        if let workspace, let user = setup.user, let entry = getpwnam(user) {
            chown(workspace.path, entry.pointee.pw_uid, entry.pointee.pw_gid)
        }
        return try Harness.cli(arguments, asUser: setup.user, binary: setup.binary, environment: environment)
    }

    static func record(_ text: String) throws -> [String: Any] {
        let start = try #require(text.firstIndex(of: "{"))
        let object = try JSONSerialization.jsonObject(with: Data(text[start...].utf8))
        return try #require(object as? [String: Any])
    }

    @Test(.enabled(if: available, "needs the built executable, and root to create the test user"))
    func ordinaryUserGetsAContainedStep() throws {
        let workspace = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: workspace) }
        let outcome = try Self.run(
            [
                "run", "--workspace", workspace.path, "--", "/bin/sh", "-c",
                "id -u; grep -E '^CapEff|^NoNewPrivs' /proc/self/status; echo made > artifact",
            ], workspace: workspace)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout == "1000\nCapEff:\t0000000000000000\nNoNewPrivs:\t1\n")
        #expect(try String(contentsOf: workspace.appendingPathComponent("artifact"), encoding: .utf8) == "made\n")
        if outcome.stderr.contains("no cgroup") {
            #expect(outcome.stderr.contains("RLIMIT_AS"), "it says which limits are weaker")
        }
    }

    @Test(.enabled(if: available, "needs the built executable, and root to create the test user"))
    func memoryIsStillBounded() throws {
        let outcome = try Self.run([
            "run", "--memory", "128M", "--result", "-", "--", "/usr/bin/python3", "-c",
            "x = bytearray(512 << 20); print('allocated')",
        ])
        #expect(!outcome.stdout.contains("allocated"))
        #expect(outcome.status != 0)
        let record = try Self.record(outcome.stdout)
        #expect(record["status"] as? String != nil)
        #expect((record["status"] as? String) != "exited" || (record["exitCode"] as? Int) != 0)
    }

    @Test(.enabled(if: available, "needs the built executable, and root to create the test user"))
    func refusedCallsAreCountedToo() throws {
        let outcome = try Self.run([
            "run", "--result", "-", "--", "/usr/bin/python3", "-c",
            "import ctypes; print(ctypes.CDLL(None, use_errno=True).syscall(101, 16, 1, 0, 0))",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let record = try Self.record(outcome.stdout)
        let denied = try #require(record["deniedSyscalls"] as? [[String: Any]])
        #expect(denied.count == 1)
        #expect(denied.first?["name"] as? String == "ptrace")
        #expect(outcome.stdout.hasPrefix("-1\n"))
    }

    /// A step running as the user could rewrite the user's own filter cache, were
    /// it in the workspace: the run is refused.
    @Test(.enabled(if: available, "needs the built executable, and root to create the test user"))
    func workspaceHoldingTheFilterCacheIsRefused() throws {
        let home = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: home) }
        let outcome = try Self.run(
            ["run", "--workspace", home.path, "--", "/bin/true"], workspace: home, environment: ["HOME": home.path])
        #expect(outcome.status == 125)
        #expect(outcome.stderr.contains("holds sandbox's filter cache"))
        let elsewhere = try Self.run(["run", "--", "/bin/true"], environment: ["HOME": home.path])
        #expect(elsewhere.status == 0, "\(elsewhere.stderr)")
    }

    /// An ordinary user cannot mount the working copy's tmpfs: the verdict says its
    /// size is not bounded, rather than letting --workspace-size look enforced.
    @Test(.enabled(if: available, "needs the built executable, and root to create the test user"))
    func anUnboundedWorkingCopyIsSaid() throws {
        let parent = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let policies = try VerifyInterruptionTests.policies(in: parent)
        let tree = try VerifyInterruptionTests.tree("quick", in: parent)
        let outcome = try Self.run(["verify", "--format", "json", "--policy-dir", policies.path, tree.path])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let verdict = try Self.record(outcome.stdout)
        let notes = (verdict["notes"] as? [String]) ?? []
        #expect(notes.contains { $0.hasPrefix("the working copy is not size-bounded (--workspace-size needs root") })
    }

    @Test(.enabled(if: available, "needs the built executable, and root to create the test user"))
    func doctorReportsTheRootlessModes() throws {
        let outcome = try Self.run(["doctor"])
        #expect(outcome.status == 0, "\(outcome.stdout)\(outcome.stderr)")
        #expect(outcome.stdout.contains("rootless"))
        #expect(outcome.stdout.contains("probe sandbox"))
        #expect(outcome.stdout.contains("containment: available"))
    }
}
