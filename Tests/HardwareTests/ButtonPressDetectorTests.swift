import Testing
@testable import Hardware

@Suite struct ButtonPressDetectorTests {
    /// A bouncy press, a 3 ms spike, a double click and a clean press (see `generate.py`).
    @Test func recordedPressesThroughTheDebouncerCountOncePerPress() throws {
        let edges = try Fixtures.edges("button_presses.edges").compactMap(\.edge)
        #expect(edges.count == 16)
        let presses = ButtonPressDetector.presses(in: edges, debounce: .milliseconds(20), initialLevel: false,
                                                  end: .seconds(9))
        #expect(presses == [.seconds(1), .seconds(5), .seconds(8)])
        // Without the lockout the double click's second press counts too.
        let unlocked = ButtonPressDetector.presses(in: edges, debounce: .milliseconds(20), lockout: .zero,
                                                   initialLevel: false, end: .seconds(9))
        #expect(unlocked == [.seconds(1), .seconds(5), .seconds(5) + .milliseconds(600), .seconds(8)])
    }

    @Test func aHeldPressIsReportedOnceTheWindowHasPassedWithoutAnEdge() {
        var detector = ButtonPressDetector(debounce: .milliseconds(20), initialLevel: false)
        #expect(detector.feed(GPIOEdge(.rising, at: .seconds(10))) == nil)
        #expect(detector.settle(at: .seconds(10) + .milliseconds(10)) == nil)  // still within the window
        #expect(detector.settle(at: .seconds(10) + .milliseconds(100)) == .seconds(10))
        #expect(detector.settle(at: .seconds(11)) == nil)                        // held: still one press
        #expect(detector.feed(GPIOEdge(.falling, at: .seconds(12))) == nil)
    }

    @Test func aBurstThatEndsPressedIsAPressFromItsFirstEdge() {
        // The debouncer passes the first rising edge; the burst settles pressed.
        let edges = [GPIOEdge(.rising, at: .milliseconds(1000)), GPIOEdge(.falling, at: .milliseconds(1002)),
                     GPIOEdge(.rising, at: .milliseconds(1004))]
        #expect(ButtonPressDetector.presses(in: edges, debounce: .milliseconds(20), end: .milliseconds(1030)) == [.milliseconds(1000)])
        // A button already held when watching starts is no press.
        var held = ButtonPressDetector(debounce: .milliseconds(20), initialLevel: true)
        #expect(held.settle(at: .seconds(5)) == nil)
        #expect(held.feed(GPIOEdge(.falling, at: .seconds(6))) == nil)
    }
}
