import Glibc
import SandboxModel

/// A step's group under cgroup v2. The steps' parent needs memory and pids in
/// its subtree_control, which the kernel refuses while our own group holds
/// processes; then this process first moves into a leaf of its own.
final class CgroupV2Step: StepCgroup {
    let directory: String
    var mode: String { "cgroup v2" }
    var accountsCPU: Bool { true }

    init(own: String, name: String, limits: ResourceLimits) throws {
        let steps = own + "/" + CgroupHost.stepsDirectoryName
        directory = steps + "/" + name
        try Self.delegate(own: own, steps: steps)
        try CgroupFiles.makeDirectory(directory)
        do {
            try Descriptor.writeFile(directory + "/memory.max", "\(limits.memory.bytes)")
            if access(directory + "/memory.swap.max", F_OK) == 0 {
                try Descriptor.writeFile(directory + "/memory.swap.max", "0")
            } else if CgroupFiles.hostHasSwap {
                throw SystemError(
                    "cgroup", errno: nil, path: directory,
                    hint: "the host has swap but no memory.swap.max: swap cannot be kept off")
            }
            // v2 charges socket buffers to memory.current, unless the kernel was
            // booted to leave them out; then they would escape the limit.
            if CgroupFiles.socketMemoryUncharged {
                throw SystemError(
                    "cgroup", errno: nil, path: directory,
                    hint: "the kernel was booted with cgroup.memory=nosocket: socket buffers escape the memory limit")
            }
            try Descriptor.writeFile(directory + "/pids.max", "\(limits.pids)")
            guard let memoryLimit = CgroupFiles.number(Descriptor.readSmallFile(directory + "/memory.max")),
                memoryLimit <= limits.memory.bytes
            else {
                throw SystemError("cgroup limits did not take effect", errno: nil, path: directory)
            }
        } catch {
            rmdir(directory)
            throw error
        }
    }

    private static let delegation = Lock()

    static func delegate(own: String, steps: String) throws {
        try delegation.withLock {
            if let enabled = Descriptor.readSmallFile(steps + "/cgroup.subtree_control")?
                .split(whereSeparator: { $0 == " " || $0 == "\n" }),
                enabled.contains("memory") && enabled.contains("pids")
            {
                return
            }
            do {
                try Descriptor.writeFile(own + "/cgroup.subtree_control", "+memory +pids")
            } catch let error as SystemError where error.errno == EBUSY {
                let leaf = own + "/sandbox-supervisor"
                try CgroupFiles.makeDirectory(leaf)
                try Descriptor.writeFile(leaf + "/cgroup.procs", "\(getpid())")
                try Descriptor.writeFile(own + "/cgroup.subtree_control", "+memory +pids")
            }
            try CgroupFiles.makeDirectory(steps)
            try Descriptor.writeFile(steps + "/cgroup.subtree_control", "+memory +pids")
        }
    }

    func attach(_ pid: Int32) throws {
        try Descriptor.writeFile(directory + "/cgroup.procs", "\(pid)")
    }

    func usage() -> CgroupUsage {
        var usage = CgroupUsage()
        usage.peakMemoryBytes = CgroupFiles.number(Descriptor.readSmallFile(directory + "/memory.peak"))
        usage.memoryLimitKills =
            CgroupFiles.counter(Descriptor.readSmallFile(directory + "/memory.events"), "oom_kill") ?? 0
        usage.pidsLimitRefusals = CgroupFiles.counter(Descriptor.readSmallFile(directory + "/pids.events"), "max") ?? 0
        usage.cpuNanoseconds = CgroupFiles.counter(Descriptor.readSmallFile(directory + "/cpu.stat"), "usage_usec").map
        { $0 * 1000 }
        return usage
    }

    func destroy() {
        CgroupFiles.killAndRemove(directory)
    }
}
