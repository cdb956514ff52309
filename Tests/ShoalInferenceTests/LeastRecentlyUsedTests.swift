@testable import ShoalInference
import Testing

@Suite struct LeastRecentlyUsedTests {
    @Test func oldestIsTheLeastRecentlyAppendedOfThoseLeft() {
        var order = LeastRecentlyUsed<Int>()
        #expect(order.oldest == nil)
        for key in 1...5 { order.append(key) }
        #expect(order.oldest == 1 && order.count == 5)
        order.append(1)  // used again: now the most recent
        #expect(order.oldest == 2)
        order.remove(2)
        order.remove(4)
        order.remove(42)  // not there: nothing changes
        #expect(order.oldest == 3 && order.count == 3)
        var drained: [Int] = []
        while let oldest = order.oldest {
            drained.append(oldest)
            order.remove(oldest)
        }
        #expect(drained == [3, 5, 1])
        order.append(7)
        #expect(order.oldest == 7 && order.contains(7) && !order.contains(3))
    }
}
