import Crypto
import Foundation
import SandboxImage
import SandboxKernel
import SandboxPolicy
import Testing

@testable import SandboxVerify

/// The image store and OCI import without a sandbox: layouts of uncompressed
/// layers (read in this process), as a test writes them byte by byte.
struct ImageStoreTests {
    /// A directory of the test's own with a store in it.
    final class Scratch {
        let path: String
        let store: ImageStore

        init() throws {
            path = try Descriptor.makeTemporaryDirectory(prefix: "image-store-test")
            store = ImageStore(directory: path + "/store")
        }

        deinit { try? FileManager.default.removeItem(atPath: path) }

        /// An OCI layout whose layers are the tar archives given, uncompressed.
        func layout(_ name: String, _ layers: [[UInt8]], corruptFirst: Bool = false, manifests: Int = 1) throws
            -> String
        {
            let root = path + "/" + name
            try FileManager.default.createDirectory(atPath: root + "/blobs/sha256", withIntermediateDirectories: true)
            func blob(_ bytes: [UInt8]) throws -> String {
                let digest = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
                try Data(bytes).write(to: URL(fileURLWithPath: root + "/blobs/sha256/" + digest))
                return "{\"digest\":\"sha256:\(digest)\",\"size\":\(bytes.count)"
            }
            var layerDescriptors: [String] = []
            for (index, layer) in layers.enumerated() {
                var bytes = layer
                let descriptor = try blob(bytes)
                if index == 0 && corruptFirst {
                    bytes[0] ^= 1
                    let digest = descriptor.split(separator: ":")[2].prefix(64)
                    try Data(bytes).write(to: URL(fileURLWithPath: root + "/blobs/sha256/" + digest))
                }
                layerDescriptors.append(descriptor + ",\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\"}")
            }
            let config = try blob(Array("{}".utf8)) + ",\"mediaType\":\"application/vnd.oci.image.config.v1+json\"}"
            let manifest = try blob(
                Array(
                    "{\"schemaVersion\":2,\"config\":\(config),\"layers\":[\(layerDescriptors.joined(separator: ","))]}"
                        .utf8))
            let entry = manifest + ",\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
            let entries = (0..<manifests).map {
                entry + "\"annotations\":{\"org.opencontainers.image.ref.name\":\"r\($0)\"}}"
            }
            try "{\"schemaVersion\":2,\"manifests\":[\(entries.joined(separator: ","))]}".write(
                toFile: root + "/index.json", atomically: true, encoding: .utf8)
            try "{\"imageLayoutVersion\":\"1.0.0\"}".write(
                toFile: root + "/oci-layout", atomically: true, encoding: .utf8)
            return root
        }
    }

