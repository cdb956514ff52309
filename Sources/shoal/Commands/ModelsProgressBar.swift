import Foundation
import ShoalStore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A progress bar on standard error for long transfers and batches, with the rate and the time left; silent when
/// standard error is not a terminal.
final class ModelsProgressBar: Sendable {
    private struct State {
        var lastDrawn = 0.0
        var drawn = false
        var started: Double?
    }

    private let label: String
    /// What is counted, such as `texts`; bytes when `nil`.
    private let unit: String?
    private let enabled: Bool
    /// The bar is drawn from transfer callbacks on any thread.
    private let state = Mutex(State())

    init(_ label: String, unit: String? = nil, enabled: Bool = true) {
        self.label = label
        self.unit = unit
        self.enabled = enabled && isatty(STDERR_FILENO) == 1
    }

    /// The callback to hand to a transfer.
    var callback: TransferProgress? {
        guard enabled else { return nil }
        return { [self] done, total in self.draw(done, total) }
    }

    /// Ends the bar's line.
    func finish() {
        if state.withLock({ $0.drawn }) { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    /// Draws `done` of `total`, then `detail` (given the seconds since the first draw), then the time left at the
    /// rate so far; by default the detail is the sizes and the bytes a second.
    func draw(_ done: Int64, _ total: Int64, detail: ((Double) -> String)? = nil) {
        guard enabled else { return }
        let now = Date().timeIntervalSince1970
        let started = state.withLock { state -> Double? in
            let started = state.started ?? now
            state.started = started
            guard now - state.lastDrawn >= 0.1 || done == total else { return nil }
            state.lastDrawn = now
            state.drawn = true
            return started
        }
        guard let started, total > 0 else { return }
        let elapsed = now - started
        let fraction = min(1, Double(done) / Double(total))
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
        let rate = Double(done) / max(elapsed, 0.001)
        let counted = unit.map { "\(done)/\(total) \($0), \(Int(rate)) \($0)/s" }
            ?? "\(ModelsOutput.size(done))/\(ModelsOutput.size(total)), \(ModelsOutput.size(Int64(rate)))/s"
        let text = detail?(elapsed) ?? counted
        let left = fraction > 0 && elapsed > 0.5 ? ", " + Self.clock(elapsed * (1 - fraction) / fraction) + " left" : ""
        // The spaces clear what a longer line drawn before left.
        let line = "\r\(label) [\(bar)] \(Int(fraction * 100))% \(text)\(left)   "
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// `1:02:03` or `2:03`.
    private static func clock(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        let (hours, minutes, rest) = (total / 3600, total / 60 % 60, total % 60)
        return hours > 0 ? String(format: "%d:%02d:%02d", hours, minutes, rest) : String(format: "%d:%02d", minutes, rest)
    }
}
