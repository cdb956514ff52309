import Foundation
import ShoalControl
import Testing

/// `shoal image build --platform` with a binary for the other architecture than this machine's: podman
/// records the platform in the image, a binary of the wrong machine is refused, and both the build and
/// `deploy manifests` warn when the plan's target has another architecture than the image here. podman is
/// required (scripts/setup.sh installs it).
@Suite(.timeLimit(.minutes(5))) struct ImageArchitectureCommandTests {
    /// The architecture this machine does not have, its platform and its ELF machine number.
    static let other: (architecture: String, machine: UInt16) = ContainerImage.hostArchitecture == .amd64 ? ("arm64", 183) : ("amd64", 62)

    /// A static ELF executable of `machine` (a header and one loadable segment, as a static binary has).
    static func staticExecutable(machine: UInt16, at path: String) throws {
        var bytes = [UInt8](repeating: 0, count: 64 + 56)
        bytes.replaceSubrange(0..<6, with: [0x7F, 0x45, 0x4C, 0x46, 2, 1])
        bytes[18] = UInt8(machine & 0xFF)
        bytes[19] = UInt8(machine >> 8)
        bytes[32] = 64
        bytes[54] = 56
        bytes[56] = 1
        bytes[64] = 1  // PT_LOAD
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
    }

    @Test func anImageForTheOtherArchitectureIsRecordedAndCheckedAgainstThePlan() async throws {
        let work = try Workspace("shoal-arch")
        defer { work.remove() }
        let podman: Podman
        do {
            podman = try Podman.locate(configurationFile: work.root.appendingPathComponent("test-containers.conf"))
        } catch {
            Issue.record("podman is required for shoal image build; run scripts/setup.sh (\(error))")
            throw error
        }
        let image = "localhost/shoal-arch:\(UUID().uuidString.prefix(8).lowercased())"
        let host = ContainerImage.hostArchitecture.rawValue
        try Self.staticExecutable(machine: Self.other.machine, at: work.path("shoal-cross"))
        try await work.shoal(["config", "init"])
        for (key, value) in [("runtime", "kubernetes"), ("pack.target", "c7i.xlarge"), ("kubernetes.image", image)] {
            try await work.shoal(["config", "set", key, value])
        }
        try await work.shoal(["deploy", "manifests", "--out", "k8s.yaml"])  // packs plan.json for c7i.xlarge (amd64)

        let wrong = try await work.run(["image", "build", "--platform", "linux/\(host)", "--binary", "shoal-cross"])
        #expect(wrong.status != 0 && wrong.error.contains("is an \(Self.other.architecture) executable, not \(host)"), "\(wrong.error)")
        let unbuilt = try await work.run(["image", "build", "--platform", "linux/\(Self.other.architecture)"])
        #expect(unbuilt.status != 0 && unbuilt.error.contains("needs --binary"), "\(unbuilt.error)")
        #expect(!(try await podman.imageExists(image)))

        do {
            let built = try await work.shoal(["image", "build", "--platform", "linux/\(Self.other.architecture)", "--binary", "shoal-cross"])
            #expect(built.output.contains("built \(image) for linux/\(Self.other.architecture)"), "\(built.output)")
            #expect(try await ContainerImage.architectures(of: image, podman: podman) == [Self.other.architecture])
            let targetIsAMD64 = "c7i.xlarge is amd64"
            #expect(built.error.contains(targetIsAMD64) == (Self.other.architecture != "amd64"), "\(built.error)")

            let manifests = try await work.shoal(["deploy", "manifests", "--out", "k8s.yaml"])
            #expect(manifests.error.contains(targetIsAMD64) == (Self.other.architecture != "amd64"), "\(manifests.error)")
        } catch {
            _ = try? await podman.run(["rmi", "--force", image])
            throw error
        }
        try await podman.check(["rmi", image], doing: "removing the test's image")
    }
}
