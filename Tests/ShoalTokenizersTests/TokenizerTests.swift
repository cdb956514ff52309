import Foundation
import ShoalTokenizers
import Testing

/// Behaviour of the all-MiniLM-L6-v2 tokenizer on edge cases, beyond the ids `tokenizers` gives.
@Suite struct TokenizerTests {
    private let cls: Int32 = 101
    private let sep: Int32 = 102
    private let unknown: Int32 = 100

    @Test func emptyTextIsClsSep() throws {
        let encoding = try Fixtures.minilm().encode("")
        #expect(encoding == Encoding(ids: [cls, sep], typeIds: [0, 0], untruncatedCount: 2))
        #expect(!encoding.isTruncated)
    }

    @Test(arguments: [" ", "\t\n\r  ", "\u{0}\u{1}\u{7F}\u{85}", "\u{200B}\u{FEFF}\u{FFFD}", " \u{3000}\u{A0}\u{2028} "])
    func whitespaceAndControlCharactersAlone(_ text: String) throws {
        #expect(try Fixtures.minilm().encode(text).ids == [cls, sep])
    }

    @Test func wordLongerThanMaxInputCharsIsUnknown() throws {
        let tokenizer = try Fixtures.minilm()
        #expect(tokenizer.encode(String(repeating: "a", count: 101)).ids == [cls, unknown, sep])
        #expect(!tokenizer.encode(String(repeating: "a", count: 100)).ids.contains(unknown))
        #expect(tokenizer.encode(String(repeating: "a", count: 101) + " ok").ids == [cls, unknown, 7929, sep])
    }

    @Test func unknownCharacterMakesTheWholeWordUnknown() throws {
        let tokenizer = try Fixtures.minilm()
        #expect(tokenizer.encode("unknown✓char").ids == [cls, unknown, sep])
        #expect(tokenizer.encode("unknown ✓ char").ids.filter { $0 == unknown }.count == 1)
    }

    @Test func accentsAreStripped() throws {
        let tokenizer = try Fixtures.minilm()
        #expect(tokenizer.encode("Café NAÏVE Ünïcödé façade").ids == tokenizer.encode("cafe naive unicode facade").ids)
    }

    @Test func combiningMarksAreDroppedWhetherPrecomposedOrNot() throws {
        let tokenizer = try Fixtures.minilm()
        let plain = tokenizer.encode("resume").ids
        #expect(tokenizer.encode("résumé").ids == plain)
        #expect(tokenizer.encode("re\u{301}sume\u{301}").ids == plain)
        #expect(tokenizer.encode("re\u{301}\u{316}sume\u{302}\u{323}").ids == plain)
    }

    @Test func chineseIdeographsBecomeOneTokenEach() throws {
        let tokenizer = try Fixtures.minilm()
        let ids = tokenizer.encode("中文日本").ids
        #expect(ids == [cls] + ["中", "文", "日", "本"].map { tokenizer.id(of: $0) } + [sep])
        #expect(tokenizer.encode("中文 日本").ids == ids)
        #expect(tokenizer.encode("x中y").ids == [cls, 1060, tokenizer.id(of: "中"), 1061, sep])
    }

    @Test func emojiAreUnknown() throws {
        let tokenizer = try Fixtures.minilm()
        #expect(tokenizer.encode("🍕").ids == [cls, unknown, sep])
        #expect(tokenizer.encode("pizza🍕").ids == [cls, unknown, sep])
        #expect(tokenizer.encode("👩‍💻 code").ids == [cls, unknown, tokenizer.id(of: "code"), sep])
    }

    @Test func specialTokensInTheTextAreKept() throws {
        let tokenizer = try Fixtures.minilm()
        #expect(tokenizer.encode("a [MASK] b").ids == [cls, 1037, 103, 1038, sep])
        #expect(tokenizer.encode("[mask]").ids == [cls, 1031, 7308, 1033, sep])
    }

    @Test(arguments: [2, 3, 5, 8])
    func truncationKeepsClsAndSep(maxLength: Int) throws {
        let tokenizer = try Fixtures.minilm()
        let text = "The quick brown fox jumps over the lazy dog."
        let full = tokenizer.encode(text)
        let truncated = tokenizer.encode(text, maxLength: maxLength)
        #expect(truncated.ids.count == maxLength)
        #expect(truncated.ids == Array(full.ids.prefix(maxLength - 1)) + [sep])
        #expect(truncated.typeIds == [Int32](repeating: 0, count: maxLength))
        #expect(truncated.isTruncated)
        #expect(truncated.untruncatedCount == full.ids.count)
    }

