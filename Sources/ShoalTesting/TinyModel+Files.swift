extension TinyModel {
    /// `config.json` with the keys, values and sorted key order that transformers 5.23 writes.
    static func configuration(architecture: Architecture, task: Task, dtype: String) -> OrderedJSON {
        let torchDType = ["F16": "float16", "BF16": "bfloat16"][dtype] ?? "float32"
        var members: [(String, OrderedJSON)] = [
            ("architectures", .array([.string(className(architecture: architecture, task: task))])),
            ("bos_token_id", .null),
            ("dtype", .string(torchDType)),
            ("eos_token_id", .null),
            ("initializer_range", .double(0.02)),
            ("max_position_embeddings", .int(maxPositionEmbeddings)),
            ("model_type", .string(architecture.rawValue)),
            ("pad_token_id", .int(0)),
            ("tie_word_embeddings", .bool(true)),
            ("transformers_version", .string("5.23.0")),
            ("vocab_size", .int(TinyTokenizer.vocabulary.count)),
        ]
        switch architecture {
        case .bert:
            members += [
                ("add_cross_attention", .bool(false)),
                ("attention_probs_dropout_prob", .double(0.1)),
                ("classifier_dropout", .null),
                ("hidden_act", .string("gelu")),
                ("hidden_dropout_prob", .double(0.1)),
                ("hidden_size", .int(hiddenSize)),
                ("intermediate_size", .int(intermediateSize)),
                ("is_decoder", .bool(false)),
                ("layer_norm_eps", .double(1e-12)),
                ("num_attention_heads", .int(headCount)),
                ("num_hidden_layers", .int(layerCount)),
                ("type_vocab_size", .int(typeVocabularySize)),
                ("use_cache", .bool(true)),
            ]
        case .distilbert:
            members += [
                ("activation", .string("gelu")),
                ("attention_dropout", .double(0.1)),
                ("dim", .int(hiddenSize)),
                ("dropout", .double(0.1)),
                ("hidden_dim", .int(intermediateSize)),
                ("n_heads", .int(headCount)),
                ("n_layers", .int(layerCount)),
                ("qa_dropout", .double(0.1)),
                ("seq_classif_dropout", .double(0.2)),
                ("sinusoidal_pos_embds", .bool(false)),
            ]
        }
        if case .classification(let labels) = task {
            let ids = labels.indices.map { (String($0), OrderedJSON.string(labels[$0])) }
            let labelIDs = labels.enumerated().map { ($0.element, OrderedJSON.int($0.offset)) }
            members += [
                ("id2label", .object(ids.sorted { $0.0 < $1.0 })),
                ("label2id", .object(labelIDs.sorted { $0.0 < $1.0 })),
            ]
        }
        return .object(members.sorted { $0.0 < $1.0 })
    }

    /// The transformers class that `config.json`'s `architectures` names.
    static func className(architecture: Architecture, task: Task) -> String {
        let base = architecture == .bert ? "Bert" : "DistilBert"
        if case .classification = task { return base + "ForSequenceClassification" }
        return base + "Model"
    }

    /// `tokenizer_config.json`, whose `model_max_length` makes transformers truncate at `maxSequenceLength` too.
    static func tokenizerConfiguration(architecture: Architecture) -> OrderedJSON {
        .object([
            ("do_lower_case", .bool(true)),
            ("unk_token", .string("[UNK]")),
            ("sep_token", .string("[SEP]")),
            ("pad_token", .string("[PAD]")),
            ("cls_token", .string("[CLS]")),
            ("mask_token", .string("[MASK]")),
            ("tokenize_chinese_chars", .bool(true)),
            ("strip_accents", .null),
            ("tokenizer_class", .string(architecture == .bert ? "BertTokenizer" : "DistilBertTokenizer")),
            ("model_max_length", .int(maxSequenceLength)),
        ])
    }

    /// `modules.json`, `1_Pooling/config.json` and `sentence_bert_config.json` as sentence-transformers writes them.
    static func sentenceTransformersFiles(pooling: Pooling, normalize: Bool) -> [(String, OrderedJSON)] {
        func module(_ index: Int, _ path: String, _ type: String) -> OrderedJSON {
            .object([
                ("idx", .int(index)), ("name", .string(String(index))), ("path", .string(path)),
                ("type", .string("sentence_transformers.models.\(type)")),
            ])
        }
        let modules = [module(0, "", "Transformer"), module(1, "1_Pooling", "Pooling")]
            + (normalize ? [module(2, "2_Normalize", "Normalize")] : [])
        return [
            ("modules.json", .array(modules)),
            ("1_Pooling/config.json", .object([
                ("word_embedding_dimension", .int(hiddenSize)),
                ("pooling_mode_cls_token", .bool(pooling == .cls)),
                ("pooling_mode_mean_tokens", .bool(pooling == .mean)),
                ("pooling_mode_max_tokens", .bool(pooling == .max)),
                ("pooling_mode_mean_sqrt_len_tokens", .bool(false)),
            ])),
            ("sentence_bert_config.json", .object([
                ("max_seq_length", .int(maxSequenceLength)), ("do_lower_case", .bool(false)),
            ])),
        ]
    }
}
