internal import FoundationEssentials
import Glibc
import SandboxKernel
import SandboxPolicy

/// What the store knows of one image: where it came from and what it holds.
public struct ImageRecord: Codable, Equatable, Sendable {
    public var name: String
    /// "sha256:" and the hex digest of the image's manifest.
    public var digest: String
    /// Where it came from: "built from images/python.yaml", "imported from PATH".
    public var origin: String
    /// A fingerprint of the definition it was built from; nil for an import.
    public var definition: String?
    /// When it was made, in seconds since 1970.
    public var created: Int
    public var files: Int
    public var bytes: Int64
    /// How long building or importing took.
    public var seconds: Double

    public init(
        name: String, digest: String = "", origin: String, definition: String? = nil, created: Int = 0,
        files: Int = 0, bytes: Int64 = 0, seconds: Double = 0
    ) {
        self.name = name
        self.digest = digest
        self.origin = origin
        self.definition = definition
        self.created = created
        self.files = files
        self.bytes = bytes
        self.seconds = seconds
    }
}

extension ImageRecord {
    /// The record as JSON, keys sorted.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

/// An image held for use: its root stays in the store until this is released
/// (a shared lock on the store, which `gc` and `rm` take exclusively).
public final class ImageInUse: Sendable {
    public let record: ImageRecord
    /// The resolved host path of the image's root filesystem.
    public let root: String
    let lock: Int32

    init(record: ImageRecord, root: String, lock: Int32) {
        self.record = record
        self.root = root
        self.lock = lock
    }

    deinit { Glibc.close(lock) }
}

/// The images of this user: `/var/lib/sandbox/images` for root, else under
/// `$XDG_DATA_HOME/sandbox/images`. Each image is a directory named by its
/// digest (`sha256-HEX/rootfs`, with its `manifest`); `names/NAME.json` says which
/// digest a name stands for. Builds and imports work under `tmp/` and rename
/// their result into place, so that concurrent ones never see half an image; the
/// same content twice is one entry. Everything that uses an image holds a shared
/// lock on `lock`, and only `gc` (and `rm`, when nothing uses the store) removes
/// entries, exclusively.
public struct ImageStore: Sendable {
    public let directory: String

    static let maximumRecordBytes = 1 << 16
    static let maximumManifestBytes = 256 << 20

    public init(directory: String) {
        self.directory = directory
    }

    /// This user's store.
    public static func standard() throws(ImageError) -> ImageStore {
        guard let directory = StoreDirectory.standard("images") else {
            throw ImageError("store", "no directory to keep images in: set XDG_DATA_HOME or HOME")
        }
        return ImageStore(directory: directory)
    }

    func entryPath(_ digest: String) -> String? {
        guard digest.hasPrefix("sha256:"), digest.count == 71,
            digest.dropFirst(7).allSatisfy({ $0.isHexDigit && !$0.isUppercase })
        else { return nil }
        return directory + "/sha256-" + digest.dropFirst(7)
    }

    func namePath(_ name: String) -> String { directory + "/names/" + name + ".json" }

    func makeDirectories() throws(ImageError) {
        do {
            try StoreDirectory.make(directory, purpose: "image store")
            try StoreDirectory.make(directory + "/names", purpose: "image store")
            try StoreDirectory.make(directory + "/tmp", purpose: "image store")
        } catch { throw ImageError("store", error) }
    }

