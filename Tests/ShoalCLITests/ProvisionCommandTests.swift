import Foundation
import Testing

/// `shoal provision` through the executable: it reads (or packs) the plan as `deploy manifests` does, takes
/// name, region and version from the options over shoal.yaml's cluster section, and refuses a plan for
/// this machine without writing anything.
@Suite struct ProvisionCommandTests {
    @Test func theClusterOfThePlanIsWrittenAndALocalPlanRefused() async throws {
        let work = try Workspace("shoal-provision")
        defer { work.remove() }
        try await work.shoal(["config", "init"])
        for (key, value) in [("runtime", "kubernetes"), ("pack.target", "c7g.4xlarge"), ("cluster.name", "fleet"), ("cluster.version", "1.33")] {
            try await work.shoal(["config", "set", key, value])
        }
        let written = try await work.shoal(["provision", "--region", "eu-west-1", "--out", "cluster.yaml"])
        #expect(written.output.contains("wrote the cluster fleet (eu-west-1) to cluster.yaml"), "\(written.output)")
        #expect(work.exists("plan.json"))
        let config = try work.text("cluster.yaml")
        #expect(config.contains("metadata:\n  name: fleet\n  region: eu-west-1\n  version: '1.33'\n"), "\(config)")
        #expect(config.components(separatedBy: "instanceType: ").count == 2 && config.contains("instanceType: c7g.4xlarge"), "\(config)")
        let printed = try await work.shoal(["provision", "--region", "eu-west-1"]).output  // from the plan.json just written
        #expect(printed == config, "printed:\n\(printed)\nwritten:\n\(config)")

        let badName = try await work.run(["provision", "--name", "no_underscores"])
        #expect(badName.status != 0 && badName.error.contains("cluster.name"), "\(badName.error)")

        try FileManager.default.removeItem(atPath: work.path("plan.json"))
        try await work.shoal(["config", "set", "pack.target", "local"])
        let local = try await work.run(["provision", "--out", "local.yaml"])
        #expect(local.status != 0 && local.error.contains("plan.target: 'local' is not valid"), "\(local.error)")
        #expect(!work.exists("local.yaml"))
    }
}
