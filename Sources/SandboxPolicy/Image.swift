public import SandboxModel

/// A toolchain image: a root filesystem built from Debian and PyPI (`recipe`),
/// stored by its digest, or without a recipe the host's own `/usr`, which no
/// digest pins. Either may layer host toolchain directories on read-only.
public struct ToolchainImage: Equatable, Sendable {
    public var name: String
    /// How the image's root is built; nil for the host's toolchain.
    public var recipe: ImageRecipe?
    /// Host toolchain directories (Swift's, rustup's) mounted read-only.
    public var mounts: [BindMount]
    /// Directories put before the default PATH.
    public var path: [String]
    public var environment: [String: String]
    /// Host paths that must exist, or the toolchain is not there.
    public var requires: [String]
    /// The file it was read from (images/NAME.yaml) and a fingerprint of its text,
    /// which a stored build must match.
    public var source = ""
    public var definition = ""

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
        var recipe = ImageRecipe()
        var hasRecipe = false
        for (key, value) in try root.mapping(
            allowed: [
                "image", "base", "apt", "pypi", "wheels", "host-toolchains", "mounts", "path", "environment",
                "requires",
            ],
            context: "an image")
        {
            switch key {
            case "image": image.name = try value.string("image")
            case "base":
                try recipe.readBase(value)
                hasRecipe = true
            case "apt": recipe.apt = try ImageRecipe.checked(value, key: "apt", pattern: ImageRecipe.isDebianPackage)
            case "pypi":
                recipe.pypi = try ImageRecipe.checked(value, key: "pypi", pattern: ImageRecipe.isPinnedRequirement)
            case "wheels":
                recipe.wheels = try ImageRecipe.checked(value, key: "wheels", pattern: ImageRecipe.isPinnedRequirement)
            // `mounts` is the key's older name, from before images were built.
            case "host-toolchains", "mounts": image.mounts = try mounts(value, key: key)
            case "path": image.path = try value.strings("path")
            case "environment": image.environment = try environment(value)
            case "requires": image.requires = try value.strings("requires")
            default: break
            }
        }
        guard !image.name.isEmpty else { throw root.fail("an image needs 'image': its name") }
        guard ImageRecipe.isName(image.name) else {
            throw root.fail("'\(image.name)' is not an image name (lowercase letters, digits, '-', '_', '.')")
        }
        if hasRecipe {
            image.recipe = recipe
        } else if !recipe.apt.isEmpty || !recipe.pypi.isEmpty || !recipe.wheels.isEmpty {
            throw root.fail("'apt', 'pypi' and 'wheels' need a 'base' to install into")
        }
        return image
    }
}

/// How an image's root filesystem is built: a Debian base by mmdebstrap, Debian
/// packages, then PyPI packages at pinned versions into /usr/local.
public struct ImageRecipe: Equatable, Sendable {
    public var suite = ""
    /// mmdebstrap's variant: how much of Debian the base holds.
    public var variant = "apt"
    /// One-line apt sources ("deb URI SUITE COMPONENT..."), as apt is configured.
    public var mirrors: [String] = []
    /// The keyring the mirrors are signed with (a host path under /usr/share/keyrings).
    public var keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
    public var apt: [String] = []
    /// "name==version" each, installed into /usr/local.
    public var pypi: [String] = []
    /// "name==version" each, only kept as wheels (with those of `pypi`, and every
    /// dependency's) in `ImageRecipe.wheelDirectory`, for steps to install offline.
    public var wheels: [String] = []

    /// Where an image keeps the wheels it was built with.
    public static let wheelDirectory = "/usr/local/share/sandbox/wheels"
    /// Seconds since 1970 given to the build as SOURCE_DATE_EPOCH.
    public var sourceDateEpoch = 1_735_689_600

    public init() {}

    /// mmdebstrap's variants.
    public static let variants: Set<String> = [
        "extract", "custom", "essential", "apt", "required", "minbase", "buildd", "important", "debootstrap",
        "standard",
    ]