    /// Opens the store's lock file and takes `operation` (LOCK_SH or LOCK_EX).
    func lock(_ operation: Int32) throws(ImageError) -> Int32 {
        // A store that has its lock file has its directories: only the first use makes them.
        var fd = StoreDirectory.isOwn(directory) ? open(directory + "/lock", O_RDWR | O_NOFOLLOW | O_CLOEXEC) : -1
        if fd < 0 {
            try makeDirectories()
            fd = open(directory + "/lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        }
        guard fd >= 0 else { throw ImageError("store", SystemError.last("open", path: directory + "/lock")) }
        while flock(fd, operation) != 0 {
            if errno == EINTR { continue }
            let error = SystemError.last("flock", path: directory + "/lock")
            Glibc.close(fd)
            if error.errno == EWOULDBLOCK { throw ImageError("store", "in use by another sandbox") }
            throw ImageError("store", error)
        }
        return fd
    }

    /// Runs `body` holding the build lock of `name`, so that concurrent
    /// verifications that need the same missing image build it once: the others
    /// wait, then find it built.
    public func building<T>(_ name: String, _ body: () throws(ImageError) -> T) throws(ImageError) -> T {
        guard ImageRecipe.isName(name) else { throw ImageError(name, "not an image name") }
        try makeDirectories()
        let path = directory + "/names/" + name + ".building"
        let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ImageError(name, SystemError.last("open", path: path)) }
        defer { Glibc.close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw ImageError(name, SystemError.last("flock", path: path)) }
        }
        return try body()
    }

    /// The record `name` stands for, or nil.
    public func record(named name: String) -> ImageRecord? {
        guard ImageRecipe.isName(name), StoreDirectory.isOwn(directory + "/names"),
            let record = StoreDirectory.readJSON(
                ImageRecord.self, from: namePath(name), limit: Self.maximumRecordBytes),
            record.name == name, entryPath(record.digest) != nil
        else { return nil }
        return record
    }

    /// Every named image, by name.
    public func records() -> [ImageRecord] {
        guard let names = Descriptor.untrustedDirectoryEntries(directory + "/names") else { return [] }
        // `NAME.building` lock files are not names.
        return names.filter { $0.hasSuffix(".json") }.compactMap { record(named: String($0.dropLast(5))) }
    }

    /// A new directory under the store's `tmp/` to build or import into, with the
    /// shared lock that keeps `gc` from it until `add` or the caller's end.
    public func workDirectory(for name: String) throws(ImageError) -> (path: String, hold: ImageInUse) {
        let fd = try lock(LOCK_SH)
        do {
            let path = try Descriptor.makeTemporaryDirectory(in: directory + "/tmp", prefix: name)
            return (path, ImageInUse(record: ImageRecord(name: name, origin: ""), root: path, lock: fd))
        } catch {
            Glibc.close(fd)
            throw ImageError(name, "\(error)")
        }
    }

    /// Makes `work/rootfs` the image `record.name`: tidied (no devices, no setuid,
    /// owned by the store's owner), its manifest written, renamed into place under
    /// its digest, and the name pointed at it. Removes `work`.
    public func add(work: String, record: ImageRecord) throws(ImageError) -> ImageRecord {
        var record = record
        let root = work + "/rootfs"
        do {
            try FileTree.tidy(root, owner: geteuid() == 0 ? (0, 0) : nil)
            for directory in [work, root] where geteuid() == 0 {
                guard lchown(directory, 0, 0) == 0 else { throw SystemError.last("chown", path: directory) }
            }
            let manifest = try ImageManifest.of(root)
            record.digest = manifest.digest
            record.files = manifest.files
            record.bytes = manifest.bytes
            try StoreDirectory.writeAtomically(Array(manifest.text.utf8), to: work + "/manifest")
            try StoreDirectory.writeJSON(record, to: work + "/record.json")
        } catch let error as SystemError {
            throw ImageError(record.name, error)
        } catch {
            throw ImageError(record.name, "\(error)")
        }
        guard let entry = entryPath(record.digest) else { throw ImageError(record.name, "no digest") }
        if rename(work, entry) != 0 {
            // The same content is there already (a concurrent build, or an earlier one).
            guard errno == EEXIST || errno == ENOTEMPTY else {
                throw ImageError(record.name, SystemError.last("rename", path: entry))
            }
            remove(work)
        }
        do {
            try StoreDirectory.writeJSON(record, to: namePath(record.name))
        } catch { throw ImageError(record.name, error) }
        return record
    }

    /// How much of an entry is checked before it is used.
    public enum Check: Sendable {
        /// Its record, its manifest and its root are there, and the record's is the
        /// digest the entry is stored under: constant time, for `sandbox run`.
        case record
        /// And its tree is as its manifest records: every path, kind, mode, size and
        /// link target (a walk of the tree, once per verification).
        case tree
    }

