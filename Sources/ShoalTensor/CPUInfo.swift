import Foundation

/// What the CPU is, as far as the kernels care: its model name, its vector flags, and the instruction-set
/// level the kernels run at.
public struct CPUInfo: Codable, Sendable, Equatable {
    /// The model name the OS reports (`model name` in /proc/cpuinfo), nil where it reports none.
    public var model: String?
    /// The flags of the vector units (SSE, AVX, FMA, AVX-512, AMX, NEON/ASIMD, SVE), as the OS spells them.
    public var flags: [String]
    /// The level the kernels run at (`SHOAL_ISA` may lower it below the CPU's).
    public var isa: String
    /// The highest level this CPU has.
    public var cpuIsa: String

    /// Reads /proc/cpuinfo (Linux); the model and flags are empty elsewhere.
    public static var current: CPUInfo {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        return CPUInfo(cpuinfo: text, isa: InstructionSet.current, cpuIsa: InstructionSet.cpu)
    }

    init(cpuinfo: String, isa: InstructionSet, cpuIsa: InstructionSet) {
        // x86 reports `model name` and `flags`, arm64 `CPU part` and `Features`: the first of each is enough.
        func field(_ names: [String]) -> String? {
            for line in cpuinfo.split(separator: "\n") {
                let parts = line.split(separator: ":", maxSplits: 1)
                guard parts.count == 2 else { continue }
                let key = parts[0].trimmingCharacters(in: .whitespaces)
                if names.contains(key) { return parts[1].trimmingCharacters(in: .whitespaces) }
            }
            return nil
        }
        let vector = ["sse", "avx", "fma", "f16c", "amx", "asimd", "sve", "neon"]
        model = field(["model name", "Model name", "CPU part"])
        flags = (field(["flags", "Features"]) ?? "").split(separator: " ").map(String.init)
            .filter { flag in vector.contains { flag.hasPrefix($0) } }
        self.isa = isa.rawValue
        self.cpuIsa = cpuIsa.rawValue
    }
}
