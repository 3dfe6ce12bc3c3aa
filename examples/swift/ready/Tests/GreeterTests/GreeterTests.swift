import Greeter
import XCTest

final class GreeterTests: XCTestCase {
    func testNamed() { XCTAssertEqual(greeting(for: "Ada"), "Hello, Ada!") }
    func testEmpty() { XCTAssertEqual(greeting(for: ""), "Hello!") }
}
