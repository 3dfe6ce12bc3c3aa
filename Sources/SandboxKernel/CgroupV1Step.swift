import Glibc
import SandboxModel

/// A step's groups under cgroup v1: one per controller (memory, pids, and
/// cpuacct where mounted).
final class CgroupV1Step: StepCgroup {
    let memory: String
    let pids: String
    let cpuacct: String?
    var mode: String { "cgroup v1" }
    var accountsCPU: Bool { cpuacct != nil }

    init(
        memory memoryRoot: String, pids pidsRoot: String, cpuacct cpuacctRoot: String?, name: String,
        limits: ResourceLimits
    ) throws {
        let steps = CgroupHost.stepsDirectoryName
        memory = "\(memoryRoot)/\(steps)/\(name)"
        pids = "\(pidsRoot)/\(steps)/\(name)"
        cpuacct = cpuacctRoot.map { "\($0)/\(steps)/\(name)" }
        var created: [String] = []
        do {
            for (root, directory) in [(memoryRoot, memory), (pidsRoot, pids)]
                + (cpuacct.map { [(cpuacctRoot!, $0)] } ?? [])
            {
                try CgroupFiles.makeDirectory("\(root)/\(steps)")
                try CgroupFiles.makeDirectory(directory)
                created.append(directory)
            }
            try Descriptor.writeFile(memory + "/memory.limit_in_bytes", "\(limits.memory.bytes)")
            // Swap off: with swap accounting, memory+swap gets the same bound.
            if access(memory + "/memory.memsw.limit_in_bytes", F_OK) == 0 {
                try Descriptor.writeFile(memory + "/memory.memsw.limit_in_bytes", "\(limits.memory.bytes)")
            } else if CgroupFiles.hostHasSwap {
                throw SystemError(
                    "cgroup", errno: nil, path: memory,
                    hint: "the host has swap but no swap accounting (boot with swapaccount=1): swap cannot be kept off")
            }
            if access(memory + "/memory.swappiness", F_OK) == 0 {
                try? Descriptor.writeFile(memory + "/memory.swappiness", "0")
            }
            // Socket buffers are kernel memory v1 charges to a TCP counter of its own,
            // and only once that has a limit: without one, unread loopback buffers
            // held hundreds of MiB under a 64 MiB limit, outside it and its peak.
            let tcp = memory + "/memory.kmem.tcp.limit_in_bytes"
            guard access(tcp, F_OK) == 0 else {
                throw SystemError(
                    "cgroup", errno: nil, path: memory,
                    hint: "no memory.kmem.tcp.limit_in_bytes: a step's socket buffers could not be bounded")
            }
            try Descriptor.writeFile(tcp, "\(Self.socketBufferBound(limits.memory).bytes)")
            try Descriptor.writeFile(pids + "/pids.max", "\(limits.pids)")
            // Verify: the kernel rounds the memory limit to pages; anything above is not our limit.
            guard let memoryLimit = CgroupFiles.number(Descriptor.readSmallFile(memory + "/memory.limit_in_bytes")),
                memoryLimit <= limits.memory.bytes,
                CgroupFiles.number(Descriptor.readSmallFile(pids + "/pids.max")) == limits.pids
            else {
                throw SystemError("cgroup limits did not take effect", errno: nil, path: memory)
            }
        } catch {
            for directory in created.reversed() { rmdir(directory) }
            throw error
        }
    }

    /// What a step's socket buffers may hold beside its memory: a quarter of its
    /// memory limit, so that both together stay within 1.25 times the limit.
    static func socketBufferBound(_ memory: ByteSize) -> ByteSize {
        ByteSize(bytes: max(memory.bytes / 4, 1 << 20))
    }

    func attach(_ pid: Int32) throws {
        for directory in [memory, pids] + (cpuacct.map { [$0] } ?? []) {
            try Descriptor.writeFile(directory + "/cgroup.procs", "\(pid)")
        }
    }

    func usage() -> CgroupUsage {
        var usage = CgroupUsage()
        // The TCP counter's peak beside memory's: the sum bounds the true peak from above.
        // Without memory's own there is no peak to tell.
        let tcp = CgroupFiles.number(Descriptor.readSmallFile(memory + "/memory.kmem.tcp.max_usage_in_bytes")) ?? 0
        usage.peakMemoryBytes = CgroupFiles.number(Descriptor.readSmallFile(memory + "/memory.max_usage_in_bytes"))
            .map { $0 + tcp }
        usage.memoryLimitKills =
            CgroupFiles.counter(Descriptor.readSmallFile(memory + "/memory.oom_control"), "oom_kill") ?? 0
        usage.pidsLimitRefusals = CgroupFiles.counter(Descriptor.readSmallFile(pids + "/pids.events"), "max") ?? 0
        usage.cpuNanoseconds = cpuacct.flatMap { CgroupFiles.number(Descriptor.readSmallFile($0 + "/cpuacct.usage")) }
        return usage
    }

    func destroy() {
        for directory in [memory, pids] + (cpuacct.map { [$0] } ?? []) {
            CgroupFiles.killAndRemove(directory)
        }
    }
}
