import Foundation
import ShoalStore

/// Load-test results kept in the model store, one object per load generator at `results/RUN/NAME.json`:
/// written by `shoal test bmk|seq|rnd --out-store RUN` (each pod of a load-test Job under its own name) and
/// merged by `shoal test bma --from-store RUN`. A result is never replaced.
public struct LoadResultStore: Sendable {
    public let backend: any StoreBackend

    public init(backend: any StoreBackend) {
        self.backend = backend
    }

    /// What a run id may be: it names a folder of the store and the load-test Job (`shoal-load-RUN`), so
    /// it is a DNS label short enough for the Job's pod names.
    public static let runRule = "a run id is 1 to 40 of a-z, 0-9 and '-', starting and ending with a letter or digit"

    /// What a result's name may be: the rule of model names, since it is a file or key name of the store too.
    public static let nameRule = "a result name is 1 to 200 of letters, digits, '.', '_' or '-', not starting with '.' or '-'"

    /// Whether `run` can name a run (see `runRule`).
    public static func isValidRun(_ run: String) -> Bool {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-")
        return (1...40).contains(run.count) && run.allSatisfy(allowed.contains) && run.first != "-" && run.last != "-"
    }

    /// A new run id from the time, `20261207-044119`.
    public static func generatedRun(at date: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return formatter.string(from: date)
    }

    /// The folder of `run`'s results.
    public static func folder(_ run: String) -> String { "results/\(run)" }

    /// Stores `result` as `results/RUN/NAME.json` and returns where it went; refuses a name written before.
    @discardableResult
    public func write(_ result: LoadResult, run: String, name: String) async throws -> String {
        try Self.check(run: run)
        guard ModelReference.isValidName(name) else {
            throw ControlError.invalidValue(key: "result name", value: name, expected: Self.nameRule)
        }
        let path = "\(Self.folder(run))/\(name).json"
        try await backend.write(try result.encoded(), to: path)
        return "\(backend.description)/\(path)"
    }

    /// Every result of `run`, by where it is; throws when there is none, or naming the first unreadable one.
    public func results(of run: String) async throws -> [(path: String, result: LoadResult)] {
        try Self.check(run: run)
        let paths = try await backend.list(Self.folder(run)).filter { $0.hasSuffix(".json") }
        guard !paths.isEmpty else {
            throw ControlError.loadTest("no results under \(backend.description)/\(Self.folder(run))/; "
                + "check the run id and the store (--store, SHOAL_STORE or store.url), or write some with "
                + "`shoal test bmk --out-store \(run)` or `shoal deploy load-test --run \(run)`")
        }
        var results: [(path: String, result: LoadResult)] = []
        for path in paths {
            let location = "\(backend.description)/\(path)"
            guard let data = try await backend.read(path) else {
                throw ControlError.file(path: location, reason: "was listed but cannot be read")
            }
            results.append((location, try LoadResult.decode(data, path: location)))
        }
        return results
    }

    private static func check(run: String) throws {
        guard isValidRun(run) else { throw ControlError.invalidValue(key: "run", value: run, expected: runRule) }
    }
}
