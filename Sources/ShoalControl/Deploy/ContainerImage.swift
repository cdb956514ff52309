#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The build context of an OCI image that runs `shoal`, from local files only: the binary at
/// `/usr/local/bin/shoal`, exactly the shared libraries and dynamic loader `ldd` lists for it (at the paths
/// it lists), the CA certificates, a world-writable `/tmp` and an unprivileged user (uid and gid 65532, the
/// user the Kubernetes manifests run as). Models are not in the image: servers read them from the store.
///
/// On `FROM scratch` (no registry needed) the image holds nothing else. With a distribution base image the
/// binary and its libraries are copied over it, so the base must be the release the binary was built on.
public struct ContainerImage: Sendable {
    /// The `shoal` executable the image runs.
    public var binary: URL
    /// A base image reference, or nil for `FROM scratch`.
    public var base: String?

    /// Where the binary lives in the image, and the user it runs as.
    public static let binaryPath = "/usr/local/bin/shoal"
    public static let user = 65_532
    static let certificates = "/etc/ssl/certs/ca-certificates.crt"

    public init(binary: URL, base: String? = nil) {
        self.binary = binary
        self.base = base
    }

    /// Writes `Containerfile` and `rootfs/` into `context` (emptied first) and returns the libraries copied.
    @discardableResult
    public func stage(in context: URL, libraries: [String]) throws -> [String] {
        let manager = FileManager.default
        let root = context.appendingPathComponent("rootfs")
        do {
            try? manager.removeItem(at: context)
            try manager.createDirectory(at: root, withIntermediateDirectories: true)
            // A copy, never a hard link: strip rewrites a linked file in place, which would strip the caller's
            // binary too, and fails (ETXTBSY) when that binary is the one running.
            try copy(binary.path, to: Self.binaryPath, in: root, link: false)
            Self.strip(root.appendingPathComponent(String(Self.binaryPath.dropFirst())).path)
            for library in libraries { try copy(library, to: library, in: root) }
            if base == nil {
                guard manager.fileExists(atPath: Self.certificates) else {
                    throw ControlError.file(path: Self.certificates, reason: "is missing; install the CA certificates (apt-get install ca-certificates)")
                }
                try copy(Self.certificates, to: Self.certificates, in: root)
                try write("root:x:0:0:root:/root:/sbin/nologin\nshoal:x:\(Self.user):\(Self.user):shoal:/tmp:/sbin/nologin\n",
                          to: "/etc/passwd", in: root)
                try write("root:x:0:\nshoal:x:\(Self.user):\n", to: "/etc/group", in: root)
                let tmp = root.appendingPathComponent("tmp")
                try manager.createDirectory(at: tmp, withIntermediateDirectories: true)
                try manager.setAttributes([.posixPermissions: 0o1777], ofItemAtPath: tmp.path)
            }
            try Data(containerfile.utf8).write(to: context.appendingPathComponent("Containerfile"))
        } catch let error as ControlError {
            throw error
        } catch {
            throw ControlError.file(path: context.path, reason: "cannot hold the image's files (\(error.localizedDescription))")
        }
        return libraries
    }

    /// Drops the symbols and debugging sections of the staged binary (a release build of `shoal` shrinks about
    /// fourfold) with binutils' `strip`; a binary `strip` cannot read, such as one for another architecture, is
    /// left whole.
    static func strip(_ path: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["strip", "--strip-unneeded", path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return }
        process.waitUntilExit()
    }

    /// The Containerfile: everything staged in one layer, run as the unprivileged user.
    var containerfile: String {
        """
        FROM \(base ?? "scratch")
        COPY rootfs/ /
        USER \(Self.user):\(Self.user)
        ENV PATH=/usr/local/bin:/usr/bin:/bin
        ENTRYPOINT ["\(Self.binaryPath)"]
        CMD ["--help"]

        """
    }

    /// The shared libraries and loader `ldd` lists for `binary`, as absolute paths; throws when one is not found.
    public static func libraries(of binary: URL) async throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ldd", binary.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        do {
            try process.run()
        } catch {
            throw ControlError.container("cannot run ldd on \(binary.path): \(error.localizedDescription)")
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if text.contains("not a dynamic executable") { return [] }  // a static executable needs no library
        guard process.terminationStatus == 0 else {
            throw ControlError.container("ldd \(binary.path) failed: \(text.trimmingCharacters(in: .whitespacesAndNewlines)); "
                + "the image needs a dynamically linked Linux executable")
        }
        return try parseLDD(text, binary: binary.path)
    }

    /// Paths from `ldd` output: `name => /path (0x…)` lines and the loader's `/path (0x…)`; the vDSO has none.
    static func parseLDD(_ text: String, binary: String) throws -> [String] {
        var paths: [String] = []
        for line in text.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let target = line.components(separatedBy: "=>").last?.trimmingCharacters(in: .whitespaces) ?? ""
            if target.hasPrefix("not found") {
                throw ControlError.container("\(binary) needs \(line.components(separatedBy: "=>")[0].trimmingCharacters(in: .whitespaces)), "
                    + "which ldd does not find; install it before building the image")
            }
            guard target.hasPrefix("/") else { continue }
            let path = target.components(separatedBy: " (").first ?? target
            if !paths.contains(path) { paths.append(path) }
        }
        return paths
    }

    /// Puts the file at `source` (its links followed) at `path` under `root`, with its permissions: a hard link
    /// where the file system allows one (the binary may be hundreds of megabytes), else a copy.
    private func copy(_ source: String, to path: String, in root: URL, link: Bool = true) throws {
        let destination = root.appendingPathComponent(String(path.drop { $0 == "/" }))
        let file = URL(fileURLWithPath: try Self.realPath(source))
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        if link, (try? FileManager.default.linkItem(at: file, to: destination)) != nil { return }
        try FileManager.default.copyItem(at: file, to: destination)
    }

    /// The file `path` names, every link on the way followed (relative ones too, unlike `resolvingSymlinksInPath`).
    static func realPath(_ path: String) throws -> String {
        guard let resolved = realpath(path, nil) else {
            throw ControlError.file(path: path, reason: "cannot be read (\(String(cString: strerror(errno))))")
        }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private func write(_ text: String, to path: String, in root: URL) throws {
        let destination = root.appendingPathComponent(String(path.drop { $0 == "/" }))
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: destination)
    }
}
