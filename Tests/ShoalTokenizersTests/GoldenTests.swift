import Testing
import ShoalTokenizers

/// Ids must match Hugging Face `tokenizers` exactly: the model was trained on them.
@Suite struct GoldenTests {
    @Test func fixturesAreComplete() {
        #expect(Fixtures.golden.count == 24)
        #expect(Fixtures.edgeCases.count >= 40)
        #expect(Fixtures.variants.count == 6)
    }

    @Test(arguments: Fixtures.golden)
    func goldenItem(_ item: Fixtures.Item) throws {
        let tokenizer = try Fixtures.minilm()
        let encoding = tokenizer.encode(item.text, maxLength: Fixtures.goldenMaxLength)
        #expect(encoding.ids == item.inputIDs)
        #expect(encoding.ids.map { tokenizer.token(for: $0) } == item.tokens)
        #expect(encoding.typeIds == [Int32](repeating: 0, count: item.inputIDs.count))
        #expect(encoding.isTruncated == item.truncated)
        #expect(encoding.untruncatedCount == item.untruncatedCount)
    }

    @Test(arguments: Fixtures.edgeCases)
    func edgeCase(_ item: Fixtures.Item) throws {
        let tokenizer = try Fixtures.minilm()
        let encoding = tokenizer.encode(item.text)
        #expect(encoding.ids == item.inputIDs)
        #expect(encoding.ids.map { tokenizer.token(for: $0) } == item.tokens)
        #expect(encoding.typeIds == item.typeIDs)
        #expect(!encoding.isTruncated)
        #expect(encoding.untruncatedCount == item.inputIDs.count)
        for truncation in item.truncations ?? [] {
            let truncated = tokenizer.encode(item.text, maxLength: truncation.maxLength)
            #expect(truncated.ids == truncation.inputIDs, "maxLength \(truncation.maxLength)")
            #expect(truncated.isTruncated)
            #expect(truncated.untruncatedCount == item.inputIDs.count)
        }
    }

    /// Added tokens' token strings are the matched text in `tokenizers` (spaces included with lstrip/rstrip),
    /// so only ids are compared here.
    @Test(arguments: Fixtures.variants)
    func variant(_ variant: Fixtures.Variant) throws {
        let tokenizer = try Fixtures.variantTokenizer(variant.name)
        for item in variant.items {
            let encoding = tokenizer.encode(item.text)
            #expect(encoding.ids == item.inputIDs, "\(item.testDescription)")
            #expect(encoding.typeIds == item.typeIDs, "\(item.testDescription)")
        }
    }
}
