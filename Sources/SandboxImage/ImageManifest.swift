import Crypto
import Glibc
import SandboxKernel
import SystemPackage

/// What an image's root holds, one line per entry in the walk's order (each
/// directory's names sorted by their bytes): kind, permission bits, size, the
/// SHA-256 of a file's contents or a link's target, and the path. The image's
/// digest is the SHA-256 of these lines, so it covers sorted paths, modes, link
/// targets and contents, and nothing of owners or times.
public struct ImageManifest: Equatable, Sendable {
    public var lines: [String]
    public var files = 0
    public var bytes: Int64 = 0

    /// "sha256:" and 64 hex digits.
    public var digest: String { "sha256:" + Self.hex(SHA256.hash(data: Array(text.utf8))) }

    public var text: String { lines.map { $0 + "\n" }.joined() }

    /// The manifest of the tree at `root`. Without `hashing`, files are compared
    /// by size and mode only (the quick check made before each use).
    public static func of(_ root: String, hashing: Bool = true) throws -> ImageManifest {
        var manifest = ImageManifest(lines: [])
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        try FileTree.walk(root, opening: hashing) { entry, fd in
            let mode = String(entry.mode, radix: 8)
            let path = escaped(entry.path)
            switch entry.kind {
            case .file:
                manifest.files += 1
                manifest.bytes += entry.size
                var content = "-"
                if hashing, let fd {
                    var hasher = SHA256()
                    while true {
                        let count = buffer.withUnsafeMutableBytes { Descriptor.read(fd, into: $0) }
                        if count < 0 { throw SystemError.last("read", path: root + "/" + entry.path) }
                        if count == 0 { break }
                        hasher.update(data: buffer[0..<count])
                    }
                    content = hex(hasher.finalize())
                }
                manifest.lines.append("f\t\(mode)\t\(entry.size)\t\(content)\t\(path)")
            case .directory:
                manifest.lines.append("d\t\(mode)\t-\t-\t\(path)")
            case .symlink:
                manifest.lines.append("l\t777\t-\t\(escaped(entry.linkTarget ?? ""))\t\(path)")
            case .special:
                throw SystemError(
                    "image manifest", errno: EPERM, path: root + "/" + entry.path,
                    hint: "a device node, FIFO or socket, which no image may hold")
            }
        }
        return manifest
    }

    /// The lines with files' contents left out, to compare with a quick walk.
    public var shape: [String] {
        lines.map { line in
            guard line.hasPrefix("f\t") else { return line }
            var fields = line.split(separator: "\t", maxSplits: 4, omittingEmptySubsequences: false)
            fields[3] = "-"
            return fields.joined(separator: "\t")
        }
    }

    /// The first line where `self` and `other` differ, in words; nil when they agree.
    public func firstDifference(from other: [String]) -> String? {
        for (mine, theirs) in zip(lines, other) where mine != theirs {
            return "'\(Self.path(of: mine))' is not as recorded ('\(Self.path(of: theirs))' was)"
        }
        if lines.count > other.count { return "'\(Self.path(of: lines[other.count]))' was not recorded" }
        if lines.count < other.count { return "'\(Self.path(of: other[lines.count]))' is missing" }
        return nil
    }

    static func path(of line: String) -> Substring {
        line.split(separator: "\t", maxSplits: 4, omittingEmptySubsequences: false).last ?? ""
    }

    /// Tabs and backslashes escaped, so that every field stays one field.
    static func escaped(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "\\": result += "\\\\"
            case "\t": result += "\\t"
            default: result.append(character)
            }
        }
        return result
    }

    /// Lowercase hex digits of `bytes`.
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
