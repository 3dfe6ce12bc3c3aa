import SandboxImage
import SandboxPolicy

/// Stage 2½, Images: the built image every step that runs needs, from the store,
/// built first where the store has none or one of an older definition. The
/// images are held (the store keeps them) until the verification ends.
struct ImageProvisioning {
    var store: ImageStore

    /// The roots and digests, by image name, and what holds them.
    func provide(_ images: [ToolchainImage], progress: (VerifyProgress) -> Void) throws(VerifyError) -> (
        roots: [String: (root: String, digest: String)], held: [ImageInUse]
    ) {
        var roots: [String: (root: String, digest: String)] = [:]
        var held: [ImageInUse] = []
        for image in images {
            let label = "image:" + image.name
            do throws(ImageError) {
                let inUse = try store.building(image.name) { () throws(ImageError) -> ImageInUse in
                    let stored = store.record(named: image.name)
                    if let stored, stored.definition == image.definition { return try store.use(image.name) }
                    let why = stored == nil ? "not built yet" : "its definition changed"
                    progress(.status(label, "building (\(why)), once for this host"))
                    let record = try ImageBuilder(store: store).build(
                        image, definition: image.definition, origin: "built from " + image.source
                    ) { line in progress(.status(label, line)) }
                    progress(.status(label, "built in \(Int(record.seconds.rounded())) s: \(record.digest)"))
                    return try store.use(image.name)
                }
                roots[image.name] = (inUse.root, inUse.record.digest)
                held.append(inUse)
            } catch {
                throw .sandbox("\(error)")
            }
        }
        return (roots, held)
    }
}
