import Testing

@testable import SandboxModel

@Suite struct ByteSizeTests {
    @Test(
        arguments: [
            ("4096", 4096), ("512K", 512 << 10), ("16M", 16 << 20), ("2G", 2 << 30), ("1T", 1 << 40),
            ("16MiB", 16 << 20), ("2gb", 2 << 30), (" 8M ", 8 << 20), ("7b", 7),
        ] as [(String, UInt64)])
    func parses(text: String, bytes: UInt64) throws {
        #expect(try ByteSize(parsing: text, option: "--memory").bytes == bytes)
    }

    @Test(arguments: ["", "M", "-1G", "1.5G", "2X", "G2", "99999999999999999999", "20000000000T"])
    func refuses(text: String) {
        #expect(throws: ModelError.self) { try ByteSize(parsing: text, option: "--memory") }
    }

    @Test func errorNamesTheOptionAndTheFix() {
        #expect(throws: ModelError("--tmp-size", "'2X' has an unknown unit 'X'; use K, M, G or T")) {
            try ByteSize(parsing: "2X", option: "--tmp-size")
        }
    }

    @Test func describesInTheLargestExactUnit() {
        #expect(ByteSize.gibibytes(2).description == "2 GiB")
        #expect(ByteSize.mebibytes(1536).description == "1536 MiB")
        #expect(ByteSize(bytes: 4097).description == "4097 B")
    }
}

@Suite struct TimeSpanTests {
    @Test(
        arguments: [
            ("90", 90_000), ("30s", 30_000), ("10m", 600_000), ("1h30m", 5_400_000), ("250ms", 250), ("1m30s", 90_000),
        ] as [(String, UInt64)])
    func parses(text: String, milliseconds: UInt64) throws {
        #expect(try TimeSpan(parsing: text, option: "--timeout").milliseconds == milliseconds)
    }

    @Test(arguments: ["", "s", "10x", "1.5s", "-3s", "m10", "99999999999999999999h"])
    func refuses(text: String) {
        #expect(throws: ModelError.self) { try TimeSpan(parsing: text, option: "--timeout") }
    }
}

@Suite struct BindMountTests {
    @Test func sourceAlone() throws {
        #expect(try BindMount(parsing: "/opt/swift") == BindMount(source: "/opt/swift", destination: "/opt/swift"))
    }

    @Test func sourceAndDestinationNormalized() throws {
        let bind = try BindMount(parsing: "/srv/cache//x:/opt//cache/")
        #expect(bind == BindMount(source: "/srv/cache//x", destination: "/opt/cache"))
    }

    @Test(arguments: [
        "relative", "/opt:relative", "/opt/../etc", "/opt:/opt/../etc", "/x:/", "/x:/usr", "/x:/usr/local",
        "/x:/workspace", "/x:/workspace/cache", "/x:/proc/1", "/x:/dev/shm", "/x:/etc/ssl", "/x:/tmp", "/x:/lib64",
        "/x:/.",
    ])
    func refusesWhatWouldEscapeOrHideTheLayout(text: String) {
        #expect(throws: ModelError.self) { try BindMount(parsing: text) }
    }
}

@Suite struct EnvironmentTests {
    @Test func startsWithOnlyTheFourDefaults() {
        let configuration = RunConfiguration(command: ["true"])
        #expect(configuration.environment.map(\.name) == ["PATH", "HOME", "LANG", "TMPDIR"])
    }

    @Test func overridesAndAppends() throws {
        var configuration = RunConfiguration(command: ["true"])
        try configuration.setEnvironment(parsing: "PATH=/opt/bin")
        try configuration.setEnvironment(parsing: "GOFLAGS=-mod=mod")
        try configuration.setEnvironment(parsing: "EMPTY=")
        #expect(configuration.environmentValue("PATH") == "/opt/bin")
        #expect(configuration.environmentValue("GOFLAGS") == "-mod=mod")
        #expect(configuration.environmentValue("EMPTY") == "")
        #expect(configuration.environment.filter { $0.name == "PATH" }.count == 1)
    }

    @Test(arguments: ["NOEQUALS", "=value", "1ABC=x", "A-B=x", "A B=x", "Ä=x"])
    func refusesBadNames(text: String) {
        var configuration = RunConfiguration(command: ["true"])
        #expect(throws: ModelError.self) { try configuration.setEnvironment(parsing: text) }
    }
}
