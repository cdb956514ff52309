#!/usr/bin/env python3
"""Ground truth for ShoalTokenizers, computed with Hugging Face `tokenizers`.

Two outputs, both committed:

  python3 scripts/tokenizer_edge_cases.py fixture
      Tests/ShoalTokenizersTests/Fixtures/edge_cases.json: ids and tokens for
      edge-case texts (untruncated, and truncated to a few small max lengths),
      encoded with the all-MiniLM-L6-v2 tokenizer.json fixture, and for a few
      texts encoded with that file's sections replaced by other supported types.

  python3 scripts/tokenizer_edge_cases.py tables
      Sources/ShoalTokenizers/CharacterClass+Tables.swift: the code point ranges
      that `tokenizers` treats as control characters, marks and punctuation, and Sources/ShoalTokenizers/CanonicalDecomposition+Table.swift:
      its NFD decompositions. It takes these from old Unicode tables (8.0 and
      9.0, not the current standard), so they are read off its behaviour, one
      code point at a time, instead of from a Unicode database.

Requires `pip install tokenizers` (written against 0.23.3).
"""

import json
import pathlib
import sys

import tokenizers
from tokenizers import AddedToken, Tokenizer, normalizers, pre_tokenizers, processors

ROOT = pathlib.Path(__file__).resolve().parent.parent
TOKENIZER = ROOT / "Tests/ShoalTokenizersTests/Fixtures/minilm_tokenizer.json"
FIXTURE = ROOT / "Tests/ShoalTokenizersTests/Fixtures/edge_cases.json"
TABLES = ROOT / "Sources/ShoalTokenizers/CharacterClass+Tables.swift"
DECOMPOSITIONS = ROOT / "Sources/ShoalTokenizers/CanonicalDecomposition+Table.swift"
HANGUL_SYLLABLES = range(0xAC00, 0xD7A4)

TRUNCATION_LENGTHS = [2, 3, 5, 8]

TEXTS = [
    "",
    " ",
    "   \t\n\r  ",
    "\u0000\u0001\u007f\u0085",
    "\ufffd",
    "a\u0000b c\u0007d",
    "héllo wörld",
    "Ünïcödé ÀÉÎÕÜ",
    "e\u0301 cafe\u0301 \u0301",
    "İstanbul ΣΊΣΥΦΟΣ straße ǅ",
    "ﬁancé Å \u212b K \u212a",
    "中文字符",
    "日本語とカタカナ",
    "한국어 텍스트",
    "\U00020000\U0002a700 \U0002b820 \U0002b920",
    "\uf900\ufa30 compatibility ideographs",
    "emoji 🍕 🥰 👩\u200d💻 🇺🇸 👍🏽 ❤️",
    "x" * 100,
    "x" * 101,
    "a" * 150 + " b",
    "unknown✓char and ok",
    "don't stop-believing... (really)!",
    "[CLS] [SEP] [MASK] [PAD] [UNK]",
    "a[MASK]b",
    "[mask] [MASK [ MASK ]",
    "hello\u200bworld soft\u00adhyphen",
    "nbsp\u00a0space ideographic\u3000space line\u2028sep en\u2002space",
    "Ｆｕｌｌｗｉｄｔｈ ｔｅｘｔ",
    "math ∑ ∫ √ ≠ ≈ ±",
    "quotes “smart” ‘single’ «guillemets»",
    "dashes – — ‐ ellipsis…",
    "¿Qué tal? ¡Hola!",
    "numbers 3.14159 1,000,000 $5 50% #1 @user ~tilde `tick` ^caret |pipe",
    "Hanunoo \u1734 Canadian \u166d Sharada \U000111c9",
    "unassigned a\u0378b newer-format \u0890 private \ue000 noncharacter \uffff",
    "Arabic مرحبا Hindi नमस्ते Thai สวัสดี Hebrew שלום",
    "Vietnamese Tiếng Việt Greek Ελληνικά",
    "antidisestablishmentarianism supercalifragilisticexpialidocious",
    "ThisIsAnExtremelyLongCamelCaseIdentifier",
    " leading and trailing spaces ",
    "The quick brown fox jumps over the lazy dog. " * 12,
]


