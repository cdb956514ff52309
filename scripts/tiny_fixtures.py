#!/usr/bin/env python3
"""Regenerates Tests/ShoalModelsTests/Fixtures/tiny_expected.json.

Builds the same tiny random BERT and DistilBERT models that `TinyModel.write` (ShoalTesting) writes,
from the same splitmix64 stream in the same tensor order, saves them as Hugging Face model folders,
loads them back with transformers (eval mode) and records, for a handful of fixed sentences, the token
ids and the expected outputs:

* embedding models: sentence-transformers semantics, i.e. pooling (mean / cls / max) of the last hidden
  state over attention-masked tokens, then optional L2 normalisation;
* classifiers: softmax probabilities (and the logits).

Inputs are truncated to 48 tokens ([SEP] kept last), the `max_seq_length` of the tiny models. The JSON
also records the first weight values of a few tensors, the tensor layout, the small JSON files of each
model folder and tokenizer.json, so the Swift tests can check that `TinyModel.write` agrees with this
script. No weights are committed: the Swift tests regenerate the folders from the seeds.

Needs torch, transformers, tokenizers and safetensors; sentence-transformers is optional (when present
the embeddings are cross-checked against `SentenceTransformer.encode`).

    python3 scripts/tiny_fixtures.py [--out PATH] [--keep DIR]
"""

import argparse
import json
import os
import tempfile

import numpy as np
import tokenizers
import torch
import transformers
from safetensors.torch import load_file
from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import WordPiece
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    BertModel,
    DistilBertConfig,
    DistilBertForSequenceClassification,
    DistilBertModel,
)

HIDDEN = 32
LAYERS = 2
HEADS = 4
INTERMEDIATE = 64
MAX_POSITIONS = 64
TYPE_VOCAB = 2
MAX_SEQ_LENGTH = 48
DECIMALS = 7

# Must equal TinyTokenizer.vocabulary (ShoalTesting); a token's id is its index.
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
VOCAB = (
    SPECIAL
    + [".", ",", "!", "?", "'", "-"]
    + """
    the a an and or but not no yes is are was be it this that they we you i he she my your their
    of in on at to for with from by about over under after very really so too also just only all some every
    day quick brown fox jump lazy dog cat hello world good bad great new old small big happy sad time year
    people way man woman child house car book water food like love make go come see know think take want use
    find give tell work read run test model text word sentence cafe au lait fast slow movie film embed serve well
    """.split()
    + ["##s", "##es", "##ed", "##ing", "##ly", "##er", "##est", "##ness", "##ful", "##ding", "##y"]
)

SENTENCES = [
    "Hello world!",
    "The quick brown fox jumps over the lazy dog.",
    "I really like this Café, it serves great food.",
    "Shoal embeds sentences quickly",
    "THE CAT SAT ON THE MAT 42 TIMES",
    "Good.",
    "We think that people really like to read a good book about the world, but they also want to see a new "
    "film or go for a run with the dog every day, so they use their time very well and find that it is a great "
    "way to make happy days and not sad years for the man, the woman and the child in the small old house by "
    "the water.",
]

VARIANTS = [
    dict(name="bert-embed-mean-normalized", architecture="bert", task="embedding",
         pooling="mean", normalize=True, labels=None, seed=1),
    dict(name="bert-classify", architecture="bert", task="classification",
         pooling=None, normalize=None, labels=["negative", "neutral", "positive"], seed=2),
    dict(name="distilbert-embed-cls", architecture="distilbert", task="embedding",
         pooling="cls", normalize=False, labels=None, seed=3),
    dict(name="distilbert-embed-max-normalized", architecture="distilbert", task="embedding",
         pooling="max", normalize=True, labels=None, seed=4),
    dict(name="distilbert-classify", architecture="distilbert", task="classification",
         pooling=None, normalize=None, labels=["NEGATIVE", "POSITIVE"], seed=5),
]

MASK64 = (1 << 64) - 1


class SplitMix64:
    """splitmix64, as in ShoalTensor's SplitMix64."""

    def __init__(self, seed):
        self.state = seed & MASK64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def next_signed(self):
        """Uniform on [-1, 1): the top 24 bits, exact in float32."""
        return (self.next() >> 40) / 2**24 * 2 - 1


def linear(name, out, inp):
    return [(f"{name}.weight", [out, inp]), (f"{name}.bias", [out])]


def norm(name):
    return [(f"{name}.weight", [HIDDEN]), (f"{name}.bias", [HIDDEN])]


