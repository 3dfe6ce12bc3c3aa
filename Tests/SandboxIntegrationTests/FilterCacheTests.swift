import Foundation
import SandboxKernel
import SandboxModel
import Testing

@Suite struct FilterCacheTests {
    func cacheDirectory() -> (FilterCache, URL) {
        let parent = Harness.temporaryDirectory()
        return (FilterCache(directory: parent.appendingPathComponent("cache").path), parent)
    }

    @Test func aStoredProgramIsTheCompiledOne() throws {
        let (cache, parent) = cacheDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let key = FilterCache.key(for: .default)
        #expect(cache.load(key) == nil)
        let compiled = try SeccompCompiler.compile(.default, cache: cache)
        #expect(cache.load(key) == compiled)
        #expect(try SeccompCompiler.compile(.default, cache: cache) == compiled)
        var info = stat()
        #expect(stat(cache.directory, &info) == 0 && info.st_mode & 0o777 == 0o700)
    }

    @Test func aDifferentProfileHasADifferentKey() {
        var profile = SeccompProfile.default
        profile.allowed.removeLast()
        #expect(FilterCache.key(for: profile) != FilterCache.key(for: .default))
        profile.onDeny = .kill
        #expect(
            FilterCache.key(for: SeccompProfile(onDeny: .kill, allowed: SeccompProfile.default.allowed))
                == FilterCache.key(for: .default), "the deny action is enforced by the supervisor, not the program")
    }

    @Test func filesOthersCouldHaveWrittenAreIgnored() throws {
        let (cache, parent) = cacheDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let key = FilterCache.key(for: .default)
        let compiled = try SeccompCompiler.compile(.default, cache: cache)
        let path = cache.directory + "/" + key + ".bpf"
        chmod(path, 0o644)
        #expect(cache.load(key) == nil, "group- or world-readable files are not ours")
        chmod(path, 0o600)
        #expect(cache.load(key) == compiled)
        chmod(cache.directory, 0o755)
        #expect(cache.load(key) == nil, "a directory others can enter is not private")
        chmod(cache.directory, 0o700)
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "/etc/passwd")
        #expect(cache.load(key) == nil, "links are not followed")
    }
}
