internal import FoundationEssentials

/// A content descriptor of an OCI image layout: what a blob is, its digest and size.
public struct OCIDescriptor: Codable, Equatable, Sendable {
    public var mediaType: String
    public var digest: String
    public var size: Int
    public var annotations: [String: String]?

    /// The digest's hex digits, when it is a well-formed SHA-256 digest.
    public var sha256: String? {
        guard digest.hasPrefix("sha256:") else { return nil }
        let hex = digest.dropFirst(7)
        guard hex.count == 64, hex.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return nil }
        return String(hex)
    }

    /// The reference name a layout gives it (`org.opencontainers.image.ref.name`).
    public var referenceName: String? { annotations?["org.opencontainers.image.ref.name"] }
}

/// The parts of an OCI image layout read to import it: `oci-layout`,
/// `index.json` and an image manifest. Untrusted: each is decoded strictly, with
/// the report cap, and every descriptor must carry a SHA-256 digest and a size.
public enum OCILayout {
    public static let indexMediaType = "application/vnd.oci.image.index.v1+json"
    public static let manifestMediaType = "application/vnd.oci.image.manifest.v1+json"
    /// Layer media types whose tar is read, and how each is compressed.
    public static let layerTypes: [String: String?] = [
        "application/vnd.oci.image.layer.v1.tar": nil,
        "application/vnd.oci.image.layer.v1.tar+gzip": "gzip",
        "application/vnd.oci.image.layer.v1.tar+zstd": "zstd",
        "application/vnd.docker.image.rootfs.diff.tar.gzip": "gzip",
    ]
    /// The most layers an image may have.
    public static let maximumLayers = 128

    struct Version: Decodable { var imageLayoutVersion: String }
    struct Index: Decodable { var schemaVersion: Int; var manifests: [OCIDescriptor] }
    struct Manifest: Decodable {
        var schemaVersion: Int
        var config: OCIDescriptor
        var layers: [OCIDescriptor]
    }

    /// Checks `oci-layout`'s version.
    public static func checkVersion(_ bytes: [UInt8]) throws(ReportError) {
        let version = try decodeReport(Version.self, bytes, file: "oci-layout")
        guard version.imageLayoutVersion == "1.0.0" else {
            throw ReportError(
                file: "oci-layout", reason: "imageLayoutVersion '\(version.imageLayoutVersion)' is not 1.0.0")
        }
    }

    /// The index's manifests, each with a well-formed digest.
    public static func manifests(ofIndex bytes: [UInt8], file: String = "index.json") throws(ReportError)
        -> [OCIDescriptor]
    {
        let index = try decodeReport(Index.self, bytes, file: file)
        guard index.schemaVersion == 2 else { throw ReportError(file: file, reason: "schemaVersion is not 2") }
        try check(index.manifests, file: file)
        return index.manifests
    }

    /// An image manifest's layers, in order, each of a media type read here.
    public static func layers(ofManifest bytes: [UInt8], file: String) throws(ReportError) -> [OCIDescriptor] {
        let manifest = try decodeReport(Manifest.self, bytes, file: file)
        guard manifest.schemaVersion == 2 else { throw ReportError(file: file, reason: "schemaVersion is not 2") }
        guard manifest.layers.count <= maximumLayers else {
            throw ReportError(file: file, reason: "more than \(maximumLayers) layers")
        }
        try check(manifest.layers + [manifest.config], file: file)
        for layer in manifest.layers where layerTypes[layer.mediaType] == nil {
            throw ReportError(file: file, reason: "a layer of media type '\(layer.mediaType)', which is not read")
        }
        return manifest.layers
    }

    static func check(_ descriptors: [OCIDescriptor], file: String) throws(ReportError) {
        for descriptor in descriptors {
            guard descriptor.sha256 != nil else {
                throw ReportError(file: file, reason: "'\(descriptor.digest)' is not a sha256 digest")
            }
            guard descriptor.size >= 0 else { throw ReportError(file: file, reason: "a negative size") }
        }
    }
}
