import Foundation
import ShoalStore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A progress bar on standard error for long transfers; silent when standard error is not a terminal.
final class ModelsProgressBar: Sendable {
    private struct State {
        var lastDrawn = 0.0
        var drawn = false
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

    private func draw(_ done: Int64, _ total: Int64) {
        let now = Date().timeIntervalSince1970
        let shouldDraw = state.withLock { state -> Bool in
            guard now - state.lastDrawn >= 0.1 || done == total else { return false }
            state.lastDrawn = now
            state.drawn = true
            return true
        }
        guard shouldDraw, total > 0 else { return }
        let fraction = min(1, Double(done) / Double(total))
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
        let amount = unit.map { "\(done)/\(total) \($0)" } ?? "\(ModelsOutput.size(done))/\(ModelsOutput.size(total))"
        let line = "\r\(label) [\(bar)] \(Int(fraction * 100))% \(amount)"
        FileHandle.standardError.write(Data(line.utf8))
    }
}
