import CSandbox
import Glibc
public import SystemPackage

extension SandboxProcess {
    /// pidfd_open(2) of init: a descriptor that becomes readable when it exits.
    public func openProcessDescriptor() throws(SystemError) -> FileDescriptor {
        let fd = sbx_pidfd_open(initPid)
        guard fd >= 0 else { throw SystemError.last("pidfd_open") }
        return FileDescriptor(rawValue: fd)
    }

    /// The seccomp listener the command sends once its filter is installed
    /// (SCM_RIGHTS on the listener socket); nil when it closed without one.
    public func receiveListener() -> FileDescriptor? {
        let fd = sbx_receive_descriptor(listenerSocket.rawValue)
        return fd > 0 ? FileDescriptor(rawValue: fd) : nil
    }

    /// The command's wait status, from the record init writes when the command
    /// ends (an `sbx_exit_record`); nil when init ended without writing one.
    public func readExitRecord() -> Int32? {
        var record = sbx_exit_record()
        let count = withUnsafeMutableBytes(of: &record) { Descriptor.read(status, into: $0) }
        return count == MemoryLayout<sbx_exit_record>.size ? record.wait_status : nil
    }
}

/// The seccomp user-notification listener of a sandbox's command: each call the
/// filter refuses arrives here to be counted and answered.
public enum SeccompListener {
    /// Takes the next refused call from `listener` (SECCOMP_IOCTL_NOTIF_RECV) and,
    /// when `answering`, fails it with EPERM (SECCOMP_IOCTL_NOTIF_SEND); otherwise
    /// its caller stays blocked until the step is torn down. Returns the call's
    /// name, or nil when no notification could be had.
    public static func takeRefusedCall(from listener: FileDescriptor, answering: Bool) -> String? {
        var number: Int32 = 0
        var arch: UInt32 = 0
        guard sbx_notify_answer(listener.rawValue, answering ? 1 : 0, EPERM, &number, &arch) == 0 else { return nil }
        return SeccompCompiler.syscallName(number)
    }
}

/// A thread that kills a sandbox at its wall-clock deadline even while the
/// supervisor's loop is blocked (writing to a reader that stopped reading).
public final class Watchdog {
    private let handle: OpaquePointer
    private var stopped = false

    /// Starts the thread: SIGKILL through `processDescriptor` (a pidfd) at
    /// `deadline`, CLOCK_MONOTONIC nanoseconds (pthread_create).
    public init(processDescriptor: FileDescriptor, deadline: UInt64) throws(SystemError) {
        guard let handle = sbx_watchdog_start(processDescriptor.rawValue, deadline) else {
            throw SystemError.last("pthread_create (watchdog)")
        }
        self.handle = handle
    }

    /// Stops and joins the thread; whether it had fired.
    public func stop() -> Bool {
        guard !stopped else { return false }
        stopped = true
        return sbx_watchdog_stop(handle) != 0
    }

    deinit { _ = stop() }
}
