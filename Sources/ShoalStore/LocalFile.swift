import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Local file writes that report a full or read-only disk as `StoreError.cannotWrite` and reach the disk.
enum LocalFile {
    /// Copies a file in 1 MiB chunks, creating the destination's folder, and flushes it to disk.
    static func copy(_ source: URL, to destination: URL, progress: TransferProgress? = nil) throws {
        guard let input = FileHandle(forReadingAtPath: source.path) else {
            throw StoreError.cannotRead(path: source.path, reason: "no such file or not readable")
        }
        defer { try? input.close() }
        let output = try create(destination)
        defer { try? output.close() }
        let total = (try? input.seekToEnd()).map(Int64.init) ?? 0
        var done: Int64 = 0
        do {
            try input.seek(toOffset: 0)
            while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
                try output.write(contentsOf: chunk)
                done += Int64(chunk.count)
                progress?(done, total)
            }
        } catch {
            throw StoreError.writeFailure(destination.path, error)
        }
        try sync(output, path: destination.path)
    }

    /// Writes `data` to a new file and flushes it to disk.
    static func write(_ data: Data, to url: URL) throws {
        let output = try create(url)
        defer { try? output.close() }
        do {
            try output.write(contentsOf: data)
        } catch {
            throw StoreError.writeFailure(url.path, error)
        }
        try sync(output, path: url.path)
    }

    /// Creates (or truncates) a file for writing, and its folder.
    static func create(_ url: URL) throws -> FileHandle {
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw StoreError.writeFailure(url.deletingLastPathComponent().path, error)
        }
        let descriptor = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw failure(url.path, errno) }
        return FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }

    /// Flushes a written file; a full disk may show only here, when delayed writes reach it.
    static func sync(_ handle: FileHandle, path: String) throws {
        guard fsync(handle.fileDescriptor) == 0 else { throw failure(path, errno) }
    }

    /// Exactly `count` bytes from the handle's position.
    static func read(_ handle: FileHandle, count: Int, path: String) throws -> Data {
        do {
            let data = try handle.read(upToCount: count) ?? Data()
            guard data.count == count else {
                throw StoreError.cannotRead(path: path, reason: "the file ended early; did it change while being read?")
            }
            return data
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.cannotRead(path: path, reason: SystemReason.describe(error))
        }
    }

    /// The store error for a failed system call on `path`.
    static func failure(_ path: String, _ code: Int32) -> StoreError {
        .cannotWrite(path: path, reason: SystemReason.describe(errno: code) ?? String(cString: strerror(code)))
    }
}
