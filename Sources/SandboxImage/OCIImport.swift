import Crypto
import Glibc
import SandboxKernel
import SandboxModel
import SandboxPolicy
import SandboxReports
import SandboxSupervisor
import SystemPackage

/// Imports an OCI image layout (as skopeo, umoci and buildah write one) into
/// the store. The layout is untrusted: each blob is copied into the store while
/// its digest and size are checked, compressed layers are decompressed by
/// gzip or zstd inside a sandbox, and their tar is read by `TarReader`. Layers
/// are applied in order, whiteouts and opaque directories included. A path that
/// escapes the root or passes through a link, a device node or FIFO, a hard link
/// to anything but a file of the same layer, or a whiteout of its own directory
/// refuses the whole import; setuid and setgid bits are removed.
public struct OCIImport: Sendable {
    public var store: ImageStore
    /// The most entries, and bytes of files, an image may unpack to.
    public var maximumEntries = 1_000_000
    public var maximumBytes: Int64 = 16 << 30
    /// The largest blob, compressed or not.
    public var maximumBlobBytes: Int64 = 8 << 30

    public init(store: ImageStore) {
        self.store = store
    }

    /// Imports the manifest of `layout` named `reference` (or its only one) as `name`.
    public func importLayout(_ layout: String, name: String, reference: String?) throws(ImageError) -> ImageRecord {
        guard ImageRecipe.isName(name) else {
            throw ImageError(name, "not an image name (lowercase letters, digits, '-', '_', '.')")
        }
        let started = MonotonicClock.now()
        let (work, hold) = try store.workDirectory(for: name)
        defer { withExtendedLifetime(hold) {} }
        do {
            try OCILayout.checkVersion(try small(layout + "/oci-layout"))
            let manifest = try chooseManifest(layout, reference: reference, work: work)
            let layers = try OCILayout.layers(
                ofManifest: try copyBlob(manifest, from: layout, into: work, keep: false), file: "manifest")
            guard mkdir(work + "/rootfs", 0o755) == 0 else { throw SystemError.last("mkdir", path: work + "/rootfs") }
            var applier = try LayerApplier(
                root: work + "/rootfs", maximumEntries: maximumEntries, maximumBytes: maximumBytes)
            for (index, layer) in layers.enumerated() {
                let copy = String(decoding: try copyBlob(layer, from: layout, into: work, keep: true), as: UTF8.self)
                let tar = try decompress(
                    work + "/" + copy, compression: OCILayout.layerTypes[layer.mediaType] ?? nil, layer: index)
                defer { Descriptor.close(tar) }
                lseek(tar.rawValue, 0, SEEK_SET)
                var reader = TarReader { count in try Self.readExactly(tar, count) }
                try applier.apply(&reader, layer: index)
                unlink(work + "/" + copy)
            }
            var record = ImageRecord(name: name, origin: "imported from " + layout, created: Int(time(nil)))
            record.seconds = MonotonicClock.seconds(since: started)
            return try store.add(work: work, record: record)
        } catch let error as ImageError {
            throw error
        } catch let error as ReportError {
            throw ImageError(name, "the layout \(layout) is refused: \(error)")
        } catch let error as SystemError {
            throw ImageError(name, error)
        } catch {
            throw ImageError(name, "\(error)")
        }
    }

    /// The manifest to import: the one whose reference name is `reference`, or the
    /// only one; an index inside the index is followed once.
    func chooseManifest(_ layout: String, reference: String?, work: String) throws -> OCIDescriptor {
        var candidates = try OCILayout.manifests(ofIndex: try small(layout + "/index.json"))
        if candidates.count == 1, candidates[0].mediaType == OCILayout.indexMediaType {
            candidates = try OCILayout.manifests(
                ofIndex: try copyBlob(candidates[0], from: layout, into: work, keep: false), file: "nested index")
        }
        let images = candidates.filter { $0.mediaType == OCILayout.manifestMediaType }
        if let reference {
            guard let chosen = images.first(where: { $0.referenceName == reference }) else {
                let names = images.compactMap(\.referenceName).joined(separator: ", ")
                throw ImageError(
                    layout, "no manifest named '\(reference)' (there are: \(names.isEmpty ? "none" : names))")
            }
            return chosen
        }
        guard images.count == 1 else {
            throw ImageError(layout, "\(images.count) image manifests; name one with --reference")
        }
        return images[0]
    }

