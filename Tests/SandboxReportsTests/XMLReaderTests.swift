import Testing

@testable import SandboxReports

@Suite struct XMLReaderTests {
    func parse(_ text: String) throws(ReportError) -> XMLElement {
        try XMLReader.parse(Array(text.utf8), file: "r.xml")
    }

    @Test func elementsAttributesTextAndReferences() throws {
        let root = try parse(
            "\u{FEFF}<?xml version=\"1.0\"?>\n<!-- c --><a x='1' y=\"a &amp; b &#x41;&#66;\"><b/>t&lt;<![CDATA[<raw>&amp;]]><c>z</c></a>\n"
        )
        #expect(root.name == "a")
        #expect(root["x"] == "1")
        #expect(root["y"] == "a & b AB")
        #expect(root.children.map(\.name) == ["b", "c"])
        #expect(root.text == "t<<raw>&amp;")
        #expect(root.child(named: "c")?.text == "z")
    }

    @Test func attributeWhitespaceIsNormalized() throws {
        #expect(try parse("<a m=\"one\ntwo\"/>")["m"] == "one two")
    }

    @Test func billionLaughsIsRefusedBeforeAnyExpansion() {
        let bomb = """
            <?xml version="1.0"?>
            <!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
            <testsuite>&lol2;</testsuite>
            """
        #expect(
            throws: ReportError(
                file: "r.xml", position: "line 2, column 1",
                reason: "document type declarations are refused (no DTDs, no entities)")
        ) {
            try parse(bomb)
        }
    }

    @Test func externalEntitiesAreRefused() {
        #expect(throws: ReportError.self) {
            try parse("<!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><x>&xxe;</x>")
        }
        #expect(
            throws: ReportError(
                file: "r.xml", position: "line 1, column 4",
                reason: "entity &xxe; is refused: only the predefined entities are read")
        ) {
            try parse("<x>&xxe;</x>")
        }
    }

    @Test func deepNestingIsRefused() {
        let deep = String(repeating: "<a>", count: 10_000) + String(repeating: "</a>", count: 10_000)
        #expect(throws: ReportError.self) { try parse(deep) }
    }

    @Test(arguments: [
        ("", "r.xml: the report is empty"),
        ("<a>", "r.xml: line 1, column 4: unterminated element <a>"),
        ("<a></b>", "r.xml: line 1, column 7: </b> closes <a>"),
        ("<a x=1/>", "r.xml: line 1, column 6: expected a quoted value for attribute x"),
        ("<a x='1' x='2'/>", "r.xml: line 1, column 15: attribute x given twice"),
        ("<a/><b/>", "r.xml: line 1, column 5: content after the root element"),
        ("text", "r.xml: line 1, column 1: expected the root element"),
        ("<a>&#0;</a>", "r.xml: line 1, column 4: invalid character reference &#0;"),
        ("<a>\n  <!-- open", "r.xml: line 2, column 3: unterminated construct (expected -->)"),
    ])
    func malformedInputNamesThePosition(text: String, message: String) {
        do {
            _ = try parse(text)
            Issue.record("parsed: \(text)")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func oversizedReportIsRefused() {
        let huge = [UInt8](repeating: UInt8(ascii: " "), count: ReportLimits.maximumBytes + 1)
        #expect(throws: ReportError(file: "r.xml", reason: "the report is larger than 64 MiB")) {
            try XMLReader.parse(huge, file: "r.xml")
        }
    }

    /// A report of more elements than any real one is refused before the tree it
    /// would build outgrows the supervisor's memory target.
    @Test func elementsBeyondTheCapAreRefused() throws {
        let cases = String(repeating: "<testcase name=\"t\"/>", count: XMLReader.maximumElements)
        let report = Array("<testsuite>\(cases)</testsuite>".utf8)
        #expect(throws: ReportError.self) { try XMLReader.parse(report, file: "junit.xml") }
        let within = String(repeating: "<testcase name=\"t\"/>", count: XMLReader.maximumElements - 1)
        let root = try XMLReader.parse(Array("<testsuite>\(within)</testsuite>".utf8), file: "junit.xml")
        #expect(root.children.count == XMLReader.maximumElements - 1)
    }

    @Test func attributesKeepTheirOrderAndRefuseRepeats() throws {
        let root = try XMLReader.parse(Array("<a z=\"1\" b=\"2\"/>".utf8), file: "x.xml")
        #expect(root.attributes.map(\.name) == ["z", "b"])
        #expect(root["b"] == "2" && root["c"] == nil)
        #expect(throws: ReportError.self) { try XMLReader.parse(Array("<a b=\"1\" b=\"2\"/>".utf8), file: "x.xml") }
    }
}
