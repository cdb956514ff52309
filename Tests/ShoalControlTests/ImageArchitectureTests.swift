import Foundation
import Testing
@testable import ShoalControl

/// What an image is built for: the ELF header of the binary decides, a binary for another architecture than
/// this machine's must be static, and the plan's target is compared with what podman recorded.
@Suite struct ImageArchitectureTests {
    /// A minimal 64-bit little-endian ELF file for `machine`: the header and one program header of `type`.
    static func elf(machine: UInt16, programType: UInt32) throws -> URL {
        var bytes = [UInt8](repeating: 0, count: 64 + 56)
        bytes.replaceSubrange(0..<6, with: [0x7F, 0x45, 0x4C, 0x46, 2, 1])
        bytes[18] = UInt8(machine & 0xFF)
        bytes[19] = UInt8(machine >> 8)
        bytes[32] = 64  // e_phoff
        bytes[54] = 56  // e_phentsize
        bytes[56] = 1  // e_phnum
        for index in 0..<4 { bytes[64 + index] = UInt8((programType >> (8 * UInt32(index))) & 0xFF) }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-elf-\(UUID().uuidString)")
        try Data(bytes).write(to: file)
        return file
    }

    @Test func thisProcessIsADynamicExecutableOfThisMachine() throws {
        let facts = try ContainerImage.facts(of: URL(fileURLWithPath: "/proc/self/exe"))
        #expect(facts.architecture == ContainerImage.hostArchitecture)
        #expect(facts.isDynamic)
        #expect(ContainerImage.refusal(facts, binary: "test", for: ContainerImage.hostArchitecture) == nil)
    }

    @Test func aBinaryForAnotherArchitectureMustBeStaticAndMatchThePlatform() throws {
        let staticARM = try Self.elf(machine: 183, programType: 1)  // PT_LOAD only
        let dynamicARM = try Self.elf(machine: 183, programType: 3)  // PT_INTERP
        defer { [staticARM, dynamicARM].forEach { try? FileManager.default.removeItem(at: $0) } }
        let arm = try ContainerImage.facts(of: staticARM)
        #expect(arm == .init(machine: 183, architecture: .arm64, isDynamic: false))
        #expect(ContainerImage.refusal(arm, binary: "shoal", for: .arm64) == nil)
        #expect(ContainerImage.refusal(arm, binary: "shoal", for: .amd64)?.contains("is an arm64 executable, not amd64") == true)
        let dynamic = try ContainerImage.facts(of: dynamicARM)
        #expect(dynamic.isDynamic)
        let refusal = ContainerImage.refusal(dynamic, binary: "shoal", for: .arm64)
        #expect((refusal != nil) == (ContainerImage.hostArchitecture != .arm64))
        if let refusal { #expect(refusal.contains("aarch64-swift-linux-musl"), "\(refusal)") }
        let riscv = try Self.elf(machine: 243, programType: 1)
        defer { try? FileManager.default.removeItem(at: riscv) }
        #expect(try ContainerImage.facts(of: riscv).architecture == nil)
    }

    @Test func whatIsNotAnELFExecutableIsRefused() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-script-\(UUID().uuidString)")
        try Data("#!/bin/sh\necho shoal\n".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(throws: ControlError.self) { _ = try ContainerImage.facts(of: file) }
    }

    @Test func platformsNameALinuxArchitecture() throws {
        #expect(try ContainerImage.architecture(ofPlatform: "linux/arm64") == .arm64)
        #expect(try ContainerImage.architecture(ofPlatform: "linux/amd64") == .amd64)
        for platform in ["arm64", "linux/riscv64", "darwin/arm64", "linux/arm64/v8"] {
            #expect(throws: ControlError.self) { _ = try ContainerImage.architecture(ofPlatform: platform) }
        }
    }

    @Test func anImageWithoutTheTargetsArchitectureIsNamed() throws {
        let graviton = try #require(ShoalConfiguration.TargetSpec.defaults.first { $0.name == "c7g.4xlarge" })
        let warning = try #require(ContainerImage.mismatch(image: "localhost/shoal:latest", architectures: ["amd64"], target: graviton))
        #expect(warning.contains("linux/amd64") && warning.contains("c7g.4xlarge is arm64") && warning.contains("--platform linux/arm64"))
        #expect(ContainerImage.mismatch(image: "shoal", architectures: ["amd64", "arm64"], target: graviton) == nil)
    }
}
