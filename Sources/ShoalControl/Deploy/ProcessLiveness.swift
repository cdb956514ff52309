#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Signals to processes by id, for the supervisor and for `shoal deploy stop`, which is not their parent; and
/// whether a port is already taken, before a deployment starts servers on it.
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

    /// Whether a process accepts TCP connections on `port` of `host` (a wildcard or a name: of 127.0.0.1).
    public static func somethingListens(host: String, port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0, let port = UInt16(exactly: port) else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(port.bigEndian)
        if host == "0.0.0.0" || inet_pton(AF_INET, host, &address.sin_addr) != 1 {
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// Starts a new session so that the caller outlives the terminal and the process that started it.
    public static func detach() {
        _ = setsid()
        signal(SIGHUP, SIG_IGN)
    }
}
