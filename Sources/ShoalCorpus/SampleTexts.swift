/// Real English texts that the engine's checks, benchmarks and load tests send.
public enum SampleTexts {
    /// Short sentences of about 12 tokens each, [CLS] and [SEP] included.
    public static let shortSentences = [
        "The quick brown fox jumps over the lazy dog.",
        "A man is eating a piece of bread at the table.",
        "She reads the morning news on her new tablet.",
        "Our team shipped the release two days early.",
        "The weather today is sunny with a light breeze.",
        "Please reset my password before the meeting.",
        "Kids played football in the park after school.",
        "The museum opens at nine on most weekdays.",
    ]
}
