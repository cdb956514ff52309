import Foundation

extension ContainerImage {
    /// What the ELF header of a Linux executable says about where it runs.
    public struct ExecutableFacts: Sendable, Equatable {
        /// The ELF machine number: 62 for x86-64, 183 for AArch64.
        public var machine: UInt16
        /// The architecture the machine number stands for; nil for one no target has.
        public var architecture: ShoalConfiguration.TargetSpec.Architecture?
        /// Whether it names a dynamic loader (a `PT_INTERP` program header), so needs shared libraries.
        public var isDynamic: Bool
    }

    /// ELF machine numbers of the architectures targets have.
    static let machines: [UInt16: ShoalConfiguration.TargetSpec.Architecture] = [62: .amd64, 183: .arm64]

    /// Reads the ELF header and program headers of `binary`; throws when it is no 64-bit little-endian ELF file.
    public static func facts(of binary: URL) throws -> ExecutableFacts {
        guard let handle = try? FileHandle(forReadingFrom: binary) else {
            throw ControlError.file(path: binary.path, reason: "cannot be read")
        }
        defer { try? handle.close() }
        let header = (try? handle.read(upToCount: 64)) ?? Data()
        let notELF = ControlError.file(path: binary.path, reason: "is not a 64-bit little-endian ELF executable, which a Linux image needs")
        guard header.count == 64, header.prefix(4) == Data([0x7F, 0x45, 0x4C, 0x46]), header[4] == 2, header[5] == 1 else { throw notELF }
        let machine = UInt16(littleEndian: header, at: 18)
        let tableOffset = UInt64(littleEndian: header, at: 32)
        let entrySize = Int(UInt16(littleEndian: header, at: 54))
        let entries = Int(UInt16(littleEndian: header, at: 56))
        guard entrySize >= 4, entries <= 4_096, (try? handle.seek(toOffset: tableOffset)) != nil,
              let table = try? handle.read(upToCount: entrySize * entries), table.count == entrySize * entries
        else { throw notELF }
        let interpreter: UInt32 = 3  // PT_INTERP
        let isDynamic = (0..<entries).contains { UInt32(littleEndian: table, at: $0 * entrySize) == interpreter }
        return ExecutableFacts(machine: machine, architecture: machines[machine], isDynamic: isDynamic)
    }

    /// The architecture of this machine, which a binary built here and `podman build` default to.
    public static var hostArchitecture: ShoalConfiguration.TargetSpec.Architecture {
        #if arch(arm64)
        .arm64
        #else
        .amd64
        #endif
    }

    /// The architecture of `platform` (`linux/arm64`, `linux/amd64`); throws for any other.
    public static func architecture(ofPlatform platform: String) throws -> ShoalConfiguration.TargetSpec.Architecture {
        let parts = platform.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0] == "linux",
              let architecture = ShoalConfiguration.TargetSpec.Architecture(rawValue: String(parts[1]))
        else {
            throw ControlError.invalidValue(key: "--platform", value: platform, expected: "linux/amd64 or linux/arm64")
        }
        return architecture
    }

    /// Why `facts` of `binary` cannot go into an image for `architecture`, or nil when they can: its machine
    /// must be that architecture, and a binary for another architecture than this machine's must be static
    /// (its libraries cannot be listed by this machine's `ldd` nor copied from it).
    public static func refusal(_ facts: ExecutableFacts, binary: String,
                               for architecture: ShoalConfiguration.TargetSpec.Architecture) -> String? {
        guard facts.architecture == architecture else {
            let actual = facts.architecture.map { "an \($0.rawValue)" } ?? "an ELF machine \(facts.machine)"
            return "\(binary) is \(actual) executable, not \(architecture.rawValue); pass --platform "
                + "linux/\(facts.architecture?.rawValue ?? "ARCH") or a binary built for \(architecture.rawValue)"
        }
        guard architecture == hostArchitecture || !facts.isDynamic else {
            return "\(binary) is a dynamically linked \(architecture.rawValue) executable, whose libraries this \(hostArchitecture.rawValue) "
                + "machine cannot provide; build it statically with the Static Linux SDK "
                + "(swift build -c release --swift-sdk \(architecture == .arm64 ? "aarch64" : "x86_64")-swift-linux-musl)"
        }
        return nil
    }

    /// The architectures of `image` in podman's storage: the one podman recorded at build time, or every
    /// entry of a manifest list; nil when the image is not there.
    public static func architectures(of image: String, podman: Podman) async throws -> [String]? {
        if try await podman.run(["manifest", "exists", image]).status == 0 {
            let json = try await podman.check(["manifest", "inspect", image], doing: "reading the manifest list \(image)")
            let list = try? JSONDecoder().decode(ManifestList.self, from: Data(json.utf8))
            return list?.manifests.compactMap(\.platform?.architecture) ?? []
        }
        guard try await podman.imageExists(image) else { return nil }
        let architecture = try await podman.check(["image", "inspect", "--format", "{{.Architecture}}", image],
                                                  doing: "reading the architecture of \(image)")
        return [architecture.trimmingCharacters(in: .whitespacesAndNewlines)]
    }

    /// A warning when `architectures` of `image` lack `target`'s, whose pods would then fail to start
    /// (`exec format error`); nil when they agree.
    public static func mismatch(image: String, architectures: [String], target: ShoalConfiguration.TargetSpec) -> String? {
        let wanted = target.architecture.rawValue
        guard !architectures.contains(wanted) else { return nil }
        return "the image \(image) here is for \(architectures.map { "linux/\($0)" }.joined(separator: ", ")), but the plan's target "
            + "\(target.name) is \(wanted): its pods would not start there; build one for it (shoal image build --platform "
            + "linux/\(wanted) --binary PATH) or push a multi-architecture image (docs/CONTAINERS.md)"
    }

    /// The part of `podman manifest inspect` read: each entry's platform.
    private struct ManifestList: Decodable {
        var manifests: [Entry]

        struct Entry: Decodable {
            var platform: Platform?
        }

        struct Platform: Decodable {
            var architecture: String
        }
    }
}

private extension FixedWidthInteger {
    /// The little-endian integer at `offset` of `data`.
    init(littleEndian data: Data, at offset: Int) {
        self = (0..<MemoryLayout<Self>.size).reduce(0) { value, index in
            value | Self(data[data.startIndex + offset + index]) << (8 * index)
        }
    }
}