def bert_encoder():
    tensors = [
        ("embeddings.word_embeddings.weight", [len(VOCAB), HIDDEN]),
        ("embeddings.position_embeddings.weight", [MAX_POSITIONS, HIDDEN]),
        ("embeddings.token_type_embeddings.weight", [TYPE_VOCAB, HIDDEN]),
    ] + norm("embeddings.LayerNorm")
    for i in range(LAYERS):
        layer = f"encoder.layer.{i}"
        tensors += (linear(f"{layer}.attention.self.query", HIDDEN, HIDDEN)
                    + linear(f"{layer}.attention.self.key", HIDDEN, HIDDEN)
                    + linear(f"{layer}.attention.self.value", HIDDEN, HIDDEN)
                    + linear(f"{layer}.attention.output.dense", HIDDEN, HIDDEN)
                    + norm(f"{layer}.attention.output.LayerNorm")
                    + linear(f"{layer}.intermediate.dense", INTERMEDIATE, HIDDEN)
                    + linear(f"{layer}.output.dense", HIDDEN, INTERMEDIATE)
                    + norm(f"{layer}.output.LayerNorm"))
    return tensors + linear("pooler.dense", HIDDEN, HIDDEN)


def distilbert_encoder():
    tensors = [
        ("embeddings.word_embeddings.weight", [len(VOCAB), HIDDEN]),
        ("embeddings.position_embeddings.weight", [MAX_POSITIONS, HIDDEN]),
    ] + norm("embeddings.LayerNorm")
    for i in range(LAYERS):
        layer = f"transformer.layer.{i}"
        tensors += (linear(f"{layer}.attention.q_lin", HIDDEN, HIDDEN)
                    + linear(f"{layer}.attention.k_lin", HIDDEN, HIDDEN)
                    + linear(f"{layer}.attention.v_lin", HIDDEN, HIDDEN)
                    + linear(f"{layer}.attention.out_lin", HIDDEN, HIDDEN)
                    + norm(f"{layer}.sa_layer_norm")
                    + linear(f"{layer}.ffn.lin1", INTERMEDIATE, HIDDEN)
                    + linear(f"{layer}.ffn.lin2", HIDDEN, INTERMEDIATE)
                    + norm(f"{layer}.output_layer_norm"))
    return tensors


def layout(variant):
    """Tensor names and shapes in generation order (TinyModel.tensorLayout)."""
    bert = variant["architecture"] == "bert"
    encoder = bert_encoder() if bert else distilbert_encoder()
    if variant["task"] == "embedding":
        return encoder
    labels = len(variant["labels"])
    prefix = "bert." if bert else "distilbert."
    head = [] if bert else linear("pre_classifier", HIDDEN, HIDDEN)
    return [(prefix + name, shape) for name, shape in encoder] + head + linear("classifier", labels, HIDDEN)


def initialisation(name):
    """(offset, scale) applied to u (TinyModel.weights)."""
    if name.endswith("LayerNorm.weight") or name.endswith("layer_norm.weight"):
        return 1.0, 0.5
    if name.endswith(".bias"):
        return 0.0, 0.1
    return 0.0, 0.2


def weights(variant):
    """One splitmix64 stream fills every tensor in layout order, row-major; double maths, rounded to float32."""
    generator = SplitMix64(variant["seed"])
    tensors = {}
    for name, shape in layout(variant):
        offset, scale = initialisation(name)
        count = int(np.prod(shape))
        values = [offset + scale * generator.next_signed() for _ in range(count)]
        tensors[name] = torch.from_numpy(np.array(values, dtype=np.float64).astype(np.float32).reshape(shape))
    return tensors


def model_class(variant):
    bert = variant["architecture"] == "bert"
    if variant["task"] == "embedding":
        return BertModel if bert else DistilBertModel
    return BertForSequenceClassification if bert else DistilBertForSequenceClassification


def configuration(variant):
    labels = {}
    if variant["labels"]:
        labels = dict(id2label=dict(enumerate(variant["labels"])),
                      label2id={label: i for i, label in enumerate(variant["labels"])})
    if variant["architecture"] == "bert":
        return BertConfig(vocab_size=len(VOCAB), hidden_size=HIDDEN, num_hidden_layers=LAYERS,
                          num_attention_heads=HEADS, intermediate_size=INTERMEDIATE,
                          max_position_embeddings=MAX_POSITIONS, type_vocab_size=TYPE_VOCAB,
                          layer_norm_eps=1e-12, hidden_act="gelu", **labels)
    return DistilBertConfig(vocab_size=len(VOCAB), dim=HIDDEN, n_layers=LAYERS, n_heads=HEADS,
                            hidden_dim=INTERMEDIATE, max_position_embeddings=MAX_POSITIONS,
                            activation="gelu", sinusoidal_pos_embds=False, **labels)