VARIANT_TEXTS = [
    "Héllo, Wörld! naïve café",
    "Ｆｕｌｌｗｉｄｔｈ ﬁancé ½ Ⅻ",
    "  padded text  ",
    "hello <ent> world <ent>x  <ent>",
    "foo foobar xfoo foo. Foo",
    "BÄR bär Bar",
    "中文 and 日本",
    "don't stop-believing... x+y=z",
    "e\u0301 \u212b \u1e9b\u0323",
    "straße İ ΣΑΣ",
]


def variants():
    """The fixture tokenizer with other sections, to check the other supported types against the library."""

    def make(name, normalizer=None, pre_tokenizer=None, post_processor=None, added=None, keep=()):
        tok = load()
        if "normalizer" not in keep:
            tok.normalizer = normalizer
        if "pre_tokenizer" not in keep:
            tok.pre_tokenizer = pre_tokenizer
        if "post_processor" not in keep:
            tok.post_processor = post_processor
        if added:
            tok.add_tokens(added)
        document = json.loads(tok.to_str())
        sections = ["normalizer", "pre_tokenizer", "post_processor", "added_tokens"]
        items = []
        for text in VARIANT_TEXTS:
            enc = tok.encode(text)
            items.append({"text": text, "input_ids": enc.ids, "tokens": enc.tokens, "type_ids": enc.type_ids})
        return {"name": name, "sections": {key: document[key] for key in sections}, "items": items}

    cls_sep = [("[CLS]", 101), ("[SEP]", 102)]
    return [
        make(
            "Sequence(NFD, Lowercase, StripAccents), Whitespace, BertProcessing",
            normalizers.Sequence([normalizers.NFD(), normalizers.Lowercase(), normalizers.StripAccents()]),
            pre_tokenizers.Whitespace(),
            processors.BertProcessing(("[SEP]", 102), ("[CLS]", 101)),
        ),
        make(
            "cased BertNormalizer, BertPreTokenizer, template with type ids",
            normalizers.BertNormalizer(lowercase=False),
            pre_tokenizers.BertPreTokenizer(),
            processors.TemplateProcessing(single="[CLS]:0 $A:1 [SEP]:1", special_tokens=cls_sep),
        ),
        make(
            "Sequence(NFKC, Lowercase), WhitespaceSplit, no post-processor",
            normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()]),
            pre_tokenizers.WhitespaceSplit(),
        ),
        make(
            "Sequence(Strip, NFC, Lowercase), no pre-tokenizer, template",
            normalizers.Sequence([normalizers.Strip(), normalizers.NFC(), normalizers.Lowercase()]),
            None,
            processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=cls_sep),
        ),
        make(
            "Sequence(NFKD, StripAccents), Sequence(WhitespaceSplit, BertPreTokenizer)",
            normalizers.Sequence([normalizers.NFKD(), normalizers.StripAccents()]),
            pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.BertPreTokenizer()]),
        ),
        make(
            "added tokens with lstrip, rstrip, single_word and normalized",
            added=[
                AddedToken("<ent>", lstrip=True, rstrip=True, normalized=False),
                AddedToken("foo", single_word=True, normalized=True),
                AddedToken("BÄR", normalized=True),
            ],
            keep=("normalizer", "pre_tokenizer", "post_processor"),
        ),
    ]


def load():
    tok = Tokenizer.from_file(str(TOKENIZER))
    tok.no_padding()
    tok.no_truncation()
    return tok


def fixture():
    tok = load()
    items = []
    for text in TEXTS:
        enc = tok.encode(text)
        item = {"text": text, "input_ids": enc.ids, "tokens": enc.tokens, "type_ids": enc.type_ids}
        truncations = []
        for max_length in TRUNCATION_LENGTHS:
            if max_length < len(enc.ids):
                tok.enable_truncation(max_length=max_length)
                truncations.append({"max_length": max_length, "input_ids": tok.encode(text).ids})
                tok.no_truncation()
        item["truncations"] = truncations
        items.append(item)
    out = {
        "generated_with": {"tokenizers": tokenizers.__version__},
        "tokenizer": "all-MiniLM-L6-v2 tokenizer.json (minilm_tokenizer.json), padding and truncation off",
        "items": items,
        "variants": variants(),
    }
    FIXTURE.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(items)} items to {FIXTURE.relative_to(ROOT)}")


