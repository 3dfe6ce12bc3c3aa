import Foundation
import SystemPackage
import Testing

@testable import SandboxKernel

/// The file operations the supervisor uses on paths untrusted code may have
/// shaped: links are never followed, FIFOs and devices never opened for data.
@Suite struct DescriptorTests {
    /// A fresh directory, removed when the test ends.
    final class Scratch {
        let path: String
        init() throws { path = try Descriptor.makeTemporaryDirectory(prefix: "descriptor-test") }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        func file(_ name: String, _ text: String) throws -> String {
            try text.write(toFile: path + "/" + name, atomically: false, encoding: .utf8)
            return path + "/" + name
        }
    }

    @Test func aTemporaryDirectoryIsPrivateAndNew() throws {
        let first = try Scratch()
        let second = try Scratch()
        #expect(first.path != second.path)
        #expect(first.path.hasPrefix("/tmp/descriptor-test-"))
        var info = stat()
        #expect(stat(first.path, &info) == 0 && info.st_mode & 0o777 == 0o700)
        #expect(throws: SystemError.self) { try Descriptor.makeTemporaryDirectory(in: "/nonexistent", prefix: "x") }
    }

    @Test func untrustedFilesAreReadWhole() throws {
        let scratch = try Scratch()
        let path = try scratch.file("report.xml", "<testsuite/>")
        #expect(try Descriptor.readUntrustedFile(path, limit: 64) == Array("<testsuite/>".utf8))
        #expect(try Descriptor.readUntrustedFile(scratch.path + "/absent", limit: 64) == nil)
    }

    @Test func untrustedFilesOverTheLimitAreRefused() throws {
        let scratch = try Scratch()
        let path = try scratch.file("big", String(repeating: "x", count: 65))
        let refused = SystemError("read", errno: EFBIG, path: path, hint: "larger than 64 bytes; refused, not cut")
        #expect(throws: refused) { try Descriptor.readUntrustedFile(path, limit: 64) }
        #expect(try Descriptor.readUntrustedFile(path, limit: 65)?.count == 65)
    }

