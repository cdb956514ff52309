#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory; the mapping lives exactly as long as this object.
final class MappedFile: Sendable {
    /// The file's bytes; empty (with a nil base address) for an empty file, which cannot be mapped.
    // The mapping is PROT_READ and never remapped, so sharing the pointer across threads is safe.
    nonisolated(unsafe) let bytes: UnsafeRawBufferPointer

    /// The path the file was opened from, for error messages.
    let path: String

    /// Maps the file at `path`, throwing `ModelError.missingFile` or `.unreadableFile`.
    init(path: String) throws {
        self.path = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            if code == ENOENT { throw ModelError.missingFile(path: path) }
            throw ModelError.unreadableFile(path: path, reason: Self.describe(code))
        }
        defer { close(descriptor) }

        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw ModelError.unreadableFile(path: path, reason: Self.describe(errno))
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw ModelError.unreadableFile(path: path, reason: "not a regular file")
        }
        let size = Int(status.st_size)
        guard size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0)
        guard let address, address != MAP_FAILED else {
            throw ModelError.unreadableFile(path: path, reason: "mmap failed: \(Self.describe(errno))")
        }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    deinit {
        if let base = bytes.baseAddress {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
    }

    private static func describe(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
