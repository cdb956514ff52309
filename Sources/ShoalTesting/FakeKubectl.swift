import Foundation

/// A stand-in for kubectl, since no cluster runs here: a shell script, alone in a folder of its own that the
/// test passes as `PATH`, which appends each call's arguments to `calls.log`, keeps a copy of the file `-f`
/// names, and answers as kubectl does: canned `-o json` for `get`, success or a timeout for `rollout status`, a met condition for `wait`.
public struct FakeKubectl: Sendable {
    public let folder: URL

    /// How the fake cluster behaves.
    public struct Cluster: Sendable {
        public var currentContext = "kind-fleet"
        public var namespaceExists = true
        public var rolloutFinishes = true
        /// What `get deployments,pods -o json` prints.
        public var deploymentsAndPods = FakeKubectl.runningList
        /// What `get pods -o json` prints.
        public var pods = FakeKubectl.failingPods

        public init() {}
    }

    /// Writes the script and its canned answers into a new temporary folder.
    public init(_ cluster: Cluster = Cluster()) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-kubectl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data(cluster.deploymentsAndPods.utf8).write(to: folder.appendingPathComponent("list.json"))
        try Data(cluster.pods.utf8).write(to: folder.appendingPathComponent("pods.json"))
        let namespace = cluster.namespaceExists
            ? "echo namespace/shoal"
            : #"echo 'Error from server (NotFound): namespaces "shoal" not found' >&2; exit 1"#
        let rollout = cluster.rolloutFinishes
            ? #"echo 'deployment "x" successfully rolled out'"#
            : "echo 'error: timed out waiting for the condition' >&2; exit 1"
        let script = """
            #!/bin/sh
            dir='\(folder.path)'
            echo "$*" >> "$dir/calls.log"
            previous=''
            for argument in "$@"; do
              if [ "$previous" = "-f" ]; then cp "$argument" "$dir/applied.yaml"; fi
              previous="$argument"
            done
            case " $* " in
              *" config current-context "*) echo '\(cluster.currentContext)' ;;
              *" get namespace "*) \(namespace) ;;
              *" apply "*) echo 'deployment.apps/shoal-gateway serverside-applied' ;;
              *" rollout status "*) \(rollout) ;;
              *" wait "*) echo 'job.batch/shoal-train condition met' ;;
              *" get deployments,pods "*) cat "$dir/list.json" ;;
              *" get pods "*) cat "$dir/pods.json" ;;
              *" delete "*) echo 'deployment.apps "shoal-gateway" deleted' ;;
              *" logs "*) echo '[pod/shoal-gateway-7c9f/gateway] ready' ;;
              *) echo "fake kubectl: unexpected call: $*" >&2; exit 2 ;;
            esac

            """
        let file = folder.appendingPathComponent("kubectl")
        try Data(script.utf8).write(to: file)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: file.path)
    }

    /// The `PATH` holding only the fake.
    public var path: String { folder.path }

    /// Each call's arguments, one string per call.
    public func calls() -> [String] {
        let text = (try? String(contentsOf: folder.appendingPathComponent("calls.log"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init)
    }

    /// The file the last `apply -f` named, as it was then.
    public func applied() throws -> String { try String(contentsOf: folder.appendingPathComponent("applied.yaml"), encoding: .utf8) }

    /// Deletes the folder.
    public func remove() { try? FileManager.default.removeItem(at: folder) }
}

extension FakeKubectl {
    /// A pod of group `group` (nil: the gateway) as kubectl prints it, with `containerStatus` and `conditions`.
    public static func pod(_ name: String, group: String?, ready: Bool, restarts: Int, waiting: (String, String)? = nil,
                    conditions: String? = nil) -> String {
        let component = group == nil ? "gateway" : "server"
        let groupLabel = group.map { #", "shoal.dev/group": "\#($0)""# } ?? ""
        let state = waiting.map { #"{"waiting": {"reason": "\#($0.0)", "message": "\#($0.1)"}}"# }
            ?? #"{"running": {"startedAt": "2026-12-07T04:40:12Z"}}"#
        let lastState = restarts > 0
            ? #"{"terminated": {"exitCode": 1, "reason": "Error", "startedAt": "2026-12-07T04:39:01Z", "finishedAt": "2026-12-07T04:39:02Z", "containerID": "containerd://9a1e"}}"#
            : "{}"
        let truth = ready ? "True" : "False"
        let readyConditions = conditions ?? """
            [{"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-12-07T04:38:40Z"},
             {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-12-07T04:38:38Z"},
             {"type": "Ready", "status": "\(truth)", "lastProbeTime": null, "lastTransitionTime": "2026-12-07T04:38:38Z"\(ready ? "" : #", "reason": "ContainersNotReady", "message": "containers with unready status: [\#(component)]""#)},
             {"type": "ContainersReady", "status": "\(truth)", "lastProbeTime": null, "lastTransitionTime": "2026-12-07T04:38:38Z"},
             {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-12-07T04:38:38Z"}]
            """
        // A pod no node was found for has neither an address nor containers yet.
        let status = conditions != nil
            ? #"{"phase": "Pending", "qosClass": "Burstable", "conditions": \#(readyConditions)}"#
            : """
            {"phase": "\(waiting == nil ? "Running" : "Pending")", "hostIP": "10.0.1.17", "podIP": "10.0.1.52", "qosClass": "Burstable",
             "startTime": "2026-12-07T04:38:38Z", "conditions": \(readyConditions),
             "containerStatuses": [{"name": "\(component)", "ready": \(ready), "started": \(ready), "restartCount": \(restarts),
                                    "image": "registry.example.com/shoal:1.0", "imageID": "", "containerID": "containerd://9a1e",
                                    "state": \(state), "lastState": \(lastState)}]}
            """
        return """
            {"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": "\(name)", "namespace": "shoal", "uid": "6f1c2b9e-\(name.count)", "resourceVersion": "48213",
                          "creationTimestamp": "2026-12-07T04:38:38Z", "generateName": "\(name.dropLast(5))",
                          "labels": {"app.kubernetes.io/name": "shoal", "app.kubernetes.io/component": "\(component)"\(groupLabel), "pod-template-hash": "7c9f5d8b4"},
                          "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "\(name.dropLast(6))", "uid": "0b7e", "controller": true, "blockOwnerDeletion": true}]},
             "spec": {"containers": [{"name": "\(component)", "image": "registry.example.com/shoal:1.0", "command": ["shoal"]}],
                      "serviceAccountName": "shoal", "nodeName": "ip-10-0-1-17.ec2.internal", "restartPolicy": "Always"},
             "status": \(status)}
            """
    }

    /// A Deployment as kubectl prints it, wanting `desired` replicas of which `ready` are ready.
    public static func deployment(_ name: String, group: String?, desired: Int, ready: Int) -> String {
        let component = group == nil ? "gateway" : "server"
        let groupLabel = group.map { #", "shoal.dev/group": "\#($0)""# } ?? ""
        let readyField = ready > 0 ? #""readyReplicas": \#(ready), "availableReplicas": \#(ready), "# : ""
        return """
            {"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": "\(name)", "namespace": "shoal", "generation": 1, "uid": "d2a4", "resourceVersion": "48190",
                          "creationTimestamp": "2026-12-07T04:38:38Z", "annotations": {"deployment.kubernetes.io/revision": "1"},
                          "labels": {"app.kubernetes.io/name": "shoal", "app.kubernetes.io/component": "\(component)"\(groupLabel)},
                          "managedFields": [{"manager": "shoal", "operation": "Apply", "apiVersion": "apps/v1", "time": "2026-12-07T04:38:38Z", "fieldsType": "FieldsV1", "fieldsV1": {}}]},
             "spec": {"replicas": \(desired), "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
                      "selector": {"matchLabels": {"app.kubernetes.io/name": "shoal", "app.kubernetes.io/component": "\(component)"\(groupLabel)}},
                      "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                      "template": {"metadata": {"labels": {"app.kubernetes.io/name": "shoal"}}, "spec": {"containers": []}}},
             "status": {"observedGeneration": 1, "replicas": \(desired), "updatedReplicas": \(desired), \(readyField)"unavailableReplicas": \(desired - ready),
                        "conditions": [{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable", "message": "ReplicaSet has successfully progressed."}]}}
            """
    }

    /// `{"kind": "List", "items": [...]}` as `kubectl get A,B -o json` prints it.
    public static func list(_ items: [String]) -> String {
        #"{"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": ["# + items.joined(separator: ",\n") + "]}"
    }

    /// group-0 ready (its pod restarted twice), group-1 wanting 2 of which 1 is ready, the gateway's 2 ready.
    public static let runningList = list([
        deployment("shoal-group-0", group: "group-0", desired: 1, ready: 1),
        deployment("shoal-group-1", group: "group-1", desired: 2, ready: 1),
        deployment("shoal-gateway", group: nil, desired: 2, ready: 2),
        pod("shoal-group-0-7c9f5d8b4-x2lq9", group: "group-0", ready: true, restarts: 2),
        pod("shoal-group-1-7c9f5d8b4-h8k2m", group: "group-1", ready: true, restarts: 0),
        pod("shoal-group-1-7c9f5d8b4-p4n7d", group: "group-1", ready: false, restarts: 3,
            waiting: ("CrashLoopBackOff", "back-off 40s restarting failed container=server pod=shoal-group-1-7c9f5d8b4-p4n7d")),
        pod("shoal-gateway-7c9f5d8b4-a1b2c", group: nil, ready: true, restarts: 0),
        pod("shoal-gateway-7c9f5d8b4-d3e4f", group: nil, ready: true, restarts: 0),
    ])

    /// group-0's image cannot be pulled, group-1's pod finds no node, the gateway is ready.
    public static let failingPods = list([
        pod("shoal-group-0-7c9f5d8b4-x2lq9", group: "group-0", ready: false, restarts: 0,
            waiting: ("ImagePullBackOff", #"Back-off pulling image \"registry.example.com/shoal:1.0\""#)),
        pod("shoal-group-1-7c9f5d8b4-h8k2m", group: "group-1", ready: false, restarts: 0, conditions: """
            [{"type": "PodScheduled", "status": "False", "lastProbeTime": null, "lastTransitionTime": "2026-12-07T04:38:38Z", "reason": "Unschedulable",
              "message": "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."}]
            """),
        pod("shoal-gateway-7c9f5d8b4-a1b2c", group: nil, ready: true, restarts: 0),
    ])
}
