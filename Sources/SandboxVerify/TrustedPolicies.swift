import Glibc
import SandboxKernel
public import SandboxPolicy

/// A trusted policy directory and the toolchain images beside it, read and
/// checked: what `verify`, `policy check` and `policy show` start from.
public struct TrustedPolicies: Sendable {
    /// The directory the policies were read from.
    public var directory: String
    public var policies: PolicySet
    /// Every image, those the policies name among them.
    public var images: [String: ToolchainImage]
    /// What the verdicts these policies give depend on, as 16 hex digits: every
    /// policy and image file read, and this executable (its path, size and
    /// modification time). A base verified under another fingerprint is verified again.
    public var fingerprint = ""

    /// The largest policy or image file read: a longer one is refused, never cut.
    public static let maximumFileBytes = 1 << 20

    /// Reads `directory` (the bundled one when nil) and the `images/` beside it.
    /// Every error of every file is given at once; an image a policy names but the
    /// directory lacks is one, since its steps would start without a toolchain and
    /// fail as if the tree were at fault.
    public static func load(_ directory: String?) throws(VerifyError) -> TrustedPolicies {
        let directory = if let directory { directory } else { try bundledDirectory() }
        guard let names = HostProbe.directoryEntries(directory) else {
            throw .usage("cannot read the policy directory \(directory)")
        }
        let policyFiles = try read(names, in: directory)
        let (policies, policyErrors) = PolicySet.load(policyFiles)
        guard policyErrors.isEmpty else { throw .policy(policyErrors) }
        let imageDirectory = imagesDirectory(besides: directory)
        var images: [String: ToolchainImage] = [:]
        var errors: [PolicyError] = []
        let imageFiles = try read(HostProbe.directoryEntries(imageDirectory) ?? [], in: imageDirectory)
        for (name, text) in imageFiles {
            do throws(PolicyError) {
                var image = try PolicyParser.image(text, file: name)
                image.source = "images/" + name
                image.definition = fingerprint([(name, text)], withExecutable: false)
                images[image.name] = image
            } catch {
                errors.append(
                    PolicyError(
                        file: "\(imageDirectory)/\(error.file)", line: error.line,
                        column: error.column, reason: error.reason))
            }
        }
        for language in policies.languages where images[language.image] == nil {
            errors.append(
                PolicyError(
                    file: language.source,
                    reason: "image '\(language.image)' is not in \(imageDirectory) "
                        + "(images are read from images/ beside the policy directory)"))
        }
        guard errors.isEmpty else { throw .policy(errors) }
        var trusted = TrustedPolicies(directory: directory, policies: policies, images: images)
        trusted.fingerprint = fingerprint(
            policyFiles.map { ("policies/" + $0.name, $0.text) }
                + imageFiles.map { ("images/" + $0.name, $0.text) })
        return trusted
    }

    /// FNV-1a over the files in name order and this executable's identity: the
    /// inputs are trusted, so a checksum tells them apart; nothing here is a secret.
    static func fingerprint(_ files: [(name: String, text: String)], withExecutable: Bool = true) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func add(_ text: String) {
            for byte in text.utf8 + [0] { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        }
        for file in files.sorted(by: { $0.name < $1.name }) {
            add(file.name)
            add(file.text)
        }
        var info = stat()
        if withExecutable, let executable = HostProbe.executablePath, stat(executable, &info) == 0 {
            add("\(executable) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)")
        }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// The YAML files among `names`, each whole.
    static func read(_ names: [String], in directory: String) throws(VerifyError) -> [(name: String, text: String)] {
        var files: [(name: String, text: String)] = []
        for name in names where name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
            do {
                let bytes = try Descriptor.readFile(directory + "/" + name, limit: maximumFileBytes)
                files.append((name, String(decoding: bytes, as: UTF8.self)))
            } catch {
                throw .usage("cannot read \(directory)/\(name): \(error)")
            }
        }
        return files
    }

    /// `images/` beside the policy directory.
    public static func imagesDirectory(besides policyDirectory: String) -> String {
        let parent = policyDirectory.split(separator: "/").dropLast().joined(separator: "/")
        return (policyDirectory.hasPrefix("/") ? "/" : "") + (parent.isEmpty ? "." : parent) + "/images"
    }

    /// $SANDBOX_POLICY_DIR, or the policies/ of the checkout the executable was
    /// built in, or share/sandbox/policies beside its bin/.
    public static func bundledDirectory() throws(VerifyError) -> String {
        if let value = getenv("SANDBOX_POLICY_DIR"), let override = String(validatingCString: value) {
            return override
        }
        if let executable = HostProbe.executablePath {
            // .build/<triple>/<config>/sandbox in a checkout; <prefix>/bin/sandbox installed.
            let parts = executable.split(separator: "/").dropLast()
            for candidate in [parts.dropLast(3), parts.dropLast(1)] {
                let base = "/" + candidate.joined(separator: "/")
                for suffix in ["/policies", "/share/sandbox/policies"] where HostProbe.isDirectory(base + suffix) {
                    return base + suffix
                }
            }
        }
        throw .usage(
            "no bundled policies found (policies/ of the checkout this executable was built in, or "
                + "share/sandbox/policies beside its bin/); give --policy-dir or set SANDBOX_POLICY_DIR")
    }
}
