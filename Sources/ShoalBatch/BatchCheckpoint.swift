import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How far a run got: the input consumed and the bytes of output and errors that hold its results. Written after
/// both files are synced, atomically (a temporary file, synced, renamed over the last one), so that a run killed at
/// any point resumes from a state its files hold entirely: they are cut back to these lengths.
struct BatchCheckpoint: Codable, Equatable {
    /// Names the run's arguments and input; a checkpoint of another run is refused.
    var run: String
    /// The input offset reading resumes at.
    var inputOffset: Int64
    /// The number of the line at `inputOffset`.
    var line: Int
    /// Records written to the output.
    var records: Int
    /// Records written to the errors file.
    var failed: Int
    /// Bytes of the output that hold those records.
    var outputBytes: Int64
    /// Bytes of the errors file that hold those errors.
    var errorBytes: Int64

    /// The checkpoint in `file`, nil when there is none.
    static func load(_ file: URL) throws(BatchError) -> BatchCheckpoint? {
        guard FileManager.default.fileExists(atPath: file.path) else { return nil }
        do {
            return try JSONDecoder().decode(BatchCheckpoint.self, from: Data(contentsOf: file))
        } catch {
            throw .cannotRead(file.path, reason: "not a batch checkpoint (\(error)); pass --restart to start over")
        }
    }

    /// Replaces the checkpoint in `file` atomically and durably.
    func save(to file: URL) throws(BatchError) {
        let staged = file.path + ".new"
        do {
            let data = try JSONEncoder().encode(self)
            let output = try AppendFile(path: staged, truncate: true)
            try output.append(Array(data))
            try output.sync()
        } catch let error as BatchError {
            throw error
        } catch {
            throw .cannotWrite(staged, reason: "\(error)")
        }
        guard rename(staged, file.path) == 0 else { throw .cannotWrite(file.path, reason: String(cString: strerror(errno))) }
    }
}

/// A file written only at its end, synced on demand and cut back to a length on resume.
final class AppendFile {
    let path: String
    private let descriptor: Int32

    /// Opens (creating) the file at `path`; with `truncate`, empties it.
    init(path: String, truncate: Bool = false) throws(BatchError) {
        self.path = path
        descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0o644)
        guard descriptor >= 0 else { throw .cannotWrite(path, reason: String(cString: strerror(errno))) }
    }

    deinit {
        close(descriptor)
    }

    /// Cuts the file to `length` bytes (a run's checkpointed length) and appends from there.
    func resume(at length: Int64) throws(BatchError) {
        guard ftruncate(descriptor, off_t(length)) == 0, lseek(descriptor, off_t(length), SEEK_SET) >= 0 else {
            throw .cannotWrite(path, reason: String(cString: strerror(errno)))
        }
    }

    func append(_ bytes: [UInt8]) throws(BatchError) {
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else { throw .cannotWrite(path, reason: String(cString: strerror(errno))) }
            written += result
        }
    }

    /// Takes the file's exclusive lock, held until the file is closed (or the process ends, however it ends);
    /// false when another process holds it.
    func tryLock() -> Bool {
        flock(descriptor, LOCK_EX | LOCK_NB) == 0
    }

    func sync() throws(BatchError) {
        guard fsync(descriptor) == 0 else { throw .cannotWrite(path, reason: String(cString: strerror(errno))) }
    }
}
