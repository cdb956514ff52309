#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Signals to processes by id, for the supervisor and for `shoal deploy stop`, which is not their parent.
public enum ProcessLiveness {
    /// Whether a process with this id exists (a zombie still counts until its parent reaps it).
    public static func isAlive(_ pid: Int32) -> Bool {
        pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)
    }

    /// Sends `signal`; a process that has already gone is not an error.
    public static func send(_ signal: Int32, to pid: Int32) {
        guard pid > 0 else { return }
        _ = kill(pid, signal)
    }

    /// Waits until `pid` has gone, up to `timeout`; returns whether it did.
    public static func waitForExit(_ pid: Int32, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while isAlive(pid) {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return true
    }

    /// Starts a new session so that the caller outlives the terminal and the process that started it.
    public static func detach() {
        _ = setsid()
        signal(SIGHUP, SIG_IGN)
    }
}
