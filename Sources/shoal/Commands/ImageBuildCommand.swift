import ArgumentParser
import Foundation
import ShoalControl
import ShoalStore

struct ImageBuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build an OCI image of the shoal binary with podman, from local files only; print its size.",
        discussion: """
            Builds the release binary (swift build -c release --static-swift-stdlib --product shoal) unless \
            --binary names one, and makes a FROM scratch image of it holding exactly the shared libraries and \
            loader ldd lists, the CA certificates, /tmp and an unprivileged user (65532); models are not in it, \
            servers read them from the store. The name and tag are kubernetes.image of shoal.yaml. podman runs \
            with a containers.conf of the build folder's own (CONTAINERS_CONF) and --runtime runc.
            The image is for this machine's architecture, or --platform's with a --binary built for it (statically \
            linked when it is not this machine's); podman records it in the image, and the build warns when \
            plan.json's target has another (docs/CONTAINERS.md makes a multi-architecture image).
            Example: shoal image build && shoal config set runtime podman && shoal deploy run
            Example: shoal image build --platform linux/arm64 --binary ./shoal-aarch64
            """)

    @OptionGroup var options: ConfigOptions
    @Option(name: .long, help: "Put this shoal executable in the image instead of building the release binary.")
    var binary: String?
    @Option(name: .long, help: "The Shoal package the release binary is built from.")
    var packagePath = "."
    @Option(name: .long, help: "Build on this base image (pulled from its registry) instead of FROM scratch; it must be the distribution release the binary was built on.")
    var base: String?
    @Option(name: .long, help: "The folder the image's files are staged in.")
    var context = ".shoal/image"
    @Flag(name: .long, help: "Push the image to its registry after building it (podman push kubernetes.image).")
    var push = false
    @Option(name: .long, help: "linux/amd64 or linux/arm64 (default: this machine's); another needs a static --binary built for it.")
    var platform: String?
    @Option(name: .long, help: "The plan whose target's architecture the image is checked against, when it exists.")
    var plan = "plan.json"

    func validate() throws {
        if let platform, try ContainerImage.architecture(ofPlatform: platform) != ContainerImage.hostArchitecture, binary == nil {
            throw ValidationError("--platform \(platform) needs --binary: the release binary built here is for "
                + "\(ContainerImage.hostArchitecture.rawValue); cross-build one (swift build -c release --swift-sdk "
                + "aarch64-swift-linux-musl) and pass it")
        }
    }

    func run() async throws {
        let configuration = try options.load().configuration
        let image = configuration.kubernetes.image
        let folder = URL(fileURLWithPath: context).standardizedFileURL
        let podman = try Podman.locate(configurationFile: folder.appendingPathComponent("containers.conf"))
        let executable: URL
        if let binary {
            executable = try Self.existing(binary)
        } else {
            executable = try await Self.buildRelease(packagePath: packagePath)
        }
        let facts = try ContainerImage.facts(of: executable)
        let architecture = try platform.map(ContainerImage.architecture(ofPlatform:)) ?? facts.architecture ?? ContainerImage.hostArchitecture
        if let refusal = ContainerImage.refusal(facts, binary: executable.path, for: architecture) { throw ValidationError(refusal) }
        // A static binary of another architecture needs no library; this machine's ldd could not read it anyway.
        let libraries = architecture == ContainerImage.hostArchitecture ? try await ContainerImage.libraries(of: executable) : []
        if libraries.contains(where: { $0.contains("libswiftCore") }) {
            PackCommand.warn("\(executable.path) was not built with --static-swift-stdlib; the image carries the Swift runtime's libraries too")
        }
        let staged = folder.appendingPathComponent("context")
        try ContainerImage(binary: executable, base: base).stage(in: staged, libraries: libraries)
        let status = try await podman.passThrough([
            "build", "--platform", "linux/\(architecture.rawValue)", "--tag", image,
            "--file", staged.appendingPathComponent("Containerfile").path, staged.path,
        ])
        try? FileManager.default.removeItem(at: staged)
        guard status == 0 else { throw ControlError.container("podman build of \(image) exited with \(status); see its output above") }
        let size = try await podman.check(["image", "inspect", "--format", "{{.Size}}", image], doing: "reading the size of \(image)")
        let bytes = Int64(size.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let recorded = try await ContainerImage.architectures(of: image, podman: podman) ?? []
        print("built \(image) for \(recorded.map { "linux/\($0)" }.joined(separator: ", ")): \(ByteCount(bytes)) "
            + "(\(executable.lastPathComponent) and \(libraries.count) libraries, FROM \(base ?? "scratch"))")
        if let target = Self.planTarget(plan, configuration: configuration),
           let warning = ContainerImage.mismatch(image: image, architectures: recorded, target: target) {
            PackCommand.warn(warning)
        }
        if push {
            let pushed = try await podman.passThrough(["push", image])
            guard pushed == 0 else { throw ControlError.container("podman push \(image) exited with \(pushed); log in to its registry (podman login)") }
            print("pushed \(image)")
        }
    }

    /// The target of the plan at `path`, when there is one and `configuration` defines its target.
    static func planTarget(_ path: String, configuration: ShoalConfiguration) -> ShoalConfiguration.TargetSpec? {
        guard let data = FileManager.default.contents(atPath: path), let plan = try? PlacementPlan.decode(data, path: path) else { return nil }
        return configuration.targets.first { $0.name == plan.target }
    }

    /// `path` as a file URL, when an executable is there.
    static func existing(_ path: String) throws -> URL {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw ValidationError("--binary \(path) is not an executable file")
        }
        return URL(fileURLWithPath: path).standardizedFileURL
    }

    /// Builds the static release `shoal` of the package at `packagePath` and returns its path.
    static func buildRelease(packagePath: String) async throws -> URL {
        guard FileManager.default.fileExists(atPath: URL(fileURLWithPath: packagePath).appendingPathComponent("Package.swift").path) else {
            throw ValidationError("no Package.swift in \(packagePath); run in the Shoal source folder, pass --package-path, or --binary")
        }
        let flags = ["-c", "release", "--static-swift-stdlib", "--package-path", packagePath]
        FileHandle.standardError.write(Data("building: swift build \((flags + ["--product", "shoal"]).joined(separator: " "))\n".utf8))
        guard try await swift(["build"] + flags + ["--product", "shoal"], capture: false).status == 0 else {
            throw ControlError.container("swift build of the release binary failed; see its output above")
        }
        let bin = try await swift(["build"] + flags + ["--show-bin-path"], capture: true)
        return URL(fileURLWithPath: bin.output.trimmingCharacters(in: .whitespacesAndNewlines)).appendingPathComponent("shoal")
    }

    /// Runs `swift ARGUMENTS` on a Dispatch thread, printing its output unless `capture`.
    private static func swift(_ arguments: [String], capture: Bool) async throws -> (status: Int32, output: String) {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = ["swift"] + arguments
                let pipe = Pipe()
                if capture { process.standardOutput = pipe }
                do {
                    try process.run()
                } catch {
                    continuation.resume(throwing: ControlError.container("cannot run swift: \(error.localizedDescription)"))
                    return
                }
                let output = capture ? String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) : ""
                process.waitUntilExit()
                continuation.resume(returning: (process.terminationStatus, output))
            }
        }
    }
}
