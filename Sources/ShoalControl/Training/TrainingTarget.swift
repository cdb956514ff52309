import Foundation
import ShoalStore

/// Where `shoal train` runs.
public enum TrainingTarget: String, Codable, Sendable, CaseIterable {
    /// In this process (or in shard processes on this machine).
    case local
    /// An Indexed Job embedding in shards, then a Job fitting the heads.
    case kubernetes
    /// Chosen by `train.local_budget_s` against the encoder's estimated time.
    case auto

    /// The target `auto` resolves to for `rows` texts over `base`, and why, in words.
    ///
    /// The estimate is rows ÷ the base's best measured sequences per second (its manifest's profile, scaled
    /// from the profile's threads to `threads`), else `train.rows_per_second` per thread.
    public static func choose(rows: Int, base: Manifest, threads: Int, settings: ShoalConfiguration.TrainSettings)
        -> (target: TrainingTarget, reason: String)
    {
        let perSecond: Double
        let source: String
        if let profile = base.profile, let best = profile.measurements.map(\.sequencesPerSecond).max(), best > 0 {
            perSecond = best * Double(threads) / Double(max(1, profile.threads))
            source = "\(base.id)'s profile: \(Int(best)) rows/s on \(profile.threads) threads"
        } else {
            perSecond = settings.rowsPerSecond * Double(threads)
            source = "train.rows_per_second \(settings.rowsPerSecond) per thread, \(base.id) has no profile"
        }
        let seconds = Double(rows) / perSecond
        let estimate = String(format: "%d rows ÷ %.0f rows/s on %d threads ≈ %.0f s (%@)", rows, perSecond, threads, seconds, source)
        if seconds <= settings.localBudgetS {
            return (.local, "\(estimate), within train.local_budget_s \(Int(settings.localBudgetS)) s")
        }
        return (.kubernetes, "\(estimate), over train.local_budget_s \(Int(settings.localBudgetS)) s: \(settings.shards) pods embed in parallel")
    }
}
