import Foundation
import SandboxImage
import SandboxKernel
import SandboxModel
import SandboxPolicy
import Testing

/// Images as the store holds them: imported from real OCI layouts, refused when
/// hostile, checked before use, and run on as a sandbox's root.
@Suite(.enabled(if: Harness.sandboxesStart, "needs real sandboxes"))
struct ImageTests {
    /// A store of the test's own, removed afterwards.
    final class Scratch {
        let path: String
        let store: ImageStore

        init() throws {
            path = try Descriptor.makeTemporaryDirectory(prefix: "sandbox-image-test")
            store = ImageStore(directory: path + "/store")
        }

        deinit { try? FileManager.default.removeItem(atPath: path) }

        /// Writes an OCI layout of `layers` (each a list of tar entries, made by
        /// Python's tarfile) and returns its path.
        func layout(_ name: String, _ layers: [[[String: String]]], corrupt: Bool = false) throws -> String {
            let spec = try JSONSerialization.data(withJSONObject: ["layers": layers, "corrupt": corrupt])
            let out = path + "/" + name
            let script = path + "/make-layout.py"
            try ImageTests.layoutScript.write(toFile: script, atomically: true, encoding: .utf8)
            try spec.write(to: URL(fileURLWithPath: path + "/" + name + ".json"))
            let status = try Harness.cliProcess("/usr/bin/python3", [script, path + "/" + name + ".json", out])
            try #require(status == 0)
            return out
        }
    }

