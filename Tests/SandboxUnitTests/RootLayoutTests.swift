import Testing

@testable import SandboxModel

@Suite struct RootLayoutTests {
    static let mergedUsr = HostLayout(
        topLevel: [("bin", "usr/bin"), ("lib", "usr/lib"), ("lib64", "usr/lib64"), ("sbin", "usr/sbin")],
        linkerCache: "/etc/ld.so.cache", certificates: "/etc/ssl/certs", alternatives: "/etc/alternatives",
        resolver: "/etc/resolv.conf")

    static func topLevelPaths(_ ops: [RootOperation]) -> Set<String> {
        Set(ops.map { "/" + ($0.path.split(separator: "/").first.map(String.init) ?? "") })
    }

    @Test func onlyThePlannedTopLevelEntries() {
        let ops = RootLayout.operations(for: RunConfiguration(command: ["true"]), host: Self.mergedUsr, workspace: nil)
        #expect(
            Self.topLevelPaths(ops) == [
                "/usr", "/bin", "/lib", "/lib64", "/sbin", "/etc", "/proc", "/dev", "/tmp", "/home", "/workspace",
            ])
        // The user's home is a private tmpfs, as its passwd says.
        #expect(ops.contains { if case .tmpfs("/home/sandbox", _, 0o1777) = $0 { true } else { false } })
        #expect(
            ops.contains {
                if case .file("/etc/passwd", let text, _) = $0 { text.contains(":/home/sandbox:") } else { false }
            })
    }

    /// On an image, /usr and a real top-level directory come from the image's root;
    /// the merged-usr links stay links, and nothing else of the image is bound.
    @Test func anImagesRootGivesUsr() {
        var image = HostLayout(
            topLevel: [("bin", "usr/bin"), ("lib", nil)], linkerCache: "/store/sha256-1/rootfs/etc/ld.so.cache",
            root: "/store/sha256-1/rootfs")
        image.certificates = nil
        let ops = RootLayout.operations(for: RunConfiguration(command: ["true"]), host: image, workspace: nil)
        #expect(ops.contains(.bind(source: "/store/sha256-1/rootfs/usr", target: "/usr", readOnly: true)))
        #expect(ops.contains(.bind(source: "/store/sha256-1/rootfs/lib", target: "/lib", readOnly: true)))
        #expect(ops.contains(.symlink(target: "usr/bin", at: "/bin")))
        #expect(ops.contains(.copy("/etc/ld.so.cache", from: "/store/sha256-1/rootfs/etc/ld.so.cache", mode: 0o444)))
        let sources = ops.compactMap { op -> String? in if case .bind(let source, _, _, _) = op { source } else { nil }
        }
        #expect(!sources.contains("/usr"), "the host's /usr is not bound")
    }

    @Test func usrIsReadOnlyAndMergedLinksAreLinks() {
        let ops = RootLayout.operations(for: RunConfiguration(command: ["true"]), host: Self.mergedUsr, workspace: nil)
        #expect(ops.contains(.bind(source: "/usr", target: "/usr", readOnly: true)))
        #expect(ops.contains(.symlink(target: "usr/bin", at: "/bin")))
        #expect(!ops.contains { if case .bind(_, "/bin", _, _) = $0 { true } else { false } })
    }

    @Test func writableBindsAreOnlyTheWorkspaceAndDevices() {
        let ops = RootLayout.operations(
            for: RunConfiguration(command: ["true"]), host: Self.mergedUsr, workspace: "/srv/checkout")
        let writable = ops.compactMap { op -> String? in
            if case .bind(_, let target, false, _) = op { target } else { nil }
        }
        #expect(writable == ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/workspace"])
        let withDevices = ops.filter { if case .bind(_, _, _, true) = $0 { true } else { false } }
        #expect(withDevices.count == 5)
    }

    @Test func freshWorkspaceIsATmpfs() {
        let ops = RootLayout.operations(for: RunConfiguration(command: ["true"]), host: Self.mergedUsr, workspace: nil)
        #expect(ops.contains(.tmpfs("/workspace", size: .mebibytes(512), mode: 0o1777)))
    }

    @Test func resolverOnlyWithHostNetwork() {
        var configuration = RunConfiguration(command: ["true"])
        let without = RootLayout.operations(for: configuration, host: Self.mergedUsr, workspace: nil)
        #expect(!without.contains { $0.path == "/etc/resolv.conf" })
        configuration.network = .host
        let with = RootLayout.operations(for: configuration, host: Self.mergedUsr, workspace: nil)
        #expect(with.contains(.copy("/etc/resolv.conf", from: "/etc/resolv.conf", mode: 0o444)))
    }

    @Test func extraBindsGetTheirParentsCreatedOnce() throws {
        var configuration = RunConfiguration(command: ["true"])
        configuration.binds = [try BindMount(parsing: "/opt/swift"), try BindMount(parsing: "/srv/go:/opt/go")]
        let ops = RootLayout.operations(for: configuration, host: Self.mergedUsr, workspace: nil)
        #expect(ops.filter { $0 == .directory("/opt", mode: 0o755) }.count == 1)
        let optSwift = try #require(ops.firstIndex(of: .directory("/opt/swift", mode: 0o755)))
        let bind = try #require(ops.firstIndex(of: .bind(source: "/opt/swift", target: "/opt/swift", readOnly: true)))
        #expect(optSwift < bind)
    }

    /// A file is bound onto an empty file, its parents made as directories.
    @Test func aFileSourceGetsAFileMountPoint() throws {
        var configuration = RunConfiguration(command: ["true"])
        configuration.binds = [try BindMount(parsing: "/etc/gitconfig:/opt/host-git/gitconfig")]
        let ops = RootLayout.operations(
            for: configuration, host: Self.mergedUsr, workspace: nil, fileSources: ["/etc/gitconfig"])
        let parent = try #require(ops.firstIndex(of: .directory("/opt/host-git", mode: 0o755)))
        let point = try #require(ops.firstIndex(of: .file("/opt/host-git/gitconfig", contents: "", mode: 0o644)))
        let bind = try #require(
            ops.firstIndex(of: .bind(source: "/etc/gitconfig", target: "/opt/host-git/gitconfig", readOnly: true)))
        #expect(parent < point && point < bind)
        #expect(!ops.contains(.directory("/opt/host-git/gitconfig", mode: 0o755)))
    }

    @Test func generatedPasswdNamesTheSandboxUserOnly() throws {
        let ops = RootLayout.operations(for: RunConfiguration(command: ["true"]), host: Self.mergedUsr, workspace: nil)
        let passwd = try #require(
            ops.compactMap { op -> String? in
                if case .file("/etc/passwd", let contents, _) = op { contents } else { nil }
            }.first)
        #expect(passwd.hasPrefix("sandbox:x:1000:1000:"))
        #expect(!passwd.contains("root"))
    }

    /// Each sandbox has a machine id of its own, as every Linux host has one.
    @Test func eachSandboxHasAMachineIDOfItsOwn() {
        func machineID() -> String? {
            RootLayout.operations(for: RunConfiguration(command: ["true"]), host: Self.mergedUsr, workspace: nil)
                .compactMap { op in if case .file("/etc/machine-id", let contents, _) = op { contents } else { nil } }
                .first
        }
        let first = machineID()
        #expect(first?.count == 33 && first?.dropLast().allSatisfy(\.isHexDigit) == true && first?.last == "\n")
        #expect(first != machineID())
    }
}