    /// The image `name`, held for use, after `check`. A store entry that differs
    /// is refused and named.
    public func use(_ name: String, check depth: Check = .tree) throws(ImageError) -> ImageInUse {
        let fd = try lock(LOCK_SH)
        do throws(ImageError) {
            guard let record = record(named: name), let entry = entryPath(record.digest) else {
                throw ImageError(name, "not in the store \(directory); build it with `sandbox image build \(name)`")
            }
            var info = stat()
            let intact =
                lstat(entry + "/rootfs", &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
                && lstat(entry + "/manifest", &info) == 0 && info.st_mode & S_IFMT == S_IFREG
            let difference =
                intact ? (depth == .tree ? try check(entry, hashing: false) : nil) : "its root or manifest is missing"
            if let difference {
                throw ImageError(
                    name,
                    "the store entry \(entry) is corrupted: \(difference); remove it (`sandbox image rm \(name)`) and build it again"
                )
            }
            return ImageInUse(record: record, root: entry + "/rootfs", lock: fd)
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    /// Compares the entry's tree with its manifest, contents too when `hashing`;
    /// the first difference in words, or nil.
    func check(_ entry: String, hashing: Bool) throws(ImageError) -> String? {
        guard let recorded = try? Descriptor.readUntrustedFile(entry + "/manifest", limit: Self.maximumManifestBytes)
        else { return "its manifest cannot be read" }
        let lines = String(decoding: recorded, as: UTF8.self).split(separator: "\n").map(String.init)
        let found: ImageManifest
        do {
            found = try ImageManifest.of(entry + "/rootfs", hashing: hashing)
        } catch {
            return "\(error)"
        }
        let expected = hashing ? lines : ImageManifest(lines: lines).shape
        if let difference = ImageManifest(lines: hashing ? found.lines : found.shape).firstDifference(from: expected) {
            return difference
        }
        if hashing, found.digest != "sha256:" + entry.split(separator: "-").last! {
            return "its manifest does not have the digest it is stored under"
        }
        return nil
    }

    /// Reads every file of `name` again and compares it with the manifest.
    public func verifyContents(_ name: String) throws(ImageError) -> String? {
        let hold = try use(name)
        guard let entry = entryPath(hold.record.digest) else { return "no digest" }
        return try check(entry, hashing: true)
    }

    /// Forgets the name; the entry goes now if nothing uses the store, else at the next `gc`.
    public func remove(named name: String) throws(ImageError) -> Bool {
        guard record(named: name) != nil else { throw ImageError(name, "not in the store \(directory)") }
        guard unlink(namePath(name)) == 0 else {
            throw ImageError(name, SystemError.last("unlink", path: namePath(name)))
        }
        _ = try? collectGarbage(waiting: false)
        return true
    }

    /// Removes every entry no name stands for, and what interrupted builds left
    /// under `tmp/`. Returns the entries removed.
    @discardableResult
    public func collectGarbage(waiting: Bool = true) throws(ImageError) -> [String] {
        let fd = try lock(waiting ? LOCK_EX : LOCK_EX | LOCK_NB)
        defer { Glibc.close(fd) }
        let named = Set(records().compactMap { entryPath($0.digest) })
        var removed: [String] = []
        for name in Descriptor.untrustedDirectoryEntries(directory) ?? [] where name.hasPrefix("sha256-") {
            let path = directory + "/" + name
            if !named.contains(path) {
                remove(path)
                removed.append(name)
            }
        }
        for name in Descriptor.untrustedDirectoryEntries(directory + "/tmp") ?? [] {
            remove(directory + "/tmp/" + name)
        }
        return removed
    }

    func remove(_ path: String) {
        let parent = String(path[..<path.lastIndex(of: "/")!])
        let name = String(path[path.index(after: path.lastIndex(of: "/")!)...])
        guard let fd = try? Descriptor.openDirectoryRefusingLinks(parent, role: "remove") else { return }
        defer { Descriptor.close(fd) }
        Descriptor.removeTree(name, in: fd)
    }
}