    mutating func readBase(_ value: YAMLValue) throws(PolicyError) {
        for (key, item) in try value.mapping(
            allowed: ["suite", "variant", "mirrors", "keyring", "source-date-epoch"], context: "an image's base")
        {
            switch key {
            case "suite":
                suite = try item.string("suite")
                guard Self.isName(suite) else { throw item.fail("'\(suite)' is not a Debian suite name") }
            case "variant":
                variant = try item.string("variant")
                guard Self.variants.contains(variant) else {
                    throw item.fail(
                        "'\(variant)' is not one of mmdebstrap's variants: \(Self.variants.sorted().joined(separator: ", "))"
                    )
                }
            case "mirrors":
                mirrors = try Self.checked(item, key: "mirrors", pattern: Self.isSourceLine)
            case "keyring":
                keyring = try item.string("keyring")
                guard keyring.hasPrefix("/usr/share/keyrings/"), !keyring.split(separator: "/").contains("..") else {
                    throw item.fail("the keyring must be a file under /usr/share/keyrings")
                }
            case "source-date-epoch":
                guard let seconds = Int(try item.string("source-date-epoch")), seconds >= 0 else {
                    throw item.fail("source-date-epoch takes whole seconds since 1970")
                }
                sourceDateEpoch = seconds
            default: break
            }
        }
        guard !suite.isEmpty else { throw value.fail("a base needs 'suite' (bookworm, for example)") }
        guard !mirrors.isEmpty else {
            throw value.fail(
                "a base needs 'mirrors': apt source lines such as 'deb http://deb.debian.org/debian \(suite) main'")
        }
    }

    /// The list under `key`, each entry checked by `pattern`; an error points at the entry.
    static func checked(_ value: YAMLValue, key: String, pattern: (String) -> Bool) throws(PolicyError) -> [String] {
        let entries = try value.strings(key)
        for (index, entry) in entries.enumerated() where !pattern(entry) {
            let what =
                switch key {
                case "apt": "a Debian package name (with an optional =VERSION)"
                case "pypi", "wheels": "a PyPI requirement pinned as NAME==VERSION"
                default: "an apt source line: deb http(s)://HOST/PATH SUITE COMPONENT..."
                }
            throw try value.items(key)[index].fail("'\(entry)' is not \(what)")
        }
        return entries
    }

    static func isLowerWord(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar)
    }

    static func isWord(_ scalar: Unicode.Scalar) -> Bool {
        isLowerWord(scalar) || ("A"..."Z").contains(scalar)
    }

    static func consists(_ text: Substring, of allowed: (Unicode.Scalar) -> Bool, or extra: String) -> Bool {
        !text.isEmpty && text.unicodeScalars.allSatisfy { allowed($0) || extra.unicodeScalars.contains($0) }
    }

    /// An image's or a suite's name: what a store path may hold.
    public static func isName(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, isLowerWord(first), text.utf8.count <= 64 else { return false }
        return consists(text[...], of: isLowerWord, or: "-_.")
    }

    static func isDebianPackage(_ text: String) -> Bool {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts[0].count >= 2, let first = parts[0].unicodeScalars.first, isLowerWord(first),
            consists(parts[0], of: isLowerWord, or: "+.-")
        else { return false }
        return parts.count == 1 || consists(parts[1], of: isWord, or: ".+~:-")
    }

    static func isPinnedRequirement(_ text: String) -> Bool {
        guard let pin = text.firstRange(of: "==") else { return false }
        let name = text[..<pin.lowerBound]
        let version = text[pin.upperBound...]
        guard let first = name.unicodeScalars.first, isWord(first) else { return false }
        return consists(name, of: isWord, or: "._-") && consists(version, of: isWord, or: ".!+_-")
    }

    static func isSourceLine(_ text: String) -> Bool {
        let words = text.split(separator: " ")
        guard words.count >= 4, words[0] == "deb", words[1].hasPrefix("http://") || words[1].hasPrefix("https://")
        else { return false }
        return text.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 0x20 && $0.value < 0x7F || $0 == " " }
    }
}
