/// Everything that stops a batch transform or its merge, each case saying what to do.
public enum BatchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A setting is out of range or malformed.
    case invalidSetting(String, reason: String)
    /// A file or object cannot be read.
    case cannotRead(String, reason: String)
    /// A file cannot be written.
    case cannotWrite(String, reason: String)
    /// The work folder holds the checkpoint of another run.
    case otherRun(checkpoint: String)
    /// The model or the server failed in a way no retry fixed.
    case inference(String)
    /// Shards have not finished, so their outputs cannot be merged yet.
    case shardsUnfinished([Int], of: Int, output: String)

    public var description: String {
        switch self {
        case .invalidSetting(let setting, let reason):
            "\(setting): \(reason)"
        case .cannotRead(let path, let reason):
            "cannot read \(path): \(reason)"
        case .cannotWrite(let path, let reason):
            "cannot write \(path): \(reason)"
        case .otherRun(let checkpoint):
            "\(checkpoint) is the checkpoint of a run with other arguments or another input; run with the same "
                + "arguments to resume it, or pass --restart to start this one over"
        case .inference(let reason):
            "inference failed: \(reason); the run stopped at its last checkpoint, run the same command again to resume"
        case .shardsUnfinished(let shards, let count, let output):
            "shards \(shards.map(String.init).joined(separator: ", ")) of \(count) of \(output) have not finished; "
                + "run them (shoal batch --shard I/\(count)) or merge with --wait"
        }
    }
}