    @Test func textThatFitsIsNotTruncated() throws {
        let tokenizer = try Fixtures.minilm()
        let full = tokenizer.encode("Hello, world!")
        let exact = tokenizer.encode("Hello, world!", maxLength: full.ids.count)
        #expect(exact == full)
        #expect(!exact.isTruncated)
    }

    @Test func maxLengthBelowSpecialTokensKeepsOnlyThem() throws {
        let tokenizer = try Fixtures.minilm()
        for maxLength in [-1, 0, 1] {
            let encoding = tokenizer.encode("Hello, world!", maxLength: maxLength)
            #expect(encoding.ids == [cls, sep])
            #expect(encoding.untruncatedCount == 6)
        }
    }

    @Test func batchEqualsOneByOne() throws {
        let tokenizer = try Fixtures.minilm()
        let texts = Fixtures.golden.map(\.text) + Fixtures.edgeCases.map(\.text)
        for maxLength in [nil, 5, 256] {
            #expect(tokenizer.encode(batch: texts, maxLength: maxLength) == texts.map { tokenizer.encode($0, maxLength: maxLength) })
        }
    }

    @Test func concurrentEncodingEqualsSequential() async throws {
        let tokenizer = try Fixtures.minilm()
        let texts = Fixtures.golden.map(\.text)
        let sequential = tokenizer.encode(batch: texts, maxLength: 256)
        let concurrent = await withTaskGroup(of: (Int, Encoding).self) { group in
            for (index, text) in texts.enumerated() {
                group.addTask { (index, tokenizer.encode(text, maxLength: 256)) }
            }
            var results = [Encoding?](repeating: nil, count: texts.count)
            for await (index, encoding) in group { results[index] = encoding }
            return results
        }
        #expect(concurrent == sequential)
    }

    @Test func vocabularyLookups() throws {
        let tokenizer = try Fixtures.minilm()
        #expect(tokenizer.vocabularySize == 30522)
        #expect(tokenizer.specialTokenCount == 2)
        #expect(tokenizer.id(of: "[CLS]") == cls)
        #expect(tokenizer.id(of: "[MASK]") == 103)
        #expect(tokenizer.id(of: "##ing") == 2075)
        #expect(tokenizer.id(of: "no such token") == nil)
        #expect(tokenizer.token(for: sep) == "[SEP]")
        #expect(tokenizer.token(for: 2075) == "##ing")
        #expect(tokenizer.token(for: -1) == nil)
        #expect(tokenizer.token(for: 30522) == nil)
    }

    @Test func fileSectionsForPaddingAndTruncationAreIgnored() throws {
        // The fixture asks for truncation and padding to 128; the engine decides both itself.
        let tokenizer = try Fixtures.minilm()
        let long = String(repeating: "word ", count: 200)
        #expect(tokenizer.encode(long).ids.count == 202)
        #expect(tokenizer.encode("short").ids.count == 3)
    }

    /// Swift strings compare by canonical equivalence, but `tokenizers` keeps "é" and "e\u{301}" apart; the ids
    /// below are the ones it gives for this file.
    @Test func canonicallyEquivalentTokensStayDistinct() throws {
        let json = #"""
        {"normalizer": null, "pre_tokenizer": {"type": "WhitespaceSplit"}, "post_processor": null,
         "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
          "vocab": {"[UNK]": 0, "\u00e9": 1, "e\u0301": 2, "caf": 3, "##\u00e9": 4, "##e\u0301": 5,
                    "\"": 6, "\\": 7, "\ud83c\udf55": 8, "a\/b": 9, "e": 10}}}
        """#
        let tokenizer = try Tokenizer(json: Data(json.utf8))
        let expected: [(String, [Int32])] = [
            ("\u{E9}", [1]), ("e\u{301}", [2]), ("caf\u{E9}", [3, 4]), ("cafe\u{301}", [3, 5]),
            ("\"", [6]), ("\\", [7]), ("🍕", [8]), ("a/b", [9]),
        ]
        for (text, ids) in expected {
            #expect(tokenizer.encode(text).ids == ids, "\(text.unicodeScalars.map(\.value))")
        }
        #expect(tokenizer.vocabularySize == 11)
        #expect(tokenizer.token(for: 2)?.unicodeScalars.map(\.value) == [0x65, 0x301])
    }
}
