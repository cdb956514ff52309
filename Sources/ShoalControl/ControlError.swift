/// Everything that can go wrong in configuration, packing and load testing; each message names the key,
/// option or file to change and, where there is a choice, the values that are valid.
public enum ControlError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No configuration file where one was named.
    case configurationNotFound(path: String)
    /// The file is not YAML, or not a mapping at the top.
    case configurationSyntax(path: String, reason: String)
    /// A key the configuration does not know.
    case unknownKey(key: String, valid: [String])
    /// A key whose value has the wrong type or lies outside its range.
    case invalidValue(key: String, value: String, expected: String)
    /// Two entries of one list share a name.
    case duplicateName(key: String, name: String)
    /// A reference to a name that is not defined.
    case unknownName(key: String, name: String, valid: [String])
    /// A model fits no target at all.
    case modelTooLarge(model: String, needs: String, largest: String)
    /// The store a deployment would serve lacks models of its plan.
    case modelsNotInStore(store: String, models: [String])
    /// A file the command reads or writes failed.
    case file(path: String, reason: String)
    /// A load test or result file is unusable.
    case loadTest(String)
    /// The container engine is missing, or one of its commands failed.
    case container(String)
    /// kubectl is missing, one of its commands failed, or the cluster did not run what was applied.
    case kubernetes(String)
    /// A serverless group could not be started or stopped.
    case serverless(String)

    public var description: String {
        switch self {
        case .configurationNotFound(let path):
            return "no configuration file at \(path); run `shoal config init` to write one, or pass --config FILE"
        case .configurationSyntax(let path, let reason):
            return "\(path) is not a valid configuration: \(reason)"
        case .unknownKey(let key, let valid):
            return "unknown key '\(key)'; valid keys here: \(valid.joined(separator: ", "))"
        case .invalidValue(let key, let value, let expected):
            return "\(key): '\(value)' is not valid; expected \(expected)"
        case .duplicateName(let key, let name):
            return "\(key): the name '\(name)' appears more than once; names must be unique"
        case .unknownName(let key, let name, let valid):
            let choices = valid.isEmpty ? "none are defined" : "valid names: \(valid.joined(separator: ", "))"
            return "\(key): '\(name)' is not defined; \(choices)"
        case .modelTooLarge(let model, let needs, let largest):
            return "model '\(model)' needs \(needs), more than any target offers (largest: \(largest)); "
                + "add a larger target under `targets`, or lower the model's `traffic` or `memory`"
        case .modelsNotInStore(let store, let models):
            let example = models.first ?? "NAME"
            return "the store \(store) holds no model \(models.joined(separator: ", ")) of the plan; import them "
                + "(`shoal models import FOLDER --name \(example)`), or name the store that holds them "
                + "(--store, else $SHOAL_STORE, else store.url of shoal.yaml), then pack again"
        case .file(let path, let reason):
            return "\(path): \(reason)"
        case .loadTest(let message), .container(let message), .kubernetes(let message), .serverless(let message):
            return message
        }
    }
}