    /// A small file of the layout (its version, its index), read refusing links.
    func small(_ path: String) throws -> [UInt8] {
        guard let bytes = try Descriptor.readUntrustedFile(path, limit: 16 << 20) else {
            throw ImageError(path, "missing: not an OCI image layout")
        }
        return bytes
    }

    /// Copies the blob `descriptor` names into `work`, checking its size and
    /// SHA-256 as it goes: what is read afterwards is this copy, which the layout's
    /// owner can no longer change. Returns the copy's name (`keep`), else its bytes
    /// (manifests and indexes, at most 16 MiB).
    @discardableResult
    func copyBlob(_ descriptor: OCIDescriptor, from layout: String, into work: String, keep: Bool) throws -> [UInt8] {
        guard let hex = descriptor.sha256 else {
            throw ImageError(layout, "'\(descriptor.digest)' is not a sha256 digest")
        }
        guard Int64(descriptor.size) <= (keep ? maximumBlobBytes : 16 << 20) else {
            throw ImageError(
                layout, "blob \(descriptor.digest) is \(descriptor.size) bytes, more than this import takes")
        }
        let source = try Descriptor.openUntrustedFile(layout + "/blobs/sha256/" + hex)
        defer { Descriptor.close(source) }
        let copy =
            keep ? try Descriptor.createRefusingLinks(work + "/blob-" + hex, mode: .new, permissions: 0o644) : nil
        defer { Descriptor.close(copy) }
        var hasher = SHA256()
        var total = 0
        var kept: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { Descriptor.read(source, into: $0) }
            if count < 0 { throw SystemError.last("read", path: layout + "/blobs/sha256/" + hex) }
            if count == 0 { break }
            total += count
            guard total <= descriptor.size else { break }
            hasher.update(data: buffer[0..<count])
            if let copy { try Descriptor.writeAll(copy, Array(buffer[0..<count])) } else { kept += buffer[0..<count] }
        }
        guard total == descriptor.size, ImageManifest.hex(hasher.finalize()) == hex else {
            throw ImageError(layout, "blob \(descriptor.digest) does not have the digest and size its descriptor gives")
        }
        return keep ? Array(("blob-" + hex).utf8) : kept
    }

    /// The layer's tar in an anonymous file: the copy itself when it is not
    /// compressed, else what gzip or zstd wrote, run in a sandbox with the copy
    /// bound read-only and no network, its output capped at the blob limit.
    func decompress(_ copy: String, compression: String?, layer: Int) throws -> FileDescriptor {
        guard let compression else {
            return try Descriptor.openUntrustedFile(copy)
        }
        let tool = "/usr/bin/" + compression
        guard HostProbe.exists(tool) else {
            throw ImageError(copy, "layer \(layer) is \(compression)-compressed, and \(tool) is not installed")
        }
        let output = try Descriptor.anonymousFile()
        var configuration = RunConfiguration(command: [tool, "-dc", "/layer"])
        configuration.binds = [BindMount(source: copy, destination: "/layer")]
        configuration.limits.output = ByteSize(bytes: UInt64(maximumBlobBytes))
        configuration.limits.fileSize = .mebibytes(1)
        configuration.limits.timeout = .minutes(30)
        let errors = try Descriptor.anonymousFile()
        defer { Descriptor.close(errors) }
        let result = Supervisor().run(configuration, stdout: output, stderr: errors)
        guard result.status == .exited, result.exitCode == 0 else {
            Descriptor.close(output)
            let said = String(decoding: Descriptor.contents(of: errors, limit: 2048), as: UTF8.self)
            let why = result.limitsHit.contains(.output) ? "it unpacks to more than \(maximumBlobBytes) bytes" : said
            throw ImageError(copy, "layer \(layer) cannot be decompressed (\(result.status.rawValue)): \(why)")
        }
        return output
    }

    /// `count` bytes of `fd`, fewer only at its end.
    static func readExactly(_ fd: FileDescriptor, _ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var total = 0
        while total < count {
            let read = bytes[total...].withUnsafeMutableBytes { Descriptor.read(fd, into: $0) }
            if read < 0 { throw SystemError.last("read", path: "layer") }
            if read == 0 { break }
            total += read
        }
        return total == count ? bytes : Array(bytes[0..<total])
    }
}
