import Foundation
import Testing
import Yams
@testable import ShoalControl

/// The batch Jobs: an Indexed Job of `shoal batch --shards N` pods, each resuming in place, and the merge Job.
@Suite struct BatchJobTests {
    static func job(store: String = "s3://models/prod", shards: Int = 4, parallelism: Int? = 2) throws -> BatchJob {
        let fixture = try DeployFixture(target: DeployFixture.clusterTarget)
        defer { fixture.remove() }
        var configuration = fixture.configuration
        configuration.store.url = store
        configuration.kubernetes.namespace = "trial"
        return try BatchJob(configuration: configuration, run: "nightly-1", model: "minilm", input: "s3://data/in.jsonl",
                            output: "s3://data/out.jsonl", shards: shards, parallelism: parallelism, options: ["--batch-size", "64"])
    }

    @Test func theShardsRunAsAnIndexedJobAndTheMergeWaitsForThem() throws {
        let job = try Self.job()
        let jobs = job.jobs()
        #expect(jobs.map { $0.metadata.name } == ["shoal-batch-nightly-1", "shoal-batch-nightly-1-merge"])
        let shards = jobs[0]
        #expect(shards.metadata.namespace == "trial")
        #expect(shards.spec.completions == 4 && shards.spec.parallelism == 2 && shards.spec.completionMode == "Indexed")
        let pod = shards.spec.template.spec
        // A failed container restarts in the same pod, whose emptyDir keeps its checkpoint.
        #expect(pod.restartPolicy == "OnFailure")
        let container = try #require(pod.containers.first)
        let arguments = container.args
        func value(_ option: String) -> String? { arguments.firstIndex(of: option).map { arguments[$0 + 1] } }
        #expect(arguments.first == "batch")
        #expect(value("--shards") == "4" && value("--model") == "minilm" && value("--store") == "s3://models/prod")
        #expect(value("--input") == "s3://data/in.jsonl" && value("--output") == "s3://data/out.jsonl")
        #expect(value("--work-dir")?.hasPrefix(BatchJob.workFolder) == true && value("--batch-size") == "64")
        #expect(container.env?.first?.name == "JOB_COMPLETION_INDEX")
        #expect(container.volumeMounts.contains { $0.name == "work" && $0.mountPath == BatchJob.workFolder })
        #expect(pod.volumes.contains { $0.name == "work" && $0.emptyDir != nil })
        #expect(container.securityContext == KubernetesManifests.securityContext)
        #expect(pod.serviceAccountName == job.configuration.kubernetes.serviceAccount)

        let merge = jobs[1]
        #expect(merge.spec.completions == 1 && merge.spec.completionMode == nil)
        let mergeArguments = try #require(merge.spec.template.spec.containers.first).args
        #expect(mergeArguments.starts(with: ["batch", "merge", "--output", "s3://data/out.jsonl", "--shards", "4", "--wait"]))

        // The options are ones `shoal batch` and `shoal batch merge` take.
        let known = Set(["--model", "--store", "--cache-dir", "--input", "--output", "--shards", "--threads", "--work-dir",
                         "--quiet", "--batch-size", "--wait"])
        #expect(Set((arguments + mergeArguments).filter { $0.hasPrefix("--") }).isSubset(of: known))

        // A folder store: the claim, writable, instead of a cache.
        let folder = try Self.job(store: "./.shoal/store").jobs()[0].spec.template.spec
        #expect(folder.volumes.contains { $0.persistentVolumeClaim == .init(claimName: "shoal-store", readOnly: false) })
        #expect(folder.containers[0].args.contains(KubernetesManifests.storeFolder))
    }

    @Test func badCountsAndRunIdsAreRefused() throws {
        #expect(throws: ControlError.self) { try Self.job(shards: 0) }
        #expect(throws: ControlError.self) { try Self.job(shards: 2, parallelism: 3) }
        let fixture = try DeployFixture(target: DeployFixture.clusterTarget)
        defer { fixture.remove() }
        #expect(throws: ControlError.self) {
            try BatchJob(configuration: fixture.configuration, run: "Bad_Run", model: "m", input: "a", output: "b", shards: 1)
        }
    }

    /// `kubernetes-validate --strict` (offline schemas) accepts both Jobs for both kinds of store, without a warning.
    @Test func theJobsPassStrictSchemaValidation() throws {
        for store in ["./.shoal/store", "s3://models/prod"] {
            let job = try Self.job(store: store)
            let yaml = try job.yaml()
            let documents = yaml.components(separatedBy: "---\n")
            #expect(try documents.map { try YAMLDecoder().decode(Kubernetes.Object.self, from: $0) } == job.jobs().map { .job($0) })
            let text = try KubernetesManifestsTests.validate(yaml)
            #expect(text.contains("passed for resource job/shoal-batch-nightly-1") && text.contains("job/shoal-batch-nightly-1-merge"), "\(text)")
        }
    }
}
