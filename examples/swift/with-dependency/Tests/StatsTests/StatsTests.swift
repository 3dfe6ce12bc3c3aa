import Stats
import Testing

@Test func geometricMeanOfTwoAndEight() {
    #expect(abs(geometricMean([2, 8]) - 4) < 1e-12)
}

@Test func emptyIsNotANumber() {
    #expect(geometricMean([]).isNaN)
}
