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

extension PolicyParser {
    /// "source[:destination]" entries, each checked like `--ro-bind`; an error
    /// points at the entry.
    static func mounts(_ value: YAMLValue, key: String) throws(PolicyError) -> [BindMount] {
        var mounts: [BindMount] = []
        for (index, text) in try value.strings(key).enumerated() {
            do {
                mounts.append(try BindMount(parsing: text))
            } catch {
                throw try value.items(key)[index].fail((error as? ModelError)?.description ?? "\(error)")
            }
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
            case "environment":
                for (name, entry) in try value.mapping(allowed: [], anyKey: true, context: "environment") {
                    image.environment[name] = try entry.string("the value of \(name)")
                }
            case "requires": image.requires = try value.strings("requires")
            default: break
            }
        }
        guard !image.name.isEmpty else { throw root.fail("an image needs 'image': its name") }
        return image
    }
}