    /// Test setup, run by the host's Python: an OCI layout whose layers hold
    /// exactly the entries given, hostile ones included, gzip-compressed.
    static let layoutScript = #"""
        import gzip, hashlib, io, json, os, sys, tarfile
        spec = json.load(open(sys.argv[1])); out = sys.argv[2]
        os.makedirs(out + "/blobs/sha256")
        def blob(data):
            digest = hashlib.sha256(data).hexdigest()
            open(out + "/blobs/sha256/" + digest, "wb").write(data)
            return {"digest": "sha256:" + digest, "size": len(data)}
        layers = []
        for entries in spec["layers"]:
            raw = io.BytesIO()
            with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
                for e in entries:
                    info = tarfile.TarInfo(e["name"])
                    info.mode = int(e.get("mode", "644"), 8)
                    kind = e.get("type", "file")
                    data = open(e["host"], "rb").read() if "host" in e else e.get("data", "").encode()
                    info.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
                                 "hardlink": tarfile.LNKTYPE, "chr": tarfile.CHRTYPE, "fifo": tarfile.FIFOTYPE}[kind]
                    info.linkname = e.get("target", "")
                    info.size = len(data) if kind == "file" else 0
                    tar.addfile(info, io.BytesIO(data) if kind == "file" else None)
            layers.append(dict(blob(gzip.compress(raw.getvalue(), mtime=0)),
                               mediaType="application/vnd.oci.image.layer.v1.tar+gzip"))
        config = dict(blob(b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'),
                      mediaType="application/vnd.oci.image.config.v1+json")
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": config, "layers": layers}).encode()
        index = {"schemaVersion": 2, "manifests": [dict(blob(manifest),
                 mediaType="application/vnd.oci.image.manifest.v1+json",
                 annotations={"org.opencontainers.image.ref.name": "test"})]}
        if spec["corrupt"]:
            path = out + "/blobs/sha256/" + layers[0]["digest"][7:]
            data = bytearray(open(path, "rb").read()); data[-1] ^= 1; open(path, "wb").write(bytes(data))
        json.dump(index, open(out + "/index.json", "w"))
        open(out + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
        """#

    /// A root of the host's own dash and cat with their libraries, and a marker.
    static func miniRoot(marker: String) -> [[String: String]] {
        var entries: [[String: String]] = [
            ["name": "usr", "type": "dir", "mode": "755"], ["name": "usr/bin", "type": "dir", "mode": "755"],
            ["name": "usr/lib", "type": "dir", "mode": "755"], ["name": "usr/lib64", "type": "dir", "mode": "755"],
            ["name": "bin", "type": "symlink", "target": "usr/bin"],
            ["name": "lib", "type": "symlink", "target": "usr/lib"],
            ["name": "lib64", "type": "symlink", "target": "usr/lib64"],
            ["name": "usr/marker", "data": marker],
        ]
        for (host, inside) in [
            ("/usr/bin/dash", "usr/bin/sh"), ("/usr/bin/cat", "usr/bin/cat"),
            ("/lib/x86_64-linux-gnu/libc.so.6", "usr/lib/x86_64-linux-gnu/libc.so.6"),
            ("/lib64/ld-linux-x86-64.so.2", "usr/lib64/ld-linux-x86-64.so.2"),
        ] {
            entries.append(["name": inside, "host": host, "mode": "755"])
        }
        return entries
    }

    @Test func aRealLayoutImportsAndAStepRunsOnItsRoot() throws {
        let scratch = try Scratch()
        // umoci, Debian's, makes the layout from a root directory, as a user would.
        let root = scratch.path + "/root"
        for directory in ["usr/bin", "usr/lib/x86_64-linux-gnu", "usr/lib64"] {
            try FileManager.default.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true)
        }
        for (host, inside) in [
            ("/usr/bin/dash", "usr/bin/sh"), ("/usr/bin/cat", "usr/bin/cat"),
            ("/lib/x86_64-linux-gnu/libc.so.6", "usr/lib/x86_64-linux-gnu/libc.so.6"),
            ("/lib64/ld-linux-x86-64.so.2", "usr/lib64/ld-linux-x86-64.so.2"),
        ] {
            // The file itself: the host's loader is a link to its real path.
            let real = URL(fileURLWithPath: host).resolvingSymlinksInPath().path
            try FileManager.default.copyItem(atPath: real, toPath: root + "/" + inside)
        }
        for (link, target) in [("bin", "usr/bin"), ("lib", "usr/lib"), ("lib64", "usr/lib64")] {
            try FileManager.default.createSymbolicLink(atPath: root + "/" + link, withDestinationPath: target)
        }
        try "from the image\n".write(toFile: root + "/usr/marker", atomically: true, encoding: .utf8)
        let layout = scratch.path + "/layout"
        let bundle = scratch.path + "/bundle"
        try #require(try Harness.cliProcess("/usr/bin/umoci", ["init", "--layout", layout]) == 0)
        try #require(try Harness.cliProcess("/usr/bin/umoci", ["new", "--image", layout + ":mini"]) == 0)
        try #require(try Harness.cliProcess("/usr/bin/umoci", ["unpack", "--image", layout + ":mini", bundle]) == 0)
        try #require(try Harness.cliProcess("/bin/cp", ["-a", root + "/.", bundle + "/rootfs/"]) == 0)
        try #require(try Harness.cliProcess("/usr/bin/umoci", ["repack", "--image", layout + ":mini", bundle]) == 0)

        let record = try OCIImport(store: scratch.store).importLayout(layout, name: "mini", reference: nil)
        #expect(record.digest.hasPrefix("sha256:") && record.digest.count == 71)
        #expect(record.files == 5)
        let image = try scratch.store.use("mini")
        let run = Harness.run(["/bin/sh", "-c", "cat /usr/marker; test ! -e /usr/bin/python3 || echo host-python"]) {
            $0.imageRoot = image.root
        }
        #expect(run.result.exitCode == 0, "\(run.stderr) \(run.result.setupFailure?.message ?? "")")
        #expect(run.stdout == "from the image\n")

        // The same content imported again is the same entry; a changed file is named.
        let again = try OCIImport(store: scratch.store).importLayout(layout, name: "mini2", reference: "mini")
        #expect(again.digest == record.digest)
        try "tampered\n".write(toFile: image.root + "/usr/marker", atomically: false, encoding: .utf8)
        let refusal = #expect(throws: ImageError.self) { try scratch.store.use("mini") }
        #expect(refusal?.reason.contains("'usr/marker' is not as recorded") == true, "\(refusal?.reason ?? "")")
        #expect(refusal?.reason.contains("corrupted") == true)
    }

    @Test func layersApplyInOrderWithWhiteoutsAndOpaqueDirectories() throws {
        let scratch = try Scratch()
        var lower = Self.miniRoot(marker: "lower\n")
        lower += [
            ["name": "etc", "type": "dir", "mode": "755"], ["name": "etc/gone", "data": "x"],
            ["name": "opt", "type": "dir", "mode": "755"], ["name": "opt/old", "data": "x"],
            ["name": "usr/bin/su", "data": "not really", "mode": "4755"],
        ]
        let upper: [[String: String]] = [
            ["name": "etc/.wh.gone", "data": ""], ["name": "opt/.wh..wh..opq", "data": ""],
            ["name": "opt/new", "data": "y"], ["name": "usr/marker", "data": "upper\n"],
        ]
        let layout = try scratch.layout("layers", [lower, upper])
        _ = try OCIImport(store: scratch.store).importLayout(layout, name: "layered", reference: nil)
        let root = try scratch.store.use("layered").root
        #expect(!FileManager.default.fileExists(atPath: root + "/etc/gone"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/opt") == ["new"])
        #expect(try String(contentsOfFile: root + "/usr/marker", encoding: .utf8) == "upper\n")
        var info = stat()
        #expect(lstat(root + "/usr/bin/su", &info) == 0)
        #expect(info.st_mode & 0o7777 == 0o755, "setuid is removed")
    }

    /// Each hostile layout is refused whole, and nothing lands outside the store.
    @Test func hostileLayoutsAreRefused() throws {
        let scratch = try Scratch()
        let outside = scratch.path + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        let cases: [(String, [[String: String]], String)] = [
            ("escape", [["name": "../../outside/x", "data": "x"]], "leaves the image's root"),
            (
                "through-link", [["name": "a", "type": "symlink", "target": outside], ["name": "a/x", "data": "x"]],
                "is a link"
            ),
            ("device", [["name": "dev/mem", "type": "chr"]], "device node"),
            ("fifo", [["name": "pipe", "type": "fifo"]], "device node or FIFO"),
            ("hard-link-out", [["name": "passwd", "type": "hardlink", "target": "/etc/passwd"]], "did not make"),
            ("hard-link-up", [["name": "x", "type": "hardlink", "target": "../outside/y"]], "did not make"),
            ("whiteout-self", [["name": "usr/.wh..", "data": ""]], "remove its own directory"),
            ("whiteout-empty", [["name": "usr/.wh.", "data": ""]], "remove its own directory"),
        ]
        for (name, entries, words) in cases {
            let layout = try scratch.layout(name, [Self.miniRoot(marker: "m") + entries])
            let error = #expect(throws: ImageError.self, "\(name)") {
                try OCIImport(store: scratch.store).importLayout(layout, name: name, reference: nil)
            }
            #expect(error?.reason.contains(words) == true, "\(name): \(error?.reason ?? "")")
            #expect(scratch.store.record(named: name) == nil)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/x"))

        let corrupt = try scratch.layout("corrupt", [Self.miniRoot(marker: "m")], corrupt: true)
        let digest = #expect(throws: ImageError.self) {
            try OCIImport(store: scratch.store).importLayout(corrupt, name: "corrupt", reference: nil)
        }
        #expect(digest?.reason.contains("does not have the digest") == true, "\(digest?.reason ?? "")")

        var capped = OCIImport(store: scratch.store)
        capped.maximumEntries = 5
        let many = try scratch.layout("many", [Self.miniRoot(marker: "m")])
        let cap = #expect(throws: ImageError.self) { try capped.importLayout(many, name: "many", reference: nil) }
        #expect(cap?.reason.contains("more than 5 entries") == true, "\(cap?.reason ?? "")")
    }

    /// An image's links are never followed on the host: `usr -> /` cannot make the
    /// host's root the sandbox's /usr, nor `etc/ld.so.cache -> /etc/shadow` copy it in.
    @Test func anImagesLinksAreNotFollowedOnTheHost() throws {
        let scratch = try Scratch()
        let linked = try scratch.layout("linked-usr", [[["name": "usr", "type": "symlink", "target": "/"]]])
        _ = try OCIImport(store: scratch.store).importLayout(linked, name: "linked-usr", reference: nil)
        let run = Harness.run(["/bin/true"]) { $0.imageRoot = try? scratch.store.use("linked-usr").root }
        #expect(run.result.status == .setupFailed)
        #expect(run.result.setupFailure?.message.contains("an image's /usr must be a directory") == true)

        let cache =
            Self.miniRoot(marker: "m") + [
                ["name": "etc", "type": "dir", "mode": "755"],
                ["name": "etc/ld.so.cache", "type": "symlink", "target": "/etc/shadow"],
            ]
        let layout = try scratch.layout("cache", [cache])
        _ = try OCIImport(store: scratch.store).importLayout(layout, name: "cache", reference: nil)
        let image = try scratch.store.use("cache")
        let shown = Harness.run(["/bin/sh", "-c", "cat /etc/ld.so.cache 2>&1; cat /usr/marker"]) {
            $0.imageRoot = image.root
        }
        #expect(!shown.stdout.contains("root:"), "\(shown.stdout)")
        #expect(shown.stdout.hasSuffix("m"))
    }

    /// What no name stands for goes at `gc`; what a name stands for stays.
    @Test func garbageCollectionKeepsNamedImages() throws {
        let scratch = try Scratch()
        let one = try scratch.layout("one", [Self.miniRoot(marker: "1")])
        let two = try scratch.layout("two", [Self.miniRoot(marker: "2")])
        _ = try OCIImport(store: scratch.store).importLayout(one, name: "one", reference: nil)
        _ = try OCIImport(store: scratch.store).importLayout(two, name: "two", reference: nil)
        #expect(scratch.store.records().map(\.name) == ["one", "two"])
        _ = try scratch.store.remove(named: "one")
        #expect(try scratch.store.collectGarbage().isEmpty, "rm removed it already: nothing used the store")
        #expect(scratch.store.records().map(\.name) == ["two"])
        let entries = try FileManager.default.contentsOfDirectory(atPath: scratch.store.directory)
        #expect(entries.filter { $0.hasPrefix("sha256-") }.count == 1)
        #expect(throws: Never.self) { _ = try scratch.store.use("two") }
    }
}
