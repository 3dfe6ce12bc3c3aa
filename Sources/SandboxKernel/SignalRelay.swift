import CSandbox
public import SystemPackage

/// Catches the signals a user sends `sandbox` (Ctrl-C, a CI runner's SIGTERM)
/// so they can be passed on to the command instead of ending the supervisor.
/// One relay may serve a whole `verify`: each step's supervisor passes what
/// arrives on to its step, and verify then stops and cleans up. Used from the
/// one thread that runs the steps, which is why it may be shared as Sendable.
public final class SignalRelay: @unchecked Sendable {
    /// Readable when one of the relayed signals is pending (a signalfd).
    public let fd: FileDescriptor
    private var previous = [UInt8](repeating: 0, count: 128)
    /// The first signal read, once one has been.
    public private(set) var received: Int32?

    /// Blocks SIGINT, SIGTERM and SIGHUP and opens a signalfd for them; nil when it cannot.
    public init?() {
        let fd = previous.withUnsafeMutableBytes { sbx_signal_relay_open($0.baseAddress, $0.count) }
        guard fd >= 0 else { return nil }
        self.fd = FileDescriptor(rawValue: fd)
    }

    /// The next pending signal, or nil.
    public func next() -> Int32? {
        let signal = sbx_signal_relay_next(fd.rawValue)
        guard signal > 0 else { return nil }
        received = received ?? signal
        return signal
    }

    /// The signal that has arrived, read now or before, or nil.
    public func arrived() -> Int32? {
        while next() != nil {}
        return received
    }

    /// Restores the signal mask as it was before.
    public func restore() {
        previous.withUnsafeBytes { sbx_signal_relay_close(fd.rawValue, $0.baseAddress) }
    }
}
