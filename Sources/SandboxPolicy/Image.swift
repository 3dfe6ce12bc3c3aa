public import SandboxModel

/// A toolchain image: for now the host's own, as the paths a language's tools
/// need, mounted read-only. A named part of the policy, so a containerized image
/// can replace it later.
public struct ToolchainImage: Equatable, Sendable {
    public var name: String
    public var mounts: [BindMount]
    /// Directories put before the default PATH.
    public var path: [String]
    public var environment: [String: String]
    /// Host paths that must exist, or the toolchain is not there.
    public var requires: [String]

    public init(
        name: String, mounts: [BindMount] = [], path: [String] = [], environment: [String: String] = [:],
        requires: [String] = []
    ) {
        self.name = name
        self.mounts = mounts
        self.path = path
        self.environment = environment
        self.requires = requires
    }
}

extension ToolchainImage {
    /// Why an image may not hand `source` to untrusted code, or nil when it may.
    /// Home directories hold registry tokens, keys and shell history, so nothing at
    /// or under one is mounted, except rustup's toolchain directories (binaries and
    /// libraries, where rustup installs them); nor is anything whose path names a
    /// credentials store, wherever it lies; nor a parent of a home (/, /home).
    public static func refusal(ofMountSource source: String) -> String? {
        let components = source.split(separator: "/").map(String.init)
        if let secret = components.first(where: credentialNames.contains) {
            return "'\(source)' names a credentials location (\(secret)); mount toolchain directories only"
        }
        let homeDepth = components.first == "root" ? 1 : components.first == "home" ? 2 : nil
        guard let homeDepth else {
            return components.isEmpty ? "'/' holds every home directory; mount toolchain directories only" : nil
        }
        let inHome = Array(components.dropFirst(homeDepth))
        if components.count < homeDepth {
            return "'\(source)' holds home directories; mount toolchain directories only"
        }
        if inHome.count >= 3, inHome[0] == ".rustup", inHome[1] == "toolchains" { return nil }
        return "'\(source)' is \(inHome.isEmpty ? "a home directory" : "under a home directory"), where tokens and "
            + "keys live; mount toolchain directories only (rustup's: ~/.rustup/toolchains/NAME)"
    }

    /// Path components that name where credentials are kept.
    static let credentialNames: Set<String> = [
        ".ssh", ".gnupg", ".aws", ".azure", ".docker", ".kube", ".netrc", ".git-credentials", ".npmrc", ".pypirc",
        ".cargo", ".config", ".gem", ".m2", ".gradle", ".nuget", "credentials", "credentials.toml", "ssh",
    ]
}

extension PolicyParser {
    /// "source[:destination]" entries, each checked like `--ro-bind`, and none a
    /// home directory or credentials store (an image's mounts and a step's
    /// mounts-if-present alike); an error points at the entry.
    static func mounts(_ value: YAMLValue, key: String) throws(PolicyError) -> [BindMount] {
        var mounts: [BindMount] = []
        for (index, text) in try value.strings(key).enumerated() {
            let mount: BindMount
            do {
                mount = try BindMount(parsing: text)
            } catch {
                throw try value.items(key)[index].fail((error as? ModelError)?.description ?? "\(error)")
            }
            if let refusal = ToolchainImage.refusal(ofMountSource: mount.source) {
                throw try value.items(key)[index].fail(refusal)
            }
            mounts.append(mount)
        }
        return mounts
    }

    public static func image(_ text: String, file: String) throws(PolicyError) -> ToolchainImage {
        guard let root = try YAMLValue.parse(text, file: file) else {
            throw PolicyError(file: file, reason: "the image is empty")
        }
        var image = ToolchainImage(name: "")
        for (key, value) in try root.mapping(
            allowed: ["image", "mounts", "path", "environment", "requires"], context: "an image")
        {
            switch key {
            case "image": image.name = try value.string("image")
            case "mounts": image.mounts = try mounts(value, key: "mounts")
            case "path": image.path = try value.strings("path")
            case "environment": image.environment = try environment(value)
            case "requires": image.requires = try value.strings("requires")
            default: break
            }
        }
        guard !image.name.isEmpty else { throw root.fail("an image needs 'image': its name") }
        return image
    }
}
