/// A value given to `sandbox` that it cannot use: a malformed size, a bad mount,
/// a profile line it does not understand.
public struct ModelError: Error, Equatable, CustomStringConvertible, Sendable {
    /// What was being read, e.g. "--memory" or "profile.seccomp:3".
    public var subject: String
    /// What is wrong with it, and what would be right.
    public var reason: String

    public init(_ subject: String, _ reason: String) {
        self.subject = subject
        self.reason = reason
    }

    public var description: String { "\(subject): \(reason)" }
}
