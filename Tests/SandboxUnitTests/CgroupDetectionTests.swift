import Testing

@testable import SandboxKernel

/// Detection from the text of /proc/self/mountinfo and /proc/self/cgroup.
@Suite struct CgroupDetectionTests {
    // Captured on this project's CI machine (Debian 12, kernel 6.18, hybrid mode).
    static let hybridMountinfo = """
        30 23 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
        31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
        34 30 0:30 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory
        35 30 0:31 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,pids
        36 30 0:32 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,cpu,cpuacct
        """
    static let hybridMembership = """
        8:pids:/
        4:memory:/process_api/2e69bfae
        2:cpu,cpuacct:/
        0::/
        """

    @Test func hybridHostUsesV1() {
        let host = CgroupHost.detect(
            mountinfo: Self.hybridMountinfo, membership: Self.hybridMembership, controllersOf: { _ in "hugetlb\n" })
        #expect(
            host
                == .v1(
                    memory: "/sys/fs/cgroup/memory/process_api/2e69bfae", pids: "/sys/fs/cgroup/pids",
                    cpuacct: "/sys/fs/cgroup/cpu,cpuacct"))
    }

    @Test func unifiedHostUsesV2() {
        let mountinfo = "25 20 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
        let host = CgroupHost.detect(
            mountinfo: mountinfo, membership: "0::/user.slice/session-1.scope\n",
            controllersOf: { path in path == "/sys/fs/cgroup/user.slice/session-1.scope" ? "cpu memory pids\n" : nil })
        #expect(host == .v2(directory: "/sys/fs/cgroup/user.slice/session-1.scope"))
    }

    @Test func v2WithoutMemoryIsUnavailable() {
        let mountinfo = "25 20 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
        let host = CgroupHost.detect(mountinfo: mountinfo, membership: "0::/\n", controllersOf: { _ in "cpu io\n" })
        guard case .unavailable = host else {
            Issue.record("expected unavailable, got \(host)")
            return
        }
    }

    @Test func escapedMountPoints() {
        #expect(CgroupHost.unescapeMountPath("/a\\040b") == "/a b")
        #expect(CgroupHost.unescapeMountPath("/plain") == "/plain")
    }
}
