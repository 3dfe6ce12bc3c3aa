/// An element of an XML report: enough of XML for JUnit, TRX and Cobertura, and
/// nothing that can be abused. No DTDs, no entities but the five predefined and
/// character references, no external anything, a bounded depth.
public struct XMLElement: Equatable, Sendable {
    public var name: String
    /// In document order: a list, a fraction of a dictionary's memory for the few
    /// attributes an element has (a report holds millions of elements).
    public var attributes: [(name: String, value: String)]
    public var children: [XMLElement]
    /// Character data directly inside this element, CDATA included, concatenated.
    public var text: String

    public init(
        name: String, attributes: [(name: String, value: String)] = [], children: [XMLElement] = [], text: String = ""
    ) {
        self.name = name
        self.attributes = attributes
        self.children = children
        self.text = text
    }

    public static func == (left: XMLElement, right: XMLElement) -> Bool {
        left.name == right.name && left.text == right.text && left.children == right.children
            && left.attributes.elementsEqual(right.attributes) { $0.name == $1.name && $0.value == $1.value }
    }

    public subscript(attribute: String) -> String? { attributes.first { $0.name == attribute }?.value }

    /// Direct children named `name`.
    public func children(named name: String) -> [XMLElement] { children.filter { $0.name == name } }

    public func child(named name: String) -> XMLElement? { children.first { $0.name == name } }
}

/// A small, strict XML reader over bytes.
public struct XMLReader {
    public static let maximumDepth = 256
    /// Elements in one report: more than any real report holds (a suite of a few
    /// hundred thousand tests), few enough that the tree stays within the
    /// supervisor's memory target.
    public static let maximumElements = 400_000

    let bytes: [UInt8]
    let file: String
    var index = 0
    var elements = 0

    /// Parses `bytes` into the root element.
    public static func parse(_ bytes: [UInt8], file: String) throws(ReportError) -> XMLElement {
        try ReportLimits.check(bytes, file: file)
        var reader = XMLReader(bytes: bytes, file: file)
        return try reader.document()
    }

