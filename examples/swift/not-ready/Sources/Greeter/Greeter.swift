/// Greets by name.
public func greeting(for name: String) -> String {
    let unused = name.count
    return name.isEmpty ? "Hello!" : "Hello, \(name)!"
}