    /// A trusted file (a policy, an image) past its cap is an error, never its
    /// first megabyte read as if it were the whole.
    @Test func trustedFilesOverTheLimitAreRefusedNotCut() throws {
        let scratch = try Scratch()
        let path = try scratch.file("python.yaml", String(repeating: "x", count: 65))
        #expect(throws: SystemError("read", errno: EFBIG, path: path, hint: "larger than 64 bytes; refused, not cut")) {
            try Descriptor.readFile(path, limit: 64)
        }
        #expect(try Descriptor.readFile(path, limit: 65).count == 65)
        #expect(throws: SystemError.self) { try Descriptor.readFile(scratch.path, limit: 65) }
    }

    /// Appending (GitHub's step summary) goes through the same refusals as every
    /// other output: no link on the way, a plain file of its own.
    @Test func appendingRefusesLinksAndKeepsWhatIsThere() throws {
        let scratch = try Scratch()
        let path = try scratch.file("summary.md", "before\n")
        let fd = try Descriptor.createRefusingLinks(path, mode: .append)
        try Descriptor.writeAll(fd, "after\n")
        Descriptor.close(fd)
        #expect(try Descriptor.readFile(path, limit: 64) == Array("before\nafter\n".utf8))
        #expect(symlink(path, scratch.path + "/link.md") == 0)
        #expect(throws: SystemError.self) {
            try Descriptor.createRefusingLinks(scratch.path + "/link.md", mode: .append)
        }
        #expect(try Descriptor.readFile(path, limit: 64) == Array("before\nafter\n".utf8))
    }

    @Test func untrustedPathsThroughLinksAreRefused() throws {
        let scratch = try Scratch()
        _ = try scratch.file("real", "secret")
        try FileManager.default.createSymbolicLink(atPath: scratch.path + "/link", withDestinationPath: "real")
        try FileManager.default.createSymbolicLink(atPath: scratch.path + "/dir", withDestinationPath: ".")
        #expect(throws: SystemError.self) { try Descriptor.readUntrustedFile(scratch.path + "/link", limit: 64) }
        #expect(throws: SystemError.self) { try Descriptor.readUntrustedFile(scratch.path + "/dir/real", limit: 64) }
        #expect(Descriptor.existsRefusingLinks(scratch.path + "/real"))
        #expect(!Descriptor.existsRefusingLinks(scratch.path + "/dir/real"))
        #expect(!Descriptor.existsRefusingLinks(scratch.path + "/absent"))
        // A directory is listed only when no link stands on the way to it.
        #expect(Descriptor.untrustedDirectoryEntries(scratch.path) == ["dir", "link", "real"])
        #expect(Descriptor.untrustedDirectoryEntries(scratch.path + "/dir") == nil)
        #expect(Descriptor.untrustedDirectoryEntries(scratch.path + "/real") == nil)
    }

    @Test func aFIFOIsNeverOpenedForItsData() throws {
        let scratch = try Scratch()
        let fifo = scratch.path + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        // Opening a FIFO with no writer would block without O_NONBLOCK.
        #expect(throws: SystemError("open", errno: nil, path: fifo, hint: "not a regular file")) {
            try Descriptor.readUntrustedFile(fifo, limit: 64)
        }
        #expect(throws: SystemError.self) { try Descriptor.createRefusingLinks(fifo) }
    }

    @Test func createRefusingLinksTruncatesOnlyAPlainFileOfItsOwn() throws {
        let scratch = try Scratch()
        let path = try scratch.file("out.json", "old content")
        let fd = try Descriptor.createRefusingLinks(path)
        try Descriptor.writeAll(fd, "new")
        Descriptor.close(fd)
        #expect(Descriptor.readSmallFile(path) == "new")

        #expect(throws: SystemError.self, "exclusive refuses an existing file") {
            try Descriptor.createRefusingLinks(path, mode: .new)
        }
        let other = try scratch.file("other", "keep")
        #expect(link(other, scratch.path + "/hard") == 0)
        #expect(
            throws: SystemError(
                "open", errno: nil, path: scratch.path + "/hard",
                hint: "not a plain file of its own; refusing to write it")
        ) { try Descriptor.createRefusingLinks(scratch.path + "/hard") }
        #expect(Descriptor.readSmallFile(other) == "keep", "a hard link's target is not truncated")
        try FileManager.default.createSymbolicLink(atPath: scratch.path + "/soft", withDestinationPath: "other")
        #expect(throws: SystemError.self) { try Descriptor.createRefusingLinks(scratch.path + "/soft") }
        #expect(Descriptor.readSmallFile(other) == "keep")
    }

    @Test func capturedOutputIsReadFromTheStartUpToTheLimit() throws {
        let fd = try Descriptor.anonymousFile()
        defer { Descriptor.close(fd) }
        #expect(fcntl(fd.rawValue, F_GETFD) & FD_CLOEXEC != 0)
        try Descriptor.writeAll(fd, "0123456789")
        #expect(Descriptor.contents(of: fd, limit: 4) == Array("0123".utf8))
        #expect(Descriptor.contents(of: fd, limit: 100) == Array("0123456789".utf8))
    }

    @Test func knobsAreWrittenAndErrorsNameTheValue() throws {
        let scratch = try Scratch()
        let path = try scratch.file("pids.max", "")
        try Descriptor.writeFile(path, "64\n")
        #expect(Descriptor.readSmallFile(path) == "64\n")
        #expect(Descriptor.readSmallFile(scratch.path + "/absent") == nil)
        #expect(throws: SystemError("open", errno: ENOENT, path: scratch.path + "/absent")) {
            try Descriptor.writeFile(scratch.path + "/absent", "1")
        }
        // /dev/full refuses every write with ENOSPC.
        #expect(throws: SystemError("write 1", errno: ENOSPC, path: "/dev/full")) {
            try Descriptor.writeFile("/dev/full", "1\n")
        }
    }

    @Test func pipesAndSocketPairsAreCloseOnExec() throws {
        let (read, write) = try Descriptor.pipe()
        let (left, right) = try Descriptor.socketPair()
        defer { [read, write, left, right].forEach(Descriptor.close) }
        for fd in [read, write, left, right] { #expect(fcntl(fd.rawValue, F_GETFD) & FD_CLOEXEC != 0) }
        try Descriptor.setNonBlocking(read)
        #expect(fcntl(read.rawValue, F_GETFL) & O_NONBLOCK != 0)
        var byte: UInt8 = 0
        let (count, error) = withUnsafeMutableBytes(of: &byte) { (Descriptor.read(read, into: $0), errno) }
        #expect(count == -1, "nothing to read yet")
        #expect(error == EAGAIN)
    }
}
