import Foundation
import Synchronization

/// The current credentials of one `CredentialSource`: fixed keys as they are, temporary ones fetched on first
/// use and again `refreshMargin` before they expire, one fetch at a time however many requests wait for it.
actor CredentialProvider {
    nonisolated let source: CredentialSource
    /// The keys of a `.keys` source, handed out without a hop onto the actor.
    private nonisolated let fixed: AWSCredentials?
    private let timeout: Duration
    private let refreshMargin: Duration
    private var current: AWSCredentials?
    private var refresh: Task<AWSCredentials, any Error>?

    init(source: CredentialSource, timeout: Duration, refreshMargin: Duration = .seconds(300)) {
        self.source = source
        fixed = source.keys
        self.timeout = timeout
        self.refreshMargin = refreshMargin
    }

    /// One provider per source of temporary credentials in the process, so that every store and request on it
    /// shares the credentials and their refreshes.
    private static let shared = Mutex<[CredentialSource: CredentialProvider]>([:])

    /// The process's provider for `source` (a new one for fixed keys, which need no sharing).
    static func shared(for source: CredentialSource, timeout: Duration) -> CredentialProvider {
        guard source.keys == nil else { return CredentialProvider(source: source, timeout: timeout) }
        return shared.withLock { providers in
            if let provider = providers[source] { return provider }
            let provider = CredentialProvider(source: source, timeout: timeout)
            providers[source] = provider
            return provider
        }
    }

    /// Credentials to sign a request with now; throws `StoreError.credentials` when none can be had.
    nonisolated func credentials() async throws -> AWSCredentials {
        if let fixed { return fixed }
        return try await temporary()
    }

    private func temporary() async throws -> AWSCredentials {
        if let current, !expiresSoon(current) { return current }
        let task: Task<AWSCredentials, any Error>
        if let refresh {
            task = refresh
        } else {
            let (source, timeout) = (self.source, self.timeout)
            task = Task { try await CredentialFetcher(source: source, timeout: timeout).fetch() }
            refresh = task
        }
        // The first waiter to resume keeps the result and retires the task; later ones (a newer task may have
        // started meanwhile) leave both alone.
        defer { if refresh == task { refresh = nil } }
        do {
            let fetched = try await task.value
            if refresh == task { current = fetched }
            return fetched
        } catch {
            // Keys that still work outlast a failed refresh; the next request tries again.
            if let current, let expiration = current.expiration, expiration > Date() { return current }
            throw error
        }
    }

    private func expiresSoon(_ credentials: AWSCredentials) -> Bool {
        guard let expiration = credentials.expiration else { return false }
        return expiration.timeIntervalSinceNow < refreshMargin.seconds
    }
}