    /// One ustar entry: type "0" file, "5" directory, "2" symbolic link, "1" hard link, "3" device.
    static func entry(_ name: String, type: Character = "0", mode: Int = 0o644, data: String = "", link: String = "")
        -> [UInt8]
    {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int) {
            for (index, byte) in text.utf8.enumerated() { header[offset + index] = byte }
        }
        func octal(_ value: Int, at offset: Int, width: Int) {
            put(
                String(repeating: "0", count: width - 1 - String(value, radix: 8).count) + String(value, radix: 8),
                at: offset)
        }
        put(name, at: 0)
        octal(mode, at: 100, width: 8)
        octal(0, at: 108, width: 8)
        octal(0, at: 116, width: 8)
        octal(data.utf8.count, at: 124, width: 12)
        octal(0, at: 136, width: 12)
        header[156] = UInt8(ascii: type.unicodeScalars.first!)
        put(link, at: 157)
        put("ustar\u{0}00", at: 257)
        put("        ", at: 148)
        octal(header.reduce(0) { $0 + Int($1) }, at: 148, width: 7)
        var bytes = header + Array(data.utf8)
        bytes += [UInt8](repeating: 0, count: (512 - data.utf8.count % 512) % 512)
        return bytes
    }

    static func archive(_ entries: [[UInt8]]) -> [UInt8] {
        entries.flatMap { $0 } + [UInt8](repeating: 0, count: 1024)
    }

    static let base = archive([
        entry("usr/", type: "5", mode: 0o755), entry("usr/bin/", type: "5", mode: 0o755),
        entry("usr/bin/tool", mode: 0o4755, data: "#!/bin/sh\n"), entry("usr/share/note", data: "lower\n"),
        entry("bin", type: "2", link: "usr/bin"), entry("etc/", type: "5", mode: 0o755),
        entry("etc/old", data: "x"), entry("opt/old/file", data: "x"),
        entry("usr/share/again", type: "1", link: "usr/share/note"),
    ])

    @Test func aLayoutIsImportedLayerByLayerAndStoredByItsDigest() throws {
        let scratch = try Scratch()
        let upper = Self.archive([
            Self.entry("etc/.wh.old"), Self.entry("opt/.wh..wh..opq"), Self.entry("opt/new", data: "y"),
            Self.entry("./usr/share/note", data: "upper\n"),
        ])
        let layout = try scratch.layout("layered", [Self.base, upper])
        let record = try OCIImport(store: scratch.store).importLayout(layout, name: "layered", reference: nil)
        #expect(record.digest.hasPrefix("sha256:"))
        #expect(record.origin == "imported from " + layout)
        // Held in this scope only: `gc` below waits for every holder of the store.
        let root = try scratch.store.use("layered").root
        #expect(try String(contentsOfFile: root + "/usr/share/note", encoding: .utf8) == "upper\n")
        #expect(try String(contentsOfFile: root + "/usr/share/again", encoding: .utf8) == "lower\n")
        #expect(!FileManager.default.fileExists(atPath: root + "/etc/old"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/opt") == ["new"])
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/bin") == "usr/bin")
        let mode = try #require(
            try FileManager.default.attributesOfItem(atPath: root + "/usr/bin/tool")[.posixPermissions] as? Int)
        #expect(mode == 0o755, "setuid is removed")
        #expect(scratch.store.records().map(\.name) == ["layered"])
        #expect(record.json.contains("\"digest\" : \"\(record.digest)\""))

        // The same layout again is the same entry, under a second name.
        let again = try OCIImport(store: scratch.store).importLayout(layout, name: "again", reference: "r0")
        #expect(again.digest == record.digest)
        let entries = try FileManager.default.contentsOfDirectory(atPath: scratch.store.directory)
        #expect(entries.filter { $0.hasPrefix("sha256-") }.count == 1)

        // A changed file: the tree check names it, and reading every byte finds a same-size change.
        try "UPPER\n".write(toFile: root + "/usr/share/note", atomically: false, encoding: .utf8)
        #expect(try scratch.store.verifyContents("layered")?.contains("'usr/share/note' is not as recorded") == true)
        try "longer than before\n".write(toFile: root + "/usr/share/note", atomically: false, encoding: .utf8)
        let refusal = #expect(throws: ImageError.self) { try scratch.store.use("layered") }
        #expect(refusal?.description.contains("corrupted: 'usr/share/note' is not as recorded") == true)
        #expect(throws: Never.self) { _ = try scratch.store.use("layered", check: .record) }

        // rm forgets the name; the entry goes once no name stands for it.
        _ = try scratch.store.remove(named: "layered")
        #expect(scratch.store.record(named: "layered") == nil)
        _ = try scratch.store.remove(named: "again")
        _ = try scratch.store.collectGarbage()
        let left = try FileManager.default.contentsOfDirectory(atPath: scratch.store.directory)
        #expect(left.filter { $0.hasPrefix("sha256-") }.isEmpty)
        #expect(throws: ImageError.self) { try scratch.store.use("layered") }
        #expect(scratch.store.record(named: "../names/x") == nil)
    }

    @Test(arguments: [
        ("escape", [entry("../outside", data: "x")], "leaves the image's root"),
        ("through-link", [entry("a", type: "2", link: "/tmp"), entry("a/x", data: "x")], "is a link or no directory"),
        ("device", [entry("dev/mem", type: "3")], "device node"),
        ("hard-link-out", [entry("passwd", type: "1", link: "../../etc/passwd")], "did not make"),
        ("hard-link-lower", [entry("x", type: "1", link: "etc/old")], "did not make"),
        ("whiteout-self", [entry("usr/.wh..")], "remove its own directory"),
        ("whiteout-nested", [entry("usr/.wh..wh.plnk")], "remove its own directory"),
    ])
    func hostileEntriesRefuseTheImport(name: String, entries: [[UInt8]], words: String) throws {
        let scratch = try Scratch()
        let layout = try scratch.layout(name, [Self.base, Self.archive(entries)])
        let error = #expect(throws: ImageError.self) {
            try OCIImport(store: scratch.store).importLayout(layout, name: name, reference: nil)
        }
        #expect(error?.reason.contains(words) == true, "\(error?.reason ?? "")")
        #expect(scratch.store.record(named: name) == nil)
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/outside"))
    }

    @Test func brokenLayoutsAreRefused() throws {
        let scratch = try Scratch()
        let importer = OCIImport(store: scratch.store)
        let corrupt = try scratch.layout("corrupt", [Self.base], corruptFirst: true)
        let digest = #expect(throws: ImageError.self) { try importer.importLayout(corrupt, name: "c", reference: nil) }
        #expect(digest?.reason.contains("does not have the digest and size") == true, "\(digest?.reason ?? "")")

        let two = try scratch.layout("two", [Self.base], manifests: 2)
        let ambiguous = #expect(throws: ImageError.self) { try importer.importLayout(two, name: "t", reference: nil) }
        #expect(ambiguous?.reason.contains("2 image manifests; name one with --reference") == true)
        let unknown = #expect(throws: ImageError.self) { try importer.importLayout(two, name: "t", reference: "nope") }
        #expect(unknown?.reason.contains("no manifest named 'nope' (there are: r0, r1)") == true)
        #expect(throws: Never.self) { _ = try importer.importLayout(two, name: "t", reference: "r1") }

        let missing = #expect(throws: ImageError.self) {
            try importer.importLayout(scratch.path, name: "m", reference: nil)
        }
        #expect(missing?.reason.contains("not an OCI image layout") == true)
        let badName = #expect(throws: ImageError.self) { try importer.importLayout(two, name: "../x", reference: "r0") }
        #expect(badName?.reason.contains("not an image name") == true)

        var capped = OCIImport(store: scratch.store)
        capped.maximumBytes = 8
        let cap = #expect(throws: ImageError.self) { try capped.importLayout(two, name: "big", reference: "r0") }
        #expect(cap?.reason.contains("unpacks to more than 8 bytes") == true, "\(cap?.reason ?? "")")
    }

    /// A stored image of the same definition is used as it is; one of an older
    /// definition would be built again.
    @Test func provisioningUsesAStoredImageOfTheSameDefinition() throws {
        let scratch = try Scratch()
        let layout = try scratch.layout("toy", [Self.base])
        var record = try OCIImport(store: scratch.store).importLayout(layout, name: "toy", reference: nil)
        // Stand in for a build of definition "d1".
        record.definition = "d1"
        let names = scratch.store.directory + "/names/toy.json"
        let encoder = JSONEncoder()
        try encoder.encode(record).write(to: URL(fileURLWithPath: names))
        var image = ToolchainImage(name: "toy")
        image.recipe = ImageRecipe()
        image.definition = "d1"
        var events: [String] = []
        let provided = try ImageProvisioning(store: scratch.store).provide([image]) { event in
            if case .status(let label, let what) = event { events.append(label + " " + what) }
        }
        #expect(provided.roots["toy"]?.digest == record.digest)
        #expect(provided.roots["toy"]?.root.hasSuffix("/rootfs") == true)
        #expect(events.isEmpty, "nothing is built: \(events)")
    }

    /// fakechroot's absolute links lose the build's path; devices and FIFOs go.
    @Test func aBuiltTreeIsTidied() throws {
        let scratch = try Scratch()
        let root = scratch.path + "/tree"
        try FileManager.default.createDirectory(atPath: root + "/usr/lib", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: root + "/usr/lib/ld.so", withDestinationPath: "/workspace/rootfs/lib/x86_64-linux-gnu/ld.so")
        try FileManager.default.createSymbolicLink(atPath: root + "/usr/lib/other", withDestinationPath: "/workspace/x")
        #expect(mkfifo(root + "/usr/fifo", 0o644) == 0)
        try "x".write(toFile: root + "/usr/tool", atomically: false, encoding: .utf8)
        #expect(chmod(root + "/usr/tool", 0o6755) == 0)
        #expect(try FileTree.rewriteLinks(root, strippingPrefix: "/workspace/rootfs") == 1)
        #expect(
            try FileManager.default.destinationOfSymbolicLink(atPath: root + "/usr/lib/ld.so")
                == "/lib/x86_64-linux-gnu/ld.so")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/usr/lib/other") == "/workspace/x")
        #expect(try FileTree.tidy(root, owner: nil) == 2)
        #expect(!FileManager.default.fileExists(atPath: root + "/usr/fifo"))
        let mode = try #require(
            try FileManager.default.attributesOfItem(atPath: root + "/usr/tool")[.posixPermissions] as? Int)
        #expect(mode == 0o755)
        let manifest = try ImageManifest.of(root)
        #expect(manifest.files == 1)
        #expect(manifest.lines.contains("l\t777\t-\t/lib/x86_64-linux-gnu/ld.so\tusr/lib/ld.so"))
        #expect(manifest.shape.contains("f\t755\t1\t-\tusr/tool"))
    }
}
