import ArgumentParser

struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train classifier heads over a base embedding model and publish them into the store.",
        discussion: """
            A head is multinomial logistic regression with L2 (or, with --hidden, one tanh hidden layer) on the \
            base's pooled embeddings, fitted by L-BFGS with early stopping on the validation rows. Embeddings are \
            computed once and cached in the store under the base's digest, so a second head on the same texts \
            skips the encoder and a killed run resumes. The heads are published as derived models (as `shoal \
            models derive` publishes them) with their labels, metrics and the data's digest. Where it runs is \
            --target (or train.target of shoal.yaml): here, on Kubernetes as an Indexed Job per shard and a fit \
            Job, or chosen by auto from the base's measured cost per row against train.local_budget_s.
            Example: shoal train --base minilm --data tickets.jsonl --name tickets && shoal models show tickets
            """,
        subcommands: [TrainRunCommand.self, TrainEmbedCommand.self, TrainFitCommand.self],
        defaultSubcommand: TrainRunCommand.self)
}
