import Glibc
import SandboxKernel
import SandboxModel
public import SandboxPolicy
import SandboxSupervisor
import SystemPackage

/// Builds an image's root filesystem from its recipe, in sandboxes that have the
/// host's network only while they build: mmdebstrap makes the Debian base with
/// the recipe's packages (fakechroot mode, which needs no privilege), then pip
/// installs the pinned PyPI packages into its /usr/local, running on the new root
/// itself. The result is tidied, digested and put in the store.
public struct ImageBuilder: Sendable {
    public var store: ImageStore

    public init(store: ImageStore) {
        self.store = store
    }

    /// Host programs a build runs, in the sandbox, from Debian's packages.
    public static let hostTools = [
        ("mmdebstrap", "/usr/bin/mmdebstrap"), ("fakechroot", "/usr/bin/fakechroot"), ("fakeroot", "/usr/bin/fakeroot"),
    ]

    /// Builds `image` (whose definition text fingerprints as `definition`) and
    /// stores it under its name. `progress` gets lines saying what it is doing.
    public func build(
        _ image: ToolchainImage, definition: String, origin: String, progress: (String) -> Void = { _ in }
    ) throws(ImageError) -> ImageRecord {
        guard let recipe = image.recipe else {
            throw ImageError(image.name, "has no 'base': it is the host's toolchain, and nothing is built for it")
        }
        let missing = Self.hostTools.filter { !HostProbe.exists($0.1) }.map(\.0)
        guard missing.isEmpty else {
            throw ImageError(
                image.name,
                "building needs \(missing.joined(separator: ", ")) (apt-get install mmdebstrap fakechroot fakeroot)")
        }
        guard HostProbe.exists(recipe.keyring) else {
            throw ImageError(
                image.name, "the keyring \(recipe.keyring) is not on this host (apt-get install debian-archive-keyring)"
            )
        }
        let started = MonotonicClock.now()
        let (work, hold) = try store.workDirectory(for: image.name)
        var supervisor = Supervisor()
        do {
            if geteuid() == 0 { supervisor.identity = try IdentityLease.acquire() }
        } catch { throw ImageError(image.name, error) }
        let owner = supervisor.identity.map { ($0.uid, $0.uid) } ?? (geteuid(), getegid())
        guard chown(work, owner.0, owner.1) == 0 else {
            throw ImageError(image.name, SystemError.last("chown", path: work))
        }
        guard mkdir(work + ".empty", 0o555) == 0 else {
            throw ImageError(image.name, SystemError.last("mkdir", path: work + ".empty"))
        }
        defer { rmdir(work + ".empty") }
        let log: FileDescriptor
        do {
            log = try Descriptor.anonymousFile()
        } catch { throw ImageError(image.name, error) }
        defer { Descriptor.close(log) }

        progress(
            "image \(image.name): Debian \(recipe.suite) (\(recipe.variant)) with \(recipe.apt.count) packages, by mmdebstrap"
        )
        try run(
            Self.baseCommand(recipe), workspace: work, on: nil, image: image.name, stage: "mmdebstrap",
            recipe: recipe, supervisor: supervisor, log: log, emptyDirectory: work + ".empty")
        do {
            try FileTree.rewriteLinks(work + "/rootfs", strippingPrefix: "/workspace/rootfs")
        } catch { throw ImageError(image.name, "\(error)") }
        if !recipe.pypi.isEmpty || !recipe.wheels.isEmpty {
            progress(
                "image \(image.name): \(recipe.pypi.count + recipe.wheels.count) PyPI packages, as wheels in "
                    + "\(ImageRecipe.wheelDirectory), by pip")
            try run(
                Self.wheelsCommand(recipe), workspace: work + "/rootfs", on: work + "/rootfs", image: image.name,
                stage: "pip download", recipe: recipe, supervisor: supervisor, log: log,
                emptyDirectory: work + ".empty")
        }
        if !recipe.pypi.isEmpty {
            progress("image \(image.name): \(recipe.pypi.count) of them into /usr/local")
            try run(
                Self.pypiCommand(recipe), workspace: work + "/rootfs", on: work + "/rootfs", image: image.name,
                stage: "pip install", recipe: recipe, supervisor: supervisor, log: log,
                emptyDirectory: work + ".empty")
        }
        progress("image \(image.name): tidying and digesting the tree")
        Self.removeVolatile(work + "/rootfs")
        var record = ImageRecord(
            name: image.name, origin: origin, definition: definition, created: Int(time(nil)))
        record.seconds = MonotonicClock.seconds(since: started)
        record = try store.add(work: work, record: record)
        withExtendedLifetime(hold) {}
        progress(
            "image \(image.name): \(record.digest), \(record.files) files, \(record.bytes >> 20) MiB, built in "
                + "\(Int(record.seconds.rounded())) s")
        return record
    }