def code_points():
    return (cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF)


def ranges(cps):
    out = []
    for cp in cps:
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def swift_table(name, doc, cps):
    rows = ranges(cps)
    lines = [f"    /// {doc}", f"    static let {name}: [ClosedRange<UInt32>] = ["]
    row = []
    for lo, hi in rows:
        row.append(f"0x{lo:X}...0x{hi:X},")
        if len(row) == 6:
            lines.append("        " + " ".join(row))
            row = []
    if row:
        lines.append("        " + " ".join(row))
    lines.append("    ]")
    return "\n".join(lines)


def tables():
    clean = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=False
    )
    strip = normalizers.BertNormalizer(
        clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False
    )
    nfd = normalizers.NFD()
    strip_marks = normalizers.StripAccents()
    bert = pre_tokenizers.BertPreTokenizer()
    removed, marks, combining, punctuation = [], [], [], []
    for cp in code_points():
        c = chr(cp)
        if clean.normalize_str(c) == "":
            removed.append(cp)
        # Accent stripping decomposes first, so only characters that NFD leaves alone reach the filter.
        if nfd.normalize_str(c) == c and strip.normalize_str(c) == "":
            marks.append(cp)
        if strip_marks.normalize_str(c) == "":
            combining.append(cp)
        if len(bert.pre_tokenize_str("a" + c + "b")) == 3:
            punctuation.append(cp)
    body = "\n\n".join(
        [
            swift_table(
                "removedByCleanup",
                "Code points that BERT's text cleanup drops: NUL, U+FFFD and the Cc/Cf/Co categories except tab, LF and CR.",
                removed,
            ),
            swift_table(
                "nonspacingMarks",
                "Code points in category Mn, which BERT's accent stripping drops after NFD (decomposable ones left out).",
                marks,
            ),
            swift_table(
                "combiningMarks",
                "Code points in categories Mn, Mc and Me (Unicode 9.0), which the StripAccents normalizer drops.",
                combining,
            ),
            swift_table(
                "punctuation",
                "Code points that the BERT pre-tokenizer isolates: ASCII punctuation and the P* categories.",
                punctuation,
            ),
        ]
    )
    source = f"""// Generated by scripts/tokenizer_edge_cases.py tables (tokenizers {tokenizers.__version__}); do not edit.
// Hugging Face tokenizers classifies characters with an old Unicode table, so these ranges are read off
// its behaviour rather than taken from the current standard: matching its ids needs the same classes.

extension CharacterClass {{
{body}
}}
"""
    TABLES.write_text(source, encoding="utf-8")
    print(f"wrote {len(ranges(removed))}+{len(ranges(marks))}+{len(ranges(combining))}+{len(ranges(punctuation))} ranges to {TABLES.relative_to(ROOT)}")
    decompositions()


def decompositions():
    nfd = normalizers.NFD()
    entries = []
    for cp in code_points():
        if cp in HANGUL_SYLLABLES:
            continue  # decomposed arithmetically
        decomposed = nfd.normalize_str(chr(cp))
        if decomposed != chr(cp):
            entries.append(", ".join([f"0x{cp:X}", str(len(decomposed))] + [f"0x{ord(c):X}" for c in decomposed]))
    lines = []
    for start in range(0, len(entries), 4):
        lines.append("        " + ", ".join(entries[start:start + 4]) + ",")
    body = "\n".join(lines)
    source = f"""// Generated by scripts/tokenizer_edge_cases.py tables (tokenizers {tokenizers.__version__}); do not edit.
// The full canonical decompositions of Unicode 9.0, which tokenizers' NFD uses, Hangul syllables left out.

extension CanonicalDecomposition {{
    /// Entries of code point, length and decomposition, in code point order.
    static let table: [UInt32] = [
{body}
    ]
}}
"""
    DECOMPOSITIONS.write_text(source, encoding="utf-8")
    print(f"wrote {len(entries)} decompositions to {DECOMPOSITIONS.relative_to(ROOT)}")


if __name__ == "__main__":
    commands = {"fixture": fixture, "tables": tables}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: {sys.argv[0]} fixture|tables")
    commands[sys.argv[1]]()
