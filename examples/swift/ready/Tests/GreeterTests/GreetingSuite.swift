import Greeter
import Testing

/// The same greeter under swift-testing: its results are a second xunit file.
@Test func greetingKeepsTheName() {
    #expect(greeting(for: "Grace") == "Hello, Grace!")
}
