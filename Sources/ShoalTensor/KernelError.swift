/// A kernel that could not do its work; its output is incomplete and must not be used.
public enum KernelError: Error, Equatable, CustomStringConvertible {
    /// A kernel thread could not allocate its working memory.
    case outOfMemory(kernel: String)

    /// The message for the request whose batch failed.
    public var description: String {
        switch self {
        case .outOfMemory(let kernel): "\(kernel) could not allocate its working memory; the batch was not computed"
        }
    }

    /// Throws for a kernel's status other than `SHOAL_OK`.
    static func check(_ status: Int32, kernel: String) throws(KernelError) {
        guard status == 0 else { throw .outOfMemory(kernel: kernel) }
    }
}
