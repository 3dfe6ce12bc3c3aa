import Glibc
import SystemPackage
import Testing

@testable import SandboxKernel

/// Relaying a step's output must never block the supervisor: a reader that
/// stops reading gets a queue, one that goes away gets nothing more.
@Suite struct OutputChannelTests {
    /// F_GETPIPE_SZ, which Glibc's module does not export.
    static let getPipeSize: Int32 = 1032

    func send(_ channel: OutputChannel, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { channel.send($0) }
    }

    @Test func aFullPipeQueuesInsteadOfBlocking() throws {
        let (read, write) = try Descriptor.pipe()
        defer { [read, write].forEach(Descriptor.close) }
        let capacity = Int(fcntl(write.rawValue, Self.getPipeSize))
        let channel = OutputChannel(write)
        #expect(channel.fd != write, "a pipe gets a private non-blocking description")
        #expect(fcntl(write.rawValue, F_GETFL) & O_NONBLOCK == 0, "the caller's descriptor keeps its flags")
        send(channel, [UInt8](repeating: 7, count: capacity + 100))
        #expect(channel.pending.count == 100)
        #expect(!channel.broken)
        // The reader catches up; the queue drains on the next flush.
        var buffer = [UInt8](repeating: 0, count: capacity)
        #expect(buffer.withUnsafeMutableBytes { Descriptor.read(read, into: $0) } == capacity)
        channel.flush()
        #expect(channel.pending.isEmpty)
        #expect(buffer.withUnsafeMutableBytes { Descriptor.read(read, into: $0) } == 100)
    }

    @Test func aReaderThatWentAwayBreaksTheChannel() throws {
        let (read, write) = try Descriptor.pipe()
        defer { Descriptor.close(write) }
        Descriptor.close(read)
        // As in `sandbox` itself (SandboxCommand), SIGPIPE is ignored: set once for
        // the whole test process, never restored under other tests running in parallel.
        signal(SIGPIPE, SIG_IGN)
        let channel = OutputChannel(write)
        send(channel, Array("lost".utf8))
        #expect(channel.broken)
        #expect(channel.pending.isEmpty)
        send(channel, Array("more".utf8))
        #expect(channel.pending.isEmpty, "a broken channel queues nothing")
    }

    @Test func aRegularFileIsWrittenInPlaceAtItsOffset() throws {
        let fd = try Descriptor.anonymousFile()
        defer { Descriptor.close(fd) }
        try Descriptor.writeAll(fd, "head:")
        let channel = OutputChannel(fd)
        #expect(channel.fd == fd)
        send(channel, Array("body".utf8))
        #expect(Descriptor.contents(of: fd, limit: 64) == Array("head:body".utf8))
    }

    @Test func aSocketIsSentToWithoutBlocking() throws {
        let (left, right) = try Descriptor.socketPair()
        defer { [left, right].forEach(Descriptor.close) }
        let channel = OutputChannel(left)
        #expect(channel.fd == left)
        send(channel, Array("datagram".utf8))
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = buffer.withUnsafeMutableBytes { Descriptor.read(right, into: $0) }
        #expect(Array(buffer[0..<count]) == Array("datagram".utf8))
        #expect(channel.write(UnsafeRawBufferPointer(start: nil, count: 0)) == 0)
    }
}
