import RealModule

/// The geometric mean of positive values, through swift-numerics' logarithms.
public func geometricMean(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    let logs = values.map { Double.log($0) }
    return Double.exp(logs.reduce(0, +) / Double(values.count))
}