    /// mmdebstrap's arguments: no documentation, manual pages or translations
    /// (an image runs tools, nobody reads them there).
    static func baseCommand(_ recipe: ImageRecipe) -> [String] {
        var command = [
            "fakechroot", "fakeroot", "mmdebstrap", "--mode=fakechroot", "--variant=" + recipe.variant,
            "--keyring=" + recipe.keyring, "--aptopt=Acquire::Retries \"3\"",
        ]
        // Merged /usr as debootstrap lays it out, by mmdebstrap's own hooks (the
        // usrmerge package cannot convert a tree it does not boot).
        command.append("--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr")
        for path in ["/usr/share/doc/*", "/usr/share/locale/*"] {
            command.append("--dpkgopt=path-exclude=" + path)
        }
        command.append("--dpkgopt=path-include=/usr/share/doc/*/copyright")
        if !recipe.apt.isEmpty { command.append("--include=" + recipe.apt.joined(separator: ",")) }
        command += [recipe.suite, "/workspace/rootfs"] + recipe.mirrors
        return command
    }

    /// pip, on the image's own Python, downloading the wheels of every package
    /// and its dependencies (no package's build code runs) into the image.
    static func wheelsCommand(_ recipe: ImageRecipe) -> [String] {
        [
            "/usr/bin/python3", "-I", "-m", "pip", "download", "--no-cache-dir", "--disable-pip-version-check",
            "--only-binary=:all:", "--dest", "/workspace" + ImageRecipe.wheelDirectory,
        ] + recipe.pypi + recipe.wheels
    }

    /// pip installing those wheels, offline, into the tree at /workspace, which is
    /// the image's root.
    static func pypiCommand(_ recipe: ImageRecipe) -> [String] {
        [
            "/usr/bin/python3", "-I", "-m", "pip", "install", "--no-cache-dir", "--disable-pip-version-check",
            "--no-index", "--find-links", "/workspace" + ImageRecipe.wheelDirectory,
            "--break-system-packages", "--no-warn-script-location", "--root", "/workspace",
            // Debian's pip puts a /usr prefix under /usr/local (its posix_local scheme).
            "--prefix", "/usr",
        ] + recipe.pypi
    }

    /// Runs one build step with the host's network; a step that fails ends the
    /// build, with the end of what it printed.
    func run(
        _ command: [String], workspace: String, on imageRoot: String?, image: String, stage: String,
        recipe: ImageRecipe, supervisor: Supervisor, log: FileDescriptor, emptyDirectory: String
    ) throws(ImageError) {
        var configuration = RunConfiguration(command: command)
        configuration.workspace = workspace
        configuration.imageRoot = imageRoot
        configuration.network = .host
        configuration.seccomp = .imageBuild
        // mmdebstrap's fakechroot passes /sys through to the sandbox's own, which
        // has none, so base-files could not lay out the tree's: an empty one.
        configuration.binds = [BindMount(source: emptyDirectory, destination: "/sys")]
        configuration.limits.memory = .gibibytes(4)
        configuration.limits.pids = 2048
        configuration.limits.cpuTime = .seconds(3600)
        configuration.limits.timeout = .minutes(30)
        configuration.limits.tmpSize = .gibibytes(2)
        configuration.limits.fileSize = .gibibytes(4)
        configuration.limits.output = .mebibytes(64)
        configuration.environment += [
            ("SOURCE_DATE_EPOCH", String(recipe.sourceDateEpoch)), ("DEBIAN_FRONTEND", "noninteractive"),
            ("PYTHONDONTWRITEBYTECODE", "1"),
        ]
        let result = supervisor.run(configuration, stdout: log, stderr: log)
        guard result.status == .exited, result.exitCode == 0 else {
            let bytes = Descriptor.contents(of: log, limit: 64 << 20)
            let kept = (try? StoreDirectory.writeAtomically(bytes, to: workspace + ".log")) != nil
            let tail = String(decoding: bytes.suffix(4 << 10), as: UTF8.self).split(separator: "\n").suffix(12)
            throw ImageError(
                image,
                "\(stage) failed (\(Self.describe(result)))\(kept ? "; its whole output is in \(workspace).log" : ""):\n"
                    + tail.map { "  " + $0 }.joined(separator: "\n"))
        }
    }

    /// How a build step ended, in a few words.
    static func describe(_ result: StepResult) -> String {
        var words = result.status.rawValue
        if let code = result.exitCode { words += " \(code)" }
        if let failure = result.setupFailure { words += ": " + failure.message }
        if !result.deniedSyscalls.isEmpty {
            words += "; refused: " + result.deniedSyscalls.map { "\($0.name) ×\($0.count)" }.joined(separator: ", ")
        }
        return words
    }

    /// What differs between two builds of the same recipe and no step reads:
    /// logs, caches, and the machine's identity (each sandbox gets its own).
    static func removeVolatile(_ root: String) {
        for directory in ["var/log", "var/cache", "var/lib/apt/lists", "tmp", "var/tmp", "run"] {
            guard let fd = try? Descriptor.openDirectoryRefusingLinks(root + "/" + directory, role: "tidy") else {
                continue
            }
            for name in Descriptor.untrustedDirectoryEntries(root + "/" + directory) ?? [] {
                Descriptor.removeTree(name, in: fd)
            }
            Descriptor.close(fd)
        }
        for file in ["etc/machine-id", "var/lib/dbus/machine-id", "etc/hostname", "etc/resolv.conf"] {
            unlink(root + "/" + file)
        }
    }
}
