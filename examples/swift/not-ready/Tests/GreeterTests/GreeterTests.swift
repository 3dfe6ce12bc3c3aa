import Greeter
import Testing

@Test func greetingKeepsTheName() {
    #expect(greeting(for: "Grace") == "Hello, Grace!")
}

@Test func farewellIsPolite() {
    #expect(farewell(for: "Grace") == "Goodbye, Grace.")
}
