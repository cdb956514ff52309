extension Duration {
    /// The duration as a number of seconds, for rates, metrics and averages.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) * 1e-18
    }
}
