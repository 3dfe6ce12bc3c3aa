/// One entry of a tar archive, as its headers (ustar, GNU long names, PAX) say.
public struct TarEntry: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case file
        case directory
        case symlink
        /// A hard link to an earlier entry of the same archive.
        case hardLink
        /// A character or block device, or a FIFO: never created.
        case special
    }

    /// The path as stored (not yet checked against a root).
    public var path: String
    public var kind: Kind
    /// The permission bits with setuid, setgid and sticky.
    public var mode: UInt32
    public var size: Int
    /// A link's target, symbolic or hard.
    public var linkTarget: String
}

/// Reads a tar archive header by header, strictly: a checksum that does not
/// match, a size that is not a number, a header cut short or a PAX record that
/// does not parse is an error, never a guess. The bytes come from `read`,
/// which returns exactly the count asked for or fewer at the archive's end; the
/// caller reads (or skips) each file's contents with `content`.
public struct TarReader {
    public typealias Read = (Int) throws -> [UInt8]

    /// The longest path or link target read from a PAX or GNU header.
    public static let maximumNameBytes = 4096
    /// The largest PAX or GNU long-name record read.
    public static let maximumExtendedHeaderBytes = 1 << 20

    let read: Read
    /// Bytes of the current entry's contents not yet read, and its padding.
    var remaining = 0
    var padding = 0

    public init(read: @escaping Read) {
        self.read = read
    }

