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
        let (policies, policyErrors) = PolicySet.load(try read(names, in: directory))
        guard policyErrors.isEmpty else { throw .policy(policyErrors) }
        let imageDirectory = imagesDirectory(besides: directory)
        var images: [String: ToolchainImage] = [:]
        var errors: [PolicyError] = []
        for (name, text) in try read(HostProbe.directoryEntries(imageDirectory) ?? [], in: imageDirectory) {
            do throws(PolicyError) {
                let image = try PolicyParser.image(text, file: name)
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
        return TrustedPolicies(directory: directory, policies: policies, images: images)
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
