import Foundation

/// The machine a load test ran on, so results from different machines are not compared unawares.
public struct MachineFacts: Codable, Sendable, Equatable {
    public var hostname: String
    public var operatingSystem: String
    public var cpus: Int
    public var memoryBytes: UInt64
    /// Environment variables that change compute speed (`OPENBLAS_CORETYPE`, `OMP_NUM_THREADS`).
    public var environment: [String: String]

    /// The facts of this machine.
    public static func current() -> MachineFacts {
        let info = ProcessInfo.processInfo
        let keys = ["OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"]
        return MachineFacts(
            hostname: info.hostName, operatingSystem: info.operatingSystemVersionString, cpus: info.activeProcessorCount,
            memoryBytes: info.physicalMemory, environment: info.environment.filter { keys.contains($0.key) })
    }
}
