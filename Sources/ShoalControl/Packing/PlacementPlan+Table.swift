import Foundation
import ShoalStore

extension PlacementPlan {
    /// The plan as operators read it: one row per group, then the reasons.
    public var rendered: String {
        var table = TextTable(["GROUP", "TARGET", "PORT", "MODELS", "MEMORY", "CORES", "SHARED BASES"])
        for group in groups {
            let models = group.placements.map { $0.replicas > 1 ? "\($0.model)#\($0.replica)/\($0.replicas)" : $0.model }
            table.add([
                group.serverless.map { "\(group.name) (serverless, idle \(Int($0.idleSeconds.rounded(.up)))s)" } ?? group.name, group.target, "\(group.port)", Self.abbreviated(models),
                "\(ByteCount(group.memory)) / \(ByteCount(group.memoryCapacity))",
                String(format: "%.2f / %.2f", group.cores, group.coreCapacity),
                group.bases.isEmpty ? "-" : group.bases.joined(separator: ","),
            ])
        }
        var lines = [table.rendered, ""]
        lines.append(String(format: "%d groups on %@ at $%.4f/h = $%.4f/h; lower bound %d groups ($%.4f/h)",
                            groups.count, target, pricePerHour, costPerHour, lowerBound, lowerBoundCostPerHour))
        lines += reasons.map { "- \($0)" }
        if !alternatives.isEmpty {
            lines.append("other targets:")
            lines += alternatives.map { alternative in
                guard let count = alternative.groups, let cost = alternative.costPerHour else { return "- \(alternative.target): \(alternative.note)" }
                return String(format: "- %@: %d groups, $%.4f/h (%@)", alternative.target, count, cost, alternative.note)
            }
        }
        return lines.joined(separator: "\n")
    }

    static func abbreviated(_ names: [String]) -> String {
        names.count <= 4 ? names.joined(separator: ",") : names.prefix(3).joined(separator: ",") + ",… (\(names.count))"
    }
}
