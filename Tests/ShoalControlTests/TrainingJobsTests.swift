import Foundation
import ShoalStore
import Testing
import Yams
@testable import ShoalControl

/// `shoal train --target kubernetes`: an Indexed Job embedding in shards and a Job fitting the heads; and the
/// rule `--target auto` applies.
@Suite struct TrainingJobsTests {
    static func jobs(store: String = "./.shoal/store") throws -> TrainingJobs {
        var configuration = ShoalConfiguration()
        configuration.store.url = store
        configuration.kubernetes.namespace = "trial"
        return try TrainingJobs(configuration: configuration, model: "Tickets_v2", embedArguments: ["--base", "minilm", "--data", "s3://data/t.jsonl"],
                                fitArguments: ["--base", "minilm", "--data", "s3://data/t.jsonl", "--name", "Tickets_v2"], shards: 4)
    }

    @Test func theEmbeddingJobIsIndexedAndTheFitJobReadsTheCache() throws {
        let jobs = try Self.jobs()
        let embed = jobs.embedJob()
        #expect(embed.metadata.name == "shoal-train-tickets-v2-embed" && embed.metadata.namespace == "trial")
        #expect(embed.spec.completionMode == "Indexed" && embed.spec.completions == 4 && embed.spec.parallelism == 4)
        let container = try #require(embed.spec.template.spec.containers.first)
        #expect(container.args == ["train", "embed", "--base", "minilm", "--data", "s3://data/t.jsonl", "--shard", "$(SHARD)/4",
                                   "--store", KubernetesManifests.storeFolder])
        #expect(container.env?.first?.valueFrom.fieldRef.fieldPath == "metadata.annotations['batch.kubernetes.io/job-completion-index']")
        #expect(embed.spec.template.spec.volumes.first?.persistentVolumeClaim == .init(claimName: "shoal-store", readOnly: false))
        let fit = jobs.fitJob()
        #expect(fit.metadata.name == "shoal-train-tickets-v2-fit" && fit.spec.completions == 1 && fit.spec.completionMode == nil)
        #expect(fit.spec.template.spec.containers.first?.args.starts(with: ["train", "fit", "--base", "minilm"]) == true)
        #expect(throws: ControlError.self) {
            try TrainingJobs(configuration: ShoalConfiguration(), model: String(repeating: "m", count: 60), embedArguments: [],
                             fitArguments: [], shards: 1)
        }
    }

    /// `kubernetes-validate --strict` (offline schemas) accepts both Jobs for both kinds of store, without a warning.
    @Test func theJobsPassStrictSchemaValidation() throws {
        for store in ["./.shoal/store", "s3://models/shoal"] {
            let jobs = try Self.jobs(store: store)
            for (yaml, name) in [(try jobs.embedYAML(), jobs.embedName), (try jobs.fitYAML(), jobs.fitName)] {
                #expect(try YAMLDecoder().decode(Kubernetes.Object.self, from: yaml) == .job(name == jobs.embedName ? jobs.embedJob() : jobs.fitJob()))
                let text = try KubernetesManifestsTests.validate(yaml)
                #expect(text.contains("passed for resource job/\(name)"), "\(text)")
            }
        }
    }

    @Test func autoTrainsHereWithinTheBudgetAndOnTheClusterBeyondIt() {
        var base = Manifest(name: "minilm", version: "1", architecture: "bert", task: "embedding", labels: [], dimensions: 384,
                            footprint: .init(weightBytes: 1, activationBytesPerToken: 1, precision: "fp32"), maxSequenceLength: 256, source: "x")
        var settings = ShoalConfiguration.TrainSettings()
        settings.localBudgetS = 100
        // No profile: 100 rows/s per thread, 2 threads.
        #expect(TrainingTarget.choose(rows: 20_000, base: base, threads: 2, settings: settings).target == .local)
        let far = TrainingTarget.choose(rows: 20_001, base: base, threads: 2, settings: settings)
        #expect(far.target == .kubernetes)
        #expect(far.reason.contains("20001 rows ÷ 200 rows/s on 2 threads ≈ 100 s") && far.reason.contains("over train.local_budget_s 100 s"), "\(far.reason)")
        // A measured profile: its best batch, 1,000 sequences/s on 4 threads, is 500 on 2.
        let measurement = Manifest.Profile.Measurement(workload: "short", batch: 32, tokensPerSequence: 12, latencyP50Ms: 1,
                                                       latencyP99Ms: 2, sequencesPerSecond: 1_000, tokensPerSecond: 12_000)
        base.profile = .init(cpus: 4, threads: 4, provider: "native", measurements: [measurement])
        let measured = TrainingTarget.choose(rows: 50_000, base: base, threads: 2, settings: settings)
        #expect(measured.target == .local && measured.reason.contains("minilm@1's profile"), "\(measured.reason)")
        #expect(TrainingTarget.choose(rows: 50_001, base: base, threads: 2, settings: settings).target == .kubernetes)
    }

    @Test func theTrainSectionIsValidated() throws {
        var configuration = ShoalConfiguration()
        configuration.train.shards = 0
        #expect(throws: ControlError.invalidValue(key: "train.shards", value: "0", expected: "a whole number 1...1000")) {
            try configuration.validate()
        }
        configuration.train.shards = 2
        configuration.train.target = .auto
        try configuration.validate()
    }
}