    init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
    }

    mutating func document() throws(ReportError) -> XMLElement {
        try skipMisc()
        guard peek(0) == UInt8(ascii: "<") else { throw error("expected the root element") }
        let root = try element(depth: 0)
        try skipMisc()
        guard index == bytes.count else { throw error("content after the root element") }
        return root
    }

    /// Whitespace, comments and processing instructions between elements; a DTD is refused.
    mutating func skipMisc() throws(ReportError) {
        while index < bytes.count {
            if isSpace(bytes[index]) {
                index += 1
            } else if matches("<?") {
                try skip(past: "?>")
            } else if matches("<!--") {
                try skip(past: "-->")
            } else if matches("<!") {
                throw error("document type declarations are refused (no DTDs, no entities)")
            } else {
                return
            }
        }
    }

    mutating func element(depth: Int) throws(ReportError) -> XMLElement {
        guard depth < Self.maximumDepth else { throw error("elements nest deeper than \(Self.maximumDepth)") }
        elements += 1
        guard elements <= Self.maximumElements else { throw error("more than \(Self.maximumElements) elements") }
        index += 1  // "<"
        var element = XMLElement(name: try name())
        while true {
            skipSpaces()
            if matches("/>") {
                index += 2
                return element
            }
            if matches(">") {
                index += 1
                break
            }
            let attributeName = try name()
            skipSpaces()
            guard peek(0) == UInt8(ascii: "=") else { throw error("expected '=' after attribute \(attributeName)") }
            index += 1
            skipSpaces()
            guard let quote = peek(0), quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else {
                throw error("expected a quoted value for attribute \(attributeName)")
            }
            index += 1
            let start = index
            while index < bytes.count && bytes[index] != quote {
                if bytes[index] == UInt8(ascii: "<") { throw error("'<' in the value of attribute \(attributeName)") }
                index += 1
            }
            guard index < bytes.count else { throw error("unterminated value of attribute \(attributeName)") }
            let value = try decode(start..<index, normalizeWhitespace: true)
            index += 1
            guard element[attributeName] == nil else { throw error("attribute \(attributeName) given twice") }
            element.attributes.append((attributeName, value))
        }
        var text: [String] = []
        while true {
            guard index < bytes.count else { throw error("unterminated element <\(element.name)>") }
            if matches("</") {
                index += 2
                let closing = try name()
                guard closing == element.name else {
                    throw error("</\(closing)> closes <\(element.name)>")
                }
                skipSpaces()
                guard peek(0) == UInt8(ascii: ">") else { throw error("expected '>' after </\(closing)") }
                index += 1
                element.text = text.joined()
                return element
            } else if matches("<!--") {
                try skip(past: "-->")
            } else if matches("<![CDATA[") {
                index += 9
                let start = index
                try skip(past: "]]>")
                text.append(String(decoding: bytes[start..<(index - 3)], as: UTF8.self))
            } else if matches("<?") {
                try skip(past: "?>")
            } else if matches("<!") {
                throw error("declarations are refused inside elements")
            } else if matches("<") {
                element.children.append(try self.element(depth: depth + 1))
            } else {
                let start = index
                while index < bytes.count && bytes[index] != UInt8(ascii: "<") { index += 1 }
                text.append(try decode(start..<index, normalizeWhitespace: false))
            }
        }
    }

    mutating func name() throws(ReportError) -> String {
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if isSpace(byte) || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "=") {
                break
            }
            index += 1
        }
        guard index > start else { throw error("expected a name") }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    /// Character data with its references resolved: the five predefined entities
    /// and numeric character references; any other entity is an error.
    func decode(_ range: Range<Int>, normalizeWhitespace: Bool) throws(ReportError) -> String {
        guard bytes[range].contains(UInt8(ascii: "&")) || normalizeWhitespace else {
            return String(decoding: bytes[range], as: UTF8.self)
        }
        var out: [UInt8] = []
        out.reserveCapacity(range.count)
        var at = range.lowerBound
        while at < range.upperBound {
            let byte = bytes[at]
            if byte == UInt8(ascii: "&") {
                guard let semicolon = bytes[at..<range.upperBound].firstIndex(of: UInt8(ascii: ";")),
                    semicolon - at <= 12
                else { throw error("unterminated character reference", at: at) }
                let reference = String(decoding: bytes[(at + 1)..<semicolon], as: UTF8.self)
                let scalar: Unicode.Scalar?
                switch reference {
                case "lt": scalar = "<"
                case "gt": scalar = ">"
                case "amp": scalar = "&"
                case "quot": scalar = "\""
                case "apos": scalar = "'"
                default:
                    if reference.hasPrefix("#x") {
                        scalar = UInt32(reference.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init)
                    } else if reference.hasPrefix("#") {
                        scalar = UInt32(reference.dropFirst(), radix: 10).flatMap(Unicode.Scalar.init)
                    } else {
                        throw error("entity &\(reference); is refused: only the predefined entities are read", at: at)
                    }
                }
                guard let scalar, scalar.value != 0 else {
                    throw error("invalid character reference &\(reference);", at: at)
                }
                out.append(contentsOf: String(Character(scalar)).utf8)
                at = semicolon + 1
            } else {
                out.append(normalizeWhitespace && (byte == 0x09 || byte == 0x0A || byte == 0x0D) ? 0x20 : byte)
                at += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    func peek(_ offset: Int) -> UInt8? {
        index + offset < bytes.count ? bytes[index + offset] : nil
    }

    func matches(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        return literal.withUTF8Buffer { literalBytes in
            for offset in 0..<count where bytes[index + offset] != literalBytes[offset] { return false }
            return true
        }
    }

    mutating func skip(past literal: StaticString) throws(ReportError) {
        let start = index
        while index < bytes.count {
            if matches(literal) {
                index += literal.utf8CodeUnitCount
                return
            }
            index += 1
        }
        index = start
        throw error("unterminated construct (expected \(literal))")
    }

    mutating func skipSpaces() {
        while index < bytes.count && isSpace(bytes[index]) { index += 1 }
    }

    func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }

    /// An error at the current position, as "line L, column C".
    func error(_ reason: String, at offset: Int? = nil) -> ReportError {
        ReportError(file: file, position: Self.position(of: offset ?? index, in: bytes), reason: reason)
    }

    static func position(of offset: Int, in bytes: [UInt8]) -> String {
        var line = 1
        var column = 1
        for byte in bytes[..<min(offset, bytes.count)] {
            if byte == 0x0A {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return "line \(line), column \(column)"
    }
}
