import Foundation
import Testing

@testable import SandboxModel

@Suite struct SeccompProfileTests {
    @Test func shippedDefaultFileIsTheBuiltInProfile() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("policies/seccomp/default.seccomp")
        let text = try String(contentsOf: url, encoding: .utf8)
        let parsed = try SeccompProfile(parsing: text, source: "default.seccomp")
        #expect(parsed == SeccompProfile.default)
    }

    @Test func defaultAllowsEverydayCallsAndNoneOfTheRefused() {
        let allowed = Set(SeccompProfile.default.allowed)
        for name in ["read", "write", "openat", "execve", "mmap", "wait4", "futex", "sendmsg", "close_range"] {
            #expect(allowed.contains(name), "\(name)")
        }
        #expect(allowed.isDisjoint(with: SeccompProfile.alwaysRefused))
        #expect(allowed.isDisjoint(with: SeccompProfile.argumentChecked))
    }

    @Test func parsesDirectivesAndComments() throws {
        let profile = try SeccompProfile(
            parsing: "# mine\non-deny kill\nallow read write # io\n\nallow exit_group read\n", source: "p")
        #expect(profile.onDeny == .kill)
        #expect(profile.allowed == ["read", "write", "exit_group"])
    }

    @Test(arguments: [
        ("allow read\nallow ptrace\n", "p:2: ptrace is always refused by sandbox and cannot be allowed"),
        ("allow ioctl\n", "p:1: ioctl is allowed by built-in argument rules; remove it from the profile"),
        ("allow read\nbogus x\n", "p:2: unknown directive 'bogus'; expected on-deny or allow"),
        ("on-deny maybe\nallow read\n", "p:1: on-deny takes one of: errno, kill"),
        ("on-deny kill\non-deny errno\nallow read\n", "p:2: on-deny is given twice"),
        ("allow Read\n", "p:1: 'Read' is not a system-call name"),
        ("allow\n", "p:1: allow needs at least one system-call name"),
        ("# nothing\n", "p: the profile allows no system call"),
    ])
    func errorsNameFileAndLine(text: String, message: String) {
        #expect(throws: (any Error).self) { try SeccompProfile(parsing: text, source: "p") }
        do {
            _ = try SeccompProfile(parsing: text, source: "p")
        } catch {
            #expect("\(error)" == message)
        }
    }

    @Test func rulesRefuseNamespaceFlagsOnClone() throws {
        let clone = try #require(SeccompProfile.default.rules.first { $0.syscall == "clone" })
        #expect(clone.checks == [.init(argument: 0, mask: 0x7E02_0000, value: 0)])
        let clone3 = try #require(SeccompProfile.default.rules.first { $0.syscall == "clone3" })
        #expect(clone3.action == .fail(errno: 38))
    }

    /// Unix and internet sockets, and of netlink only NETLINK_ROUTE (getifaddrs).
    @Test func socketsOnlyForUnixAndInternetFamiliesAndRouteNetlink() {
        let checks = SeccompProfile.default.rules.filter { $0.syscall == "socket" }.map(\.checks)
        #expect(
            checks == [
                [.init(argument: 0, mask: 0xFFFF_FFFF, value: 1)], [.init(argument: 0, mask: 0xFFFF_FFFF, value: 2)],
                [.init(argument: 0, mask: 0xFFFF_FFFF, value: 10)],
                [.init(argument: 0, mask: 0xFFFF_FFFF, value: 16), .init(argument: 2, mask: 0xFFFF_FFFF, value: 0)],
            ])
    }

    /// The ioctl rules must admit every request but TIOCSTI and TIOCLINUX, comparing
    /// only the low 32 bits as the kernel does.
    @Test func ioctlRulesCoverEverythingButTheTwoRefusedRequests() {
        let rules = SeccompProfile.default.rules.filter { $0.syscall == "ioctl" }
        func admitted(_ request: UInt64) -> Int {
            rules.filter { rule in rule.checks.allSatisfy { (request & $0.mask) == $0.value } }.count
        }
        #expect(admitted(0x5412) == 0)
        #expect(admitted(0x1_0000_5412) == 0)
        #expect(admitted(0x541C) == 0)
        for request: UInt64 in [0, 0x5401, 0x5411, 0x5413, 0x541B, 0x541D, 0x8004_5430, 0xFFFF_FFFF, 0x1_0000_5413] {
            #expect(admitted(request) == 1, "request \(String(request, radix: 16))")
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let request = UInt64(UInt32.random(in: .min ... .max, using: &generator))
            let expected = request == 0x5412 || request == 0x541C ? 0 : 1
            #expect(admitted(request) == expected)
        }
    }

    @Test func maskedComplementOfNothingIsEverything() {
        let blocks = SeccompRule.maskedComplement(of: [])
        #expect(blocks.count == 1)
        #expect(blocks[0].mask == 0 && blocks[0].value == 0)
    }
}
