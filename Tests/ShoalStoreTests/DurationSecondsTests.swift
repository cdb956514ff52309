import ShoalStore
import Testing

@Suite struct DurationSecondsTests {
    @Test("a Duration in seconds keeps sub-second parts down to the nanosecond", arguments: [
        (Duration.seconds(30), 30.0), (.milliseconds(1_500), 1.5), (.microseconds(250), 0.000_25),
        (.nanoseconds(1), 1e-9), (.milliseconds(-2), -0.002), (.zero, 0),
    ])
    func seconds(duration: Duration, expected: Double) {
        #expect(abs(duration.seconds - expected) <= 1e-15 * max(1, abs(expected)))
    }
}