def tokenizer():
    vocab = {token: i for i, token in enumerate(VOCAB)}
    tok = Tokenizer(WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                strip_accents=None, lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.add_special_tokens(SPECIAL)
    return tok


def small_files(variant):
    """The folder's JSON files other than config.json and tokenizer.json (TinyModel+Files)."""
    files = {
        "tokenizer_config.json": {
            "do_lower_case": True, "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
            "cls_token": "[CLS]", "mask_token": "[MASK]", "tokenize_chinese_chars": True,
            "strip_accents": None,
            "tokenizer_class": "BertTokenizer" if variant["architecture"] == "bert" else "DistilBertTokenizer",
            "model_max_length": MAX_SEQ_LENGTH,
        },
    }
    if variant["task"] != "embedding":
        return files
    modules = [("", "Transformer"), ("1_Pooling", "Pooling")] + ([("2_Normalize", "Normalize")]
                                                                 if variant["normalize"] else [])
    files["modules.json"] = [
        {"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{kind}"}
        for i, (path, kind) in enumerate(modules)
    ]
    files["1_Pooling/config.json"] = {
        "word_embedding_dimension": HIDDEN,
        "pooling_mode_cls_token": variant["pooling"] == "cls",
        "pooling_mode_mean_tokens": variant["pooling"] == "mean",
        "pooling_mode_max_tokens": variant["pooling"] == "max",
        "pooling_mode_mean_sqrt_len_tokens": False,
    }
    files["sentence_bert_config.json"] = {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False}
    return files


def write_folder(folder, variant, tok):
    """Saves the model with transformers' own save_pretrained, plus tokenizer and sentence-transformers files."""
    model = model_class(variant)(configuration(variant))
    model.load_state_dict(weights(variant), strict=True)
    model.save_pretrained(folder)
    tok.save(os.path.join(folder, "tokenizer.json"))
    with open(os.path.join(folder, "vocab.txt"), "w") as f:
        f.write("\n".join(VOCAB) + "\n")
    for path, content in small_files(variant).items():
        os.makedirs(os.path.dirname(os.path.join(folder, path)), exist_ok=True)
        with open(os.path.join(folder, path), "w") as f:
            json.dump(content, f, indent=2)
    if variant["task"] == "embedding" and variant["normalize"]:
        os.makedirs(os.path.join(folder, "2_Normalize"), exist_ok=True)


def load(folder, variant):
    model, info = model_class(variant).from_pretrained(folder, output_loading_info=True)
    problems = {key: value for key, value in info.items() if value}
    assert not problems, f"{variant['name']}: loading reported {problems}"
    reloaded = load_file(os.path.join(folder, "model.safetensors"))
    expected = weights(variant)
    assert sorted(reloaded) == sorted(expected), f"{variant['name']}: saved tensor names differ from the layout"
    for name, tensor in expected.items():
        assert torch.equal(reloaded[name], tensor), f"{variant['name']}: {name} changed on save"
    return model.eval()


def pool(hidden, mask, variant):
    """sentence-transformers Pooling (+ Normalize) on one sequence."""
    mask = mask.unsqueeze(-1).to(hidden.dtype)
    if variant["pooling"] == "cls":
        pooled = hidden[:, 0]
    elif variant["pooling"] == "mean":
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    else:
        pooled = hidden.masked_fill(mask == 0, -1e9).max(1).values
    if variant["normalize"]:
        pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
    return pooled[0]


def rounded(values):
    return [round(float(v), DECIMALS) for v in values]


def run(model, variant, tok):
    items = []
    for text in SENTENCES:
        full = tok.encode(text)
        encoding = truncating(tok).encode(text)
        ids = torch.tensor([encoding.ids])
        mask = torch.tensor([encoding.attention_mask])
        inputs = dict(input_ids=ids, attention_mask=mask)
        if variant["architecture"] == "bert":
            inputs["token_type_ids"] = torch.tensor([encoding.type_ids])
        item = dict(text=text, input_ids=encoding.ids, tokens=encoding.tokens,
                    n_tokens_untruncated=len(full.ids), truncated=len(full.ids) > len(encoding.ids))
        with torch.no_grad():
            output = model(**inputs)
        if variant["task"] == "embedding":
            item["embedding"] = rounded(pool(output.last_hidden_state, mask, variant))
        else:
            logits = output.logits[0]
            item["logits"] = rounded(logits)
            item["probabilities"] = rounded(torch.softmax(logits.double(), dim=-1))
        items.append(item)
    return items


def truncating(tok):
    copy = Tokenizer.from_str(tok.to_str())
    copy.enable_truncation(max_length=MAX_SEQ_LENGTH)
    return copy


def cross_check_sentence_transformers(folder, variant, items):
    """Compares with SentenceTransformer.encode when sentence-transformers is installed."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        return None
    model = SentenceTransformer(folder, device="cpu")
    assert model.max_seq_length == MAX_SEQ_LENGTH
    encoded = model.encode([item["text"] for item in items], convert_to_numpy=True, batch_size=len(items))
    for item, vector in zip(items, encoded):
        difference = np.max(np.abs(np.array(item["embedding"]) - vector))
        assert difference < 1e-5, f"{variant['name']}: sentence-transformers differs by {difference} on {item['text']!r}"
    return True


def weight_samples(variant):
    """First four values of a few tensors: the first, a layer weight and the last, which pins the whole stream."""
    tensors = weights(variant)
    names = [name for name, _ in layout(variant)]
    layer_weight = next(name for name in names if name.endswith("layer.1.attention.self.query.weight")
                        or name.endswith("layer.1.attention.q_lin.weight"))
    return {name: [float(v) for v in tensors[name].flatten()[:4]] for name in (names[0], layer_weight, names[-1])}


def variant_record(variant, root, tok):
    folder = os.path.join(root, variant["name"])
    write_folder(folder, variant, tok)
    model = load(folder, variant)
    items = run(model, variant, tok)
    checked = cross_check_sentence_transformers(folder, variant, items) if variant["task"] == "embedding" else None
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    record = dict(variant)
    record.update(
        model_class=model_class(variant).__name__,
        max_seq_length=MAX_SEQ_LENGTH,
        checked_against_sentence_transformers=checked,
        tensors=[[name, shape] for name, shape in layout(variant)],
        weight_samples=weight_samples(variant),
        files={"config.json": config, **small_files(variant)},
        items=items,
    )
    return record


def dumps(value, indent=0):
    """JSON with lists of scalars on one line, everything else indented."""
    pad = " " * indent
    inner = " " * (indent + 1)
    if isinstance(value, dict) and value:
        members = [f"{inner}{json.dumps(k)}: {dumps(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(members) + "\n" + pad + "}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        if all(isinstance(v, list) and not any(isinstance(x, (dict, list)) for x in v) for v in value):
            return "[\n" + ",\n".join(inner + json.dumps(v, ensure_ascii=False) for v in value) + "\n" + pad + "]"
        return "[\n" + ",\n".join(inner + dumps(v, indent + 1) for v in value) + "\n" + pad + "]"
    return json.dumps(value, ensure_ascii=False)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(here, "..", "Tests", "ShoalModelsTests", "Fixtures",
                                                      "tiny_expected.json"))
    parser.add_argument("--keep", help="write the model folders here instead of a temporary directory")
    args = parser.parse_args()

    torch.manual_seed(0)
    tok = tokenizer()
    versions = dict(torch=torch.__version__, transformers=transformers.__version__,
                    tokenizers=tokenizers.__version__)
    try:
        import sentence_transformers
        versions["sentence_transformers"] = sentence_transformers.__version__
    except ImportError:
        pass

    with tempfile.TemporaryDirectory() as temporary:
        root = args.keep or temporary
        variants = [variant_record(variant, root, tok) for variant in VARIANTS]

    document = {
        "description": "Expected outputs of tiny random models written by TinyModel.write (ShoalTesting), "
                       "computed by scripts/tiny_fixtures.py with PyTorch in eval mode.",
        "generated_with": versions,
        "prng": "splitmix64 seeded with the variant's seed; one stream fills the tensors in 'tensors' order, "
                "row-major; u = (next() >> 40) / 2^24 * 2 - 1 in double precision, rounded to float32 after "
                "scaling: LayerNorm weights 1 + 0.5u, biases 0.1u, other tensors 0.2u",
        "max_seq_length": MAX_SEQ_LENGTH,
        "truncation": "input_ids truncated to max_seq_length with [SEP] kept last; token_type_ids all 0",
        "embedding_semantics": "sentence-transformers: pooling of last_hidden_state over tokens with "
                               "attention_mask 1 (cls: first token; max: element-wise), then L2 normalisation "
                               "when normalize is true",
        "classification_semantics": "softmax of the logits, in label id order",
        "decimals": DECIMALS,
        "suggested_tolerance": {"max_abs_diff": 1e-5},
        "vocab": VOCAB,
        "sentences": SENTENCES,
        "tokenizer_json": json.loads(tok.to_str()),
        "variants": variants,
    }
    with open(args.out, "w") as f:
        f.write(dumps(document) + "\n")
    print(f"wrote {os.path.normpath(args.out)}")


if __name__ == "__main__":
    main()
