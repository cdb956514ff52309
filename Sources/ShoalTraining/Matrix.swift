import CBLAS

/// A row-major float32 matrix: one embedding (or activation) per row.
public struct Matrix: Sendable, Equatable {
    public var rows: Int
    public var columns: Int
    public var values: [Float]

    public init(rows: Int, columns: Int, values: [Float]) {
        precondition(values.count == rows * columns, "a matrix's values must fill its shape")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    /// `self · weightᵀ + bias`: `weight` is `[outputs, columns]` row-major, the product goes through BLAS.
    func affine(_ weight: UnsafeBufferPointer<Float>, bias: UnsafeBufferPointer<Float>, outputs: Int) -> Matrix {
        var result = [Float](repeating: 0, count: rows * outputs)
        guard rows > 0 else { return Matrix(rows: 0, columns: outputs, values: []) }
        values.withUnsafeBufferPointer { x in
            result.withUnsafeMutableBufferPointer { out in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outputs), Int32(columns), 1,
                            x.baseAddress, Int32(columns), weight.baseAddress, Int32(columns), 0, out.baseAddress, Int32(outputs))
                for row in 0..<rows {
                    for column in 0..<outputs { out[row * outputs + column] += bias[column] }
                }
            }
        }
        return Matrix(rows: rows, columns: outputs, values: result)
    }
}
