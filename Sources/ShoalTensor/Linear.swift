import CBLAS
import ShoalKernels

/// A dense layer `y = act(x · Wᵀ + b [+ residual])` with its weights laid out for the chosen GEMM provider.
public final class Linear: @unchecked Sendable {
    // Unchecked: all stored properties are written once in init and only read afterwards.
    public let inputs: Int
    public let outputs: Int
    public let provider: GemmProvider
    private let weights: AlignedBuffer
    private let bias: AlignedBuffer?

    /// Builds the layer from a row-major `[outputs, inputs]` weight matrix, as torch's `nn.Linear` stores it.
    public init(weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outputs: Int, inputs: Int,
                provider: GemmProvider, weightScale: Float = 1) {
        self.inputs = inputs
        self.outputs = outputs
        self.provider = provider
        let count = outputs * inputs
        let scaled = AlignedBuffer(count: count)
        for i in 0..<count { scaled.pointer[i] = weight[i] * weightScale }
        switch provider {
        case .amx:
            weights = AlignedBuffer(count: shoal_amx_packed_bytes(Int32(outputs), Int32(inputs)) / 4)
            shoal_amx_pack(scaled.pointer, Int32(outputs), Int32(inputs), weights.pointer)
        case .native:
            weights = AlignedBuffer(count: shoal_packed_count(Int32(outputs), Int32(inputs)))
            shoal_pack(scaled.pointer, Int32(outputs), Int32(inputs), weights.pointer)
        case .blas:
            weights = scaled
        }
        if let bias {
            let buffer = AlignedBuffer(count: outputs)
            for i in 0..<outputs { buffer.pointer[i] = bias[i] * weightScale }
            self.bias = buffer
        } else {
            self.bias = nil
        }
    }

    /// Concatenates layers with the same inputs into one whose outputs are theirs in order (fused QKV).
    public convenience init(stacking parts: [(weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, scale: Float)],
                            outputsEach: Int, inputs: Int, provider: GemmProvider) {
        let total = outputsEach * parts.count
        let weight = AlignedBuffer(count: total * inputs)
        let bias = AlignedBuffer(count: total)
        for (index, part) in parts.enumerated() {
            let rows = outputsEach * inputs
            for i in 0..<rows { weight.pointer[index * rows + i] = part.weight[i] * part.scale }
            for i in 0..<outputsEach { bias.pointer[index * outputsEach + i] = (part.bias?[i] ?? 0) * part.scale }
        }
        self.init(weight: weight.pointer, bias: bias.pointer, outputs: total, inputs: inputs, provider: provider)
        withExtendedLifetime((weight, bias)) {}
    }

    /// Output columns per OpenBLAS call when the pool splits a product.
    private static let blasSlice = 64

    /// Bytes held by the layer's parameters.
    public var parameterBytes: Int { (weights.capacity + (bias == nil ? 0 : outputs)) * MemoryLayout<Float>.stride }

    /// `output[rows, outputs] = act(input[rows, inputs] · Wᵀ + b + residual)`; leading dimensions are the widths.
    /// With `blocks` (a multiple of 32 that divides `outputs`, and no residual) the output is instead
    /// `outputs / blocks` matrices `[rows, blocks]`, one after another: the layout attention reads per head.
    public func apply(rows: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                      residual: UnsafePointer<Float>? = nil, activation: Activation = .none, blocks: Int? = nil,
                      pool: OpaquePointer?) throws(KernelError) {
        guard rows > 0 else { return }
        if let blocks {
            precondition(blocks % 32 == 0 && outputs % blocks == 0 && residual == nil, "blocks of \(blocks) columns")
        }
        switch (provider, blocks) {
        case (.amx, nil):
            try KernelError.check(shoal_amx_gemm(
                pool, Int32(rows), Int32(outputs), Int32(inputs), input, Int32(inputs), weights.pointer, bias?.pointer,
                residual, Int32(outputs), activation.code, output, Int32(outputs)), kernel: "shoal_amx_gemm")
        case (.amx, let blocks?):
            try KernelError.check(shoal_amx_gemm_blocks(
                pool, Int32(rows), Int32(outputs), Int32(inputs), input, Int32(inputs), weights.pointer, bias?.pointer,
                activation.code, output, Int32(blocks)), kernel: "shoal_amx_gemm_blocks")
        case (.native, nil):
            shoal_gemm(pool, Int32(rows), Int32(outputs), Int32(inputs), input, Int32(inputs), weights.pointer,
                       bias?.pointer, residual, Int32(outputs), activation.code, output, Int32(outputs))
        case (.native, let blocks?):
            shoal_gemm_blocks(pool, Int32(rows), Int32(outputs), Int32(inputs), input, Int32(inputs), weights.pointer,
                              bias?.pointer, activation.code, output, Int32(blocks))
        case (.blas, _):
            // Column slices of the output, one OpenBLAS call each, spread over the pool's threads; with blocks,
            // one slice per block, written as its own matrix.
            let width = blocks ?? Self.blasSlice, slices = (outputs + width - 1) / width
            ComputePool.parallelFor(pool, slices) { slice in
                let first = slice * width, columns = min(width, outputs - first)
                let target = blocks == nil ? output + first : output + first * rows
                let ldc = Int32(blocks ?? outputs)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(columns), Int32(inputs), 1,
                            input, Int32(inputs), weights.pointer + first * inputs, Int32(inputs), 0, target, ldc)
                shoal_epilogue(Int32(rows), Int32(columns), target, ldc, bias.map { $0.pointer + first },
                               residual.map { $0 + first }, Int32(outputs), activation.code)
            }
        }
    }
}
