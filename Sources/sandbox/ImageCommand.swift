import ArgumentParser
import Glibc
import SandboxImage
import SandboxPolicy
import SandboxVerify

/// `sandbox image`: build, import, list, inspect and remove toolchain images.
struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Build toolchain images from images/*.yaml, import OCI layouts, and manage the store.",
        subcommands: [Build.self, Import.self, List.self, Inspect.self, Remove.self, CollectGarbage.self])

    /// Runs `body`, turning an image error into its message and exit 2.
    static func exiting<T>(_ body: () throws(ImageError) -> T) throws -> T {
        do {
            return try body()
        } catch {
            FileDescriptorOutput.standardError.write("sandbox: \(error)\n")
            throw ExitCode(2)
        }
    }

    static func store() throws -> ImageStore {
        try exiting { () throws(ImageError) in try ImageStore.standard() }
    }

    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build an image from its definition (images/NAME.yaml beside the policies) into the store.")

        @Argument(help: "The image's name, e.g. python.")
        var name: String

        @OptionGroup var policy: PolicyOptions

        func run() throws {
            let trusted = try policy.load()
            guard let image = trusted.images[name] else {
                let known = trusted.images.keys.sorted().joined(separator: ", ")
                FileDescriptorOutput.standardError.write("sandbox: no image '\(name)'; there are: \(known)\n")
                throw ExitCode(2)
            }
            let builder = ImageBuilder(store: try store())
            let record = try exiting { () throws(ImageError) in
                try builder.build(image, definition: image.definition, origin: "built from " + image.source) {
                    FileDescriptorOutput.standardError.write($0 + "\n")
                }
            }
            FileDescriptorOutput.standardOutput.write("\(record.name) \(record.digest)\n")
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import an OCI image layout (as skopeo, umoci or buildah write one) into the store.")

        @Argument(help: "The layout's directory.")
        var path: String

        @Option(help: "The name to store it under.")
        var name: String

        @Option(
            help: "Which of the layout's manifests, by its org.opencontainers.image.ref.name (default: the only one).")
        var reference: String?

        func run() throws {
            let store = try store()
            let record = try exiting { () throws(ImageError) in
                try OCIImport(store: store).importLayout(path, name: name, reference: reference)
            }
            FileDescriptorOutput.standardOutput.write("\(record.name) \(record.digest)\n")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the store's images.")

        func run() throws {
            let store = try store()
            var lines = ["NAME\tDIGEST\tFILES\tMiB\tORIGIN"]
            for record in store.records() {
                lines.append(
                    "\(record.name)\t\(record.digest.prefix(19))\t\(record.files)\t\(record.bytes >> 20)\t\(record.origin)"
                )
            }
            FileDescriptorOutput.standardOutput.write(lines.joined(separator: "\n") + "\n")
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print an image's record as JSON; with --verify, read every file again against its manifest.")

        @Argument(help: "The image's name.")
        var name: String

        @Flag(help: "Compare every file's contents with the manifest (exit 1 on a difference).")
        var verify = false

        func run() throws {
            let store = try store()
            guard let record = store.record(named: name) else {
                FileDescriptorOutput.standardError.write(
                    "sandbox: image \(name): not in the store \(store.directory)\n")
                throw ExitCode(2)
            }
            FileDescriptorOutput.standardOutput.write(record.json + "\n")
            guard verify else { return }
            if let difference = try exiting({ () throws(ImageError) in try store.verifyContents(name) }) {
                FileDescriptorOutput.standardError.write("sandbox: image \(name) is corrupted: \(difference)\n")
                throw ExitCode(1)
            }
            FileDescriptorOutput.standardError.write("image \(name): every file is as its manifest records\n")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm", abstract: "Remove an image's name from the store.")

        @Argument(help: "The image's name.")
        var name: String

        func run() throws {
            let store = try store()
            _ = try exiting { () throws(ImageError) in try store.remove(named: name) }
        }
    }

    struct CollectGarbage: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gc", abstract: "Remove the entries no name stands for, once nothing uses the store.")

        func run() throws {
            let store = try store()
            let removed = try exiting { () throws(ImageError) in try store.collectGarbage() }
            FileDescriptorOutput.standardOutput.write("removed \(removed.count) entries\n")
        }
    }
}
