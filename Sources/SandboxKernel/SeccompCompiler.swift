import CSandbox
import Glibc
public import SandboxModel

/// Compiles a profile's rules into a BPF program with libseccomp, in the parent,
/// before any clone: the child only installs the finished bytes.
public enum SeccompCompiler {
    /// The compiled program, ready for seccomp(SECCOMP_SET_MODE_FILTER).
    public static func compile(_ profile: SeccompProfile, cache: FilterCache? = nil) throws -> [UInt8] {
        try PendingFilter(profile, cache: cache).program()
    }

    /// A compilation started on its own thread: libseccomp's work (about a
    /// millisecond) overlaps the rest of a step's preparation.
    public final class PendingFilter {
        private let profile: SeccompProfile
        private var job: OpaquePointer?
        private let cache: FilterCache?
        private let key: String
        private let cached: [UInt8]?

        /// Starts compiling `profile`, unless `cache` already holds its program.
        public init(_ profile: SeccompProfile, cache: FilterCache? = FilterCache.standard) {
            self.profile = profile
            self.cache = cache
            key = FilterCache.key(for: profile)
            cached = cache?.load(key)
            guard cached == nil else { return }
            job = profile.rules.map(\.syscall).withCStrings { names in
                let rules = zip(profile.rules, names).map { rule, name in SeccompCompiler.cRule(rule, name: name) }
                return sbx_filter_compile_start(rules, rules.count)
            }
        }

        deinit {
            if job != nil { _ = try? program() }
        }

        /// Waits for the program (compiling here if no thread could be started).
        public func program() throws -> [UInt8] {
            if let cached { return cached }
            var program: UnsafeMutableRawPointer?
            var length = 0
            var failedRule = -1
            let result: Int32
            if let job {
                self.job = nil
                result = sbx_filter_compile_finish(job, &program, &length, &failedRule)
            } else {
                result = profile.rules.map(\.syscall).withCStrings { names in
                    let rules = zip(profile.rules, names).map { rule, name in SeccompCompiler.cRule(rule, name: name) }
                    return sbx_filter_compile(rules, rules.count, &program, &length, &failedRule)
                }
            }
            guard result == 0, let program else {
                let culprit = failedRule >= 0 ? profile.rules[failedRule].syscall : nil
                if result == -ENOENT, let culprit {
                    // The built-in list holds only names libseccomp knows here; a
                    // profile's unknown name is a mistake the user should hear about.
                    throw SystemError(
                        "seccomp", errno: nil, hint: "unknown system call '\(culprit)' on this architecture")
                }
                throw SystemError("seccomp compile", errno: -result, path: culprit)
            }
            defer { free(program) }
            let bytes = Array(UnsafeRawBufferPointer(start: program, count: length))
            cache?.store(bytes, key: key)
            return bytes
        }
    }

    static func cRule(_ rule: SeccompRule, name: UnsafePointer<CChar>) -> sbx_rule {
        var compiled = sbx_rule()
        compiled.name = name
        compiled.syscall = -1
        switch rule.action {
        case .allow:
            compiled.action = UInt32(SBX_ACTION_ALLOW.rawValue)
        case .fail(let errno):
            compiled.action = UInt32(SBX_ACTION_ERRNO.rawValue)
            compiled.error = errno
        }
        compiled.check_count = UInt32(rule.checks.count)
        withUnsafeMutableBytes(of: &compiled.checks) { raw in
            let checks = raw.bindMemory(to: sbx_argument_check.self)
            for (index, check) in rule.checks.prefix(checks.count).enumerated() {
                checks[index] = sbx_argument_check(
                    argument: check.argument, compare: UInt32(SBX_COMPARE_MASKED_EQUAL.rawValue),
                    mask: check.mask, value: check.value)
            }
        }
        return compiled
    }

    /// The name of native system call `number`, e.g. "ptrace".
    public static func syscallName(_ number: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        guard sbx_syscall_name(number, &buffer, buffer.count) == 0 else { return "syscall \(number)" }
        return String(nulTerminated: buffer)
    }

    /// libseccomp's version, "2.5.4".
    public static var libraryVersion: String {
        var buffer = [CChar](repeating: 0, count: 32)
        sbx_seccomp_version(&buffer, buffer.count)
        return String(nulTerminated: buffer)
    }
}

extension String {
    /// The text of a NUL-terminated C buffer.
    init(nulTerminated buffer: [CChar]) {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        self.init(decoding: bytes, as: UTF8.self)
    }
}

extension Array where Element == String {
    /// Calls `body` with C copies of every string, valid for the call only.
    func withCStrings<R>(_ body: ([UnsafePointer<CChar>]) throws -> R) rethrows -> R {
        let copies = map { strdup($0)! }
        defer { copies.forEach { free($0) } }
        return try body(copies.map { UnsafePointer($0) })
    }
}
