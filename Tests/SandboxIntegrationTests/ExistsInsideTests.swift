import Foundation
import SandboxKernel
import Testing

@Suite struct ExistsInsideTests {
    @Test func linksResolveInsideTheRootOnly() throws {
        let root = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let manager = FileManager.default
        try manager.createDirectory(at: root.appendingPathComponent("real"), withIntermediateDirectories: true)
        try "x".write(to: root.appendingPathComponent("real/file"), atomically: true, encoding: .utf8)
        try manager.createSymbolicLink(atPath: root.appendingPathComponent("link").path, withDestinationPath: "real")
        try manager.createSymbolicLink(atPath: root.appendingPathComponent("out").path, withDestinationPath: "/etc")
        #expect(Descriptor.existsInside(root.path, "real/file"))
        #expect(Descriptor.existsInside(root.path, "link/file"), "a link inside the tree is followed")
        #expect(!Descriptor.existsInside(root.path, "out/passwd"), "a link out of the tree resolves inside it")
        #expect(!Descriptor.existsInside(root.path, "../../etc/passwd"))
        #expect(!Descriptor.existsInside(root.path, "missing"))
    }
}
