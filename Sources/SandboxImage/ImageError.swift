public import SandboxKernel

/// Why an image could not be built, imported, stored or used: what was being
/// done, to which image, and what to do about it.
public struct ImageError: Error, CustomStringConvertible, Sendable {
    /// The image's name, or the layout's path.
    public var image: String
    public var reason: String

    public init(_ image: String, _ reason: String) {
        self.image = image
        self.reason = reason
    }

    public init(_ image: String, _ error: SystemError) {
        self.init(image, error.description)
    }

    public var description: String { "image \(image): \(reason)" }
}
