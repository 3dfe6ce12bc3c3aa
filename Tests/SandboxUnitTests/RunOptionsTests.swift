import Testing

@testable import SandboxModel

/// `sandbox run`'s options: the start-up fast path, and the checks that turn
/// them into a configuration.
@Suite struct RunOptionsTests {
    @Test func theFastPathReadsPairsThenTheCommand() throws {
        let options = try #require(
            RunOptions.parseQuickly([
                "--memory", "1G", "--pids=64", "--env", "A=B", "--env=C=D", "--ro-bind", "/opt/x", "--network", "host",
                "--", "python3", "--version",
            ]))
        #expect(options.memory == "1G")
        #expect(options.pids == "64")
        #expect(options.environment == ["A=B", "C=D"], "only the first = separates an inline value")
        #expect(options.readOnlyBinds == ["/opt/x"])
        #expect(options.network == "host")
        #expect(options.command == ["python3", "--version"], "options after -- belong to the command")
    }

    /// Anything unusual goes to the full parser, which explains what is wrong.
    @Test(
        arguments: [
            ["--memory", "1G"],  // no command
            ["--memory", "1G", "--"],  // an empty command
            ["--memroy", "1G", "--", "true"],  // an unknown option
            ["true"],  // an operand before --
            ["--help"],  // help
            ["--timeout"],  // an option without its value
        ])
    func anythingElseIsLeftToTheFullParser(arguments: [String]) {
        #expect(RunOptions.parseQuickly(arguments) == nil)
    }

    @Test func everyOptionNameIsSettable() {
        var options = RunOptions()
        for name in RunOptions.optionNames {
            let known = options.set(name, to: "1")
            #expect(known, "\(name)")
        }
        let unknown = options.set("privileged", to: "1")
        #expect(!unknown)
        #expect(options.workspace == "1" && options.result == "1" && options.seccomp == "1")
        #expect(options.readOnlyBinds == ["1"] && options.environment == ["1"])
    }

    @Test func valuesBecomeTheConfiguration() throws {
        var options = RunOptions()
        options.command = ["/bin/true"]
        options.workspace = "/srv/checkout"
        options.readOnlyBinds = ["/opt/tools:/tools"]
        options.memory = "512M"
        options.pids = "32"
        options.cpuTime = "90"
        options.timeout = "2m"
        options.outputLimit = "1M"
        options.tmpSize = "64M"
        options.fileSize = "8M"
        options.environment = ["LANG=C.UTF-8"]
        let configuration = try options.configuration { _ in
            Issue.record("the default profile reads no file")
            return ""
        }
        #expect(configuration.command == ["/bin/true"])
        #expect(configuration.workspace == "/srv/checkout")
        #expect(configuration.binds == [BindMount(source: "/opt/tools", destination: "/tools")])
        #expect(configuration.network == .none)
        let limits = configuration.limits
        #expect(limits.memory == .mebibytes(512))
        #expect(limits.pids == 32)
        #expect(limits.cpuTime.milliseconds == 90_000)
        #expect(limits.timeout.milliseconds == 120_000)
        #expect(limits.output == .mebibytes(1))
        #expect(limits.tmpSize == .mebibytes(64))
        #expect(limits.fileSize == .mebibytes(8))
        #expect(configuration.environmentValue("LANG") == "C.UTF-8")
        #expect(configuration.seccomp == .default)
    }

    @Test func aProfileOtherThanTheDefaultIsReadAndParsed() throws {
        var options = RunOptions()
        options.command = ["/bin/true"]
        options.seccomp = "/etc/strict.seccomp"
        var asked: [String] = []
        let configuration = try options.configuration { path in
            asked.append(path)
            return "on-deny kill\nallow read write exit_group\n"
        }
        #expect(asked == ["/etc/strict.seccomp"])
        #expect(configuration.seccomp.onDeny == .kill)
        #expect(configuration.seccomp.allowed == ["read", "write", "exit_group"])
    }

    @Test(
        arguments: [
            ("command", "", "give the command after --, e.g. sandbox run -- /bin/true"),
            ("network", "bridge", "'bridge' is not one of: none, host"),
            ("pids", "0", "'0' is not a count of at least 1"),
            ("pids", "many", "'many' is not a count of at least 1"),
            ("memory", "512K", "at least 1M is needed"),
            ("tmp-size", "4K", "at least 1M is needed"),
            ("cpu-time", "500ms", "at least one second"),
            ("timeout", "0", "must be positive"),
        ])
    func badValuesNameTheOptionAndTheFix(option: String, value: String, reason: String) throws {
        var options = RunOptions()
        options.command = ["/bin/true"]
        if option == "command" {
            options.command = []
        } else {
            let known = options.set(option, to: value)
            #expect(known)
        }
        let subject = option == "command" ? "command" : "--" + option
        #expect(throws: ModelError(subject, reason)) { try options.configuration { _ in "" } }
    }
}
