/// The splitmix64 generator (Steele, Lea and Flood): a sequence that depends on the seed alone, so a seed
/// reproduces a training run or a test fixture, and a few lines in any language (the Python fixtures use it too).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose first output depends only on `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value uniform on [-1, 1): the top 24 bits of `next()` scaled, so it is exact in float32.
    public mutating func nextSigned() -> Double {
        Double(next() >> 40) / 16_777_216 * 2 - 1
    }
}
