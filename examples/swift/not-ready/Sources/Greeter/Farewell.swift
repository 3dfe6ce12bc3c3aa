/// Says goodbye; written without the formatter.
public func farewell(for name: String) -> String {
  return "Goodbye, \(name)!"
}
