import Foundation

/// Everything that can go wrong in the model store, each case saying what to do about it.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A setting of the store (URL, endpoint, region, cache) is malformed or missing.
    case invalidConfiguration(setting: String, reason: String)
    /// A model name or `name@version` reference is malformed.
    case invalidReference(String, reason: String)
    /// The store holds no model of this name, or not this version of it.
    case notFound(String)
    /// A version of this name already exists; versions never change once published.
    case versionExists(String)
    /// An object (a load-test result) already exists at this path; objects are never replaced.
    case objectExists(String)
    /// A file's bytes no longer match the sha256 its manifest records.
    case checksumMismatch(model: String, file: String, expected: String, actual: String)
    /// A file the manifest lists is absent or has another size.
    case missingFile(model: String, file: String)
    /// A `manifest.json` cannot be read or is malformed.
    case corruptManifest(path: String, reason: String)
    /// The store or the cache cannot be written (full disk, read-only file system, permissions).
    case cannotWrite(path: String, reason: String)
    /// A file cannot be read.
    case cannotRead(path: String, reason: String)
    /// The model to import fails to load or computes non-finite outputs.
    case invalidModel(source: String, reason: String)
    /// Other models depend on this one as their base.
    case inUse(String, dependents: [String])
    /// The S3 server refused the credentials.
    case accessDenied(store: String, reason: String)
    /// The S3 server cannot be reached or answered with an error.
    case remote(store: String, reason: String)
    /// Temporary credentials cannot be had from their source (IRSA's STS, a container credentials endpoint).
    case credentials(source: String, reason: String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let setting, let reason):
            "invalid store setting \(setting): \(reason)"
        case .invalidReference(let text, let reason):
            "invalid model reference \"\(text)\": \(reason); write NAME or NAME@VERSION (VERSION a number or latest)"
        case .notFound(let what):
            "the store has no model \(what); `shoal models list` shows what it holds"
        case .versionExists(let what):
            "\(what) already exists and versions never change; import again to publish a new version"
        case .objectExists(let path):
            "\(path) exists already and is never replaced; write under another name"
        case .checksumMismatch(let model, let file, let expected, let actual):
            "\(model): \(file) is corrupt (sha256 \(actual.prefix(12))…, manifest says \(expected.prefix(12))…); "
                + "remove the version with `shoal models rm` and import or pull it again"
        case .missingFile(let model, let file):
            "\(model): \(file) is missing or truncated; remove the version with `shoal models rm` and import or pull it again"
        case .corruptManifest(let path, let reason):
            "cannot read manifest \(path): \(reason); remove that version folder"
        case .cannotWrite(let path, let reason):
            "cannot write \(path): \(reason); free disk space, make it writable, or point SHOAL_STORE elsewhere"
        case .cannotRead(let path, let reason):
            "cannot read \(path): \(reason)"
        case .invalidModel(let source, let reason):
            "cannot import \(source): \(reason)"
        case .inUse(let model, let dependents):
            "\(model) is the base of \(dependents.prefix(5).joined(separator: ", "))"
                + (dependents.count > 5 ? " and \(dependents.count - 5) more" : "")
                + "; remove those first or pass --force"
        case .accessDenied(let store, let reason):
            "\(store) refused the credentials (\(reason)); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                + "or the profile in ~/.aws/credentials (AWS_PROFILE) to keys this server accepts"
        case .remote(let store, let reason):
            "\(store): \(reason)"
        case .credentials(let source, let reason):
            "no AWS credentials from \(source): \(reason)"
        }
    }

    /// The error for a failed write at `path`, naming the common causes plainly.
    static func writeFailure(_ path: String, _ error: any Error) -> StoreError {
        if let error = error as? StoreError { return error }
        return .cannotWrite(path: path, reason: SystemReason.describe(error))
    }
}

/// Plain words for the `errno` values that file operations report.
enum SystemReason {
    static func describe(_ error: any Error) -> String {
        let nsError = error as NSError
        let code = (nsError.userInfo[NSUnderlyingErrorKey] as? NSError).map(\.code) ?? nsError.code
        if nsError.domain == NSPOSIXErrorDomain || nsError.userInfo[NSUnderlyingErrorKey] != nil,
           let text = describe(errno: Int32(code)) {
            return text
        }
        switch nsError.code {
        case NSFileWriteOutOfSpaceError: return "no space left on the device"
        case NSFileWriteVolumeReadOnlyError: return "the file system is read-only"
        case NSFileWriteNoPermissionError: return "permission denied"
        default: return nsError.localizedDescription
        }
    }

    static func describe(errno code: Int32) -> String? {
        switch code {
        case ENOSPC: "no space left on the device"
        case EDQUOT: "the disk quota is exhausted"
        case EROFS: "the file system is read-only"
        case EACCES, EPERM: "permission denied"
        case EFBIG: "the file is larger than this process may write"
        default: nil
        }
    }
}