    /// The next entry, or nil at the archive's end (two zero blocks, or none).
    public mutating func next() throws(ReportError) -> TarEntry? {
        try skipContent()
        var longName: String?
        var longLink: String?
        var pax: [String: String] = [:]
        while true {
            let block = try readBlock()
            guard let block, block.contains(where: { $0 != 0 }) else { return nil }
            try Self.checkChecksum(block)
            let type = block[156]
            let size = try Self.number(block[124..<136], field: "size")
            guard size >= 0, size <= Int(Int64.max / 2) else { throw Self.error("a size out of range") }
            switch type {
            case UInt8(ascii: "L"), UInt8(ascii: "K"):
                let bytes = try readExtended(size)
                let text = Self.string(bytes.prefix { $0 != 0 })
                if type == UInt8(ascii: "L") { longName = text } else { longLink = text }
                continue
            case UInt8(ascii: "x"):
                pax.merge(try Self.paxRecords(try readExtended(size))) { $1 }
                continue
            case UInt8(ascii: "g"):
                _ = try readExtended(size)
                continue
            default:
                break
            }
            var path = Self.string(block[0..<100].prefix { $0 != 0 })
            let magic = Array(block[257..<263])
            if magic == Array("ustar\0".utf8) || magic == Array("ustar ".utf8) {
                let prefix = Self.string(block[345..<500].prefix { $0 != 0 })
                if !prefix.isEmpty && magic == Array("ustar\0".utf8) { path = prefix + "/" + path }
            }
            path = pax["path"] ?? longName ?? path
            let linkTarget = pax["linkpath"] ?? longLink ?? Self.string(block[157..<257].prefix { $0 != 0 })
            let entrySize =
                try pax["size"].map { value throws(ReportError) -> Int in
                    guard let parsed = Int(value), parsed >= 0 else {
                        throw Self.error("a PAX size that is not a number")
                    }
                    return parsed
                } ?? size
            let mode = UInt32(truncatingIfNeeded: try Self.number(block[100..<108], field: "mode") & 0o7777)
            let kind: TarEntry.Kind
            switch type {
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): kind = path.hasSuffix("/") ? .directory : .file
            case UInt8(ascii: "5"): kind = .directory
            case UInt8(ascii: "2"): kind = .symlink
            case UInt8(ascii: "1"): kind = .hardLink
            case UInt8(ascii: "3"), UInt8(ascii: "4"), UInt8(ascii: "6"): kind = .special
            default: throw Self.error("an entry of type '\(Self.string([type]))', which is not read")
            }
            guard path.utf8.count <= Self.maximumNameBytes, linkTarget.utf8.count <= Self.maximumNameBytes else {
                throw Self.error("a name longer than \(Self.maximumNameBytes) bytes")
            }
            let contentSize = kind == .file ? entrySize : 0
            remaining = contentSize
            padding = (512 - contentSize % 512) % 512
            if kind != .file { try discard(entrySize + (512 - entrySize % 512) % 512) }
            return TarEntry(path: path, kind: kind, mode: mode, size: contentSize, linkTarget: linkTarget)
        }
    }

    /// Up to `limit` bytes more of the current file's contents; empty at its end.
    public mutating func content(limit: Int = 1 << 20) throws(ReportError) -> [UInt8] {
        guard remaining > 0 else { return [] }
        let count = min(limit, remaining)
        let bytes = try exactly(count, "a file's contents")
        remaining -= count
        return bytes
    }

    mutating func skipContent() throws(ReportError) {
        try discard(remaining + padding)
        remaining = 0
        padding = 0
    }

    func discard(_ count: Int) throws(ReportError) {
        var left = count
        while left > 0 {
            let chunk = min(left, 1 << 20)
            _ = try exactly(chunk, "an entry")
            left -= chunk
        }
    }

    /// `count` bytes, or an error naming `what` was cut short.
    func exactly(_ count: Int, _ what: String) throws(ReportError) -> [UInt8] {
        let bytes = try readSome(count)
        guard bytes.count == count else { throw Self.error(what + " cut short") }
        return bytes
    }

    /// What `read` gives, its errors as this reader's.
    func readSome(_ count: Int) throws(ReportError) -> [UInt8] {
        do {
            return try read(count)
        } catch {
            throw Self.error("\(error)")
        }
    }

    func readBlock() throws(ReportError) -> [UInt8]? {
        let block = try readSome(512)
        if block.isEmpty { return nil }
        guard block.count == 512 else { throw Self.error("a header cut short") }
        return block
    }

    /// A long name or PAX record's data, and its padding.
    func readExtended(_ size: Int) throws(ReportError) -> [UInt8] {
        guard size <= Self.maximumExtendedHeaderBytes else {
            throw Self.error("an extended header larger than \(Self.maximumExtendedHeaderBytes) bytes")
        }
        let padded = size + (512 - size % 512) % 512
        let bytes = try exactly(padded, "an extended header")
        return Array(bytes.prefix(size))
    }

    /// "LEN key=value\n" records; LEN counts the whole record.
    static func paxRecords(_ bytes: [UInt8]) throws(ReportError) -> [String: String] {
        var records: [String: String] = [:]
        var rest = bytes[...]
        while !rest.isEmpty {
            guard let space = rest.firstIndex(of: UInt8(ascii: " ")),
                let length = Int(string(rest[rest.startIndex..<space])), length > space - rest.startIndex + 1,
                length <= rest.count, rest[rest.startIndex + length - 1] == UInt8(ascii: "\n")
            else { throw error("a PAX record that does not parse") }
            let record = rest[(space + 1)..<(rest.startIndex + length - 1)]
            guard let equals = record.firstIndex(of: UInt8(ascii: "=")) else {
                throw error("a PAX record without '='")
            }
            records[string(record[record.startIndex..<equals])] = string(record[(equals + 1)...])
            rest = rest[(rest.startIndex + length)...]
        }
        return records
    }

    /// An octal field (NUL or space ended), or GNU's base-256 for large values.
    static func number(_ field: ArraySlice<UInt8>, field name: String) throws(ReportError) -> Int {
        if let first = field.first, first & 0x80 != 0 {
            var value = 0
            for (index, byte) in field.enumerated() {
                let digit = Int(index == 0 ? byte & 0x7F : byte)
                guard value <= (Int.max >> 8) else { throw error("a \(name) too large") }
                value = value << 8 | digit
            }
            return value
        }
        let digits = field.drop { $0 == UInt8(ascii: " ") }.prefix { $0 != 0 && $0 != UInt8(ascii: " ") }
        guard !digits.isEmpty else { return 0 }
        var value = 0
        for digit in digits {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "7"), value <= (Int.max >> 3) else {
                throw error("a \(name) field that is not an octal number")
            }
            value = value << 3 | Int(digit - UInt8(ascii: "0"))
        }
        return value
    }

    /// The header's checksum: its bytes summed with the checksum field as spaces.
    static func checkChecksum(_ block: [UInt8]) throws(ReportError) {
        let recorded = try number(block[148..<156], field: "checksum")
        var sum = 0
        for (index, byte) in block.enumerated() { sum += (148..<156).contains(index) ? 32 : Int(byte) }
        guard sum == recorded else { throw error("a header whose checksum does not match") }
    }

    static func string(_ bytes: some Collection<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    static func error(_ reason: String) -> ReportError {
        ReportError(file: "tar", reason: reason)
    }
}

extension TarReader {
    /// Every entry of an archive held in memory, contents skipped (the fuzz target).
    public static func entries(of bytes: [UInt8], limit: Int = 100_000) throws(ReportError) -> [TarEntry] {
        var offset = 0
        var reader = TarReader { count in
            let end = min(bytes.count, offset + count)
            defer { offset = end }
            return Array(bytes[offset..<end])
        }
        var entries: [TarEntry] = []
        while let entry = try reader.next() {
            entries.append(entry)
            guard entries.count <= limit else { throw error("more than \(limit) entries") }
        }
        return entries
    }
}
