import ShoalKernels

/// The elementwise function applied after a linear layer.
public enum Activation: Sendable {
    case none, gelu, relu, tanh

    var code: Int32 {
        switch self {
        case .none: Int32(SHOAL_ACT_NONE.rawValue)
        case .gelu: Int32(SHOAL_ACT_GELU.rawValue)
        case .relu: Int32(SHOAL_ACT_RELU.rawValue)
        case .tanh: Int32(SHOAL_ACT_TANH.rawValue)
        }
    }
}
