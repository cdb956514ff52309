import Foundation
import ShoalStore
import Testing

/// The hosts an asynchronous request's callback may go to.
@Suite struct CallbackHostsTests {
    @Test func anEmptyListAllowsNoCallback() throws {
        let hosts = try CallbackHosts("")
        #expect(hosts.isEmpty && hosts.description == "none")
        #expect(!hosts.allows(URL(string: "http://127.0.0.1:9/hook")!))
    }

    @Test func hostsDomainsAddressesAndPortsMatchExactly() throws {
        let hosts = try CallbackHosts("hooks.example.com, *.internal.example:8443,127.0.0.1:9000,[::1]")
        let allowed = ["http://hooks.example.com/a", "https://HOOKS.example.com/a", "https://a.internal.example:8443/x",
                       "https://b.c.internal.example:8443/", "http://127.0.0.1:9000/cb", "http://[::1]:7/cb"]
        let refused = ["http://evil.example.com/a", "http://hooks.example.com.evil.org/a", "https://internal.example:8443/x",
                       "https://a.internal.example/x", "http://127.0.0.1:9001/cb", "http://169.254.169.254/latest",
                       "ftp://hooks.example.com/a", "http://127.0.0.2:9000/cb"]
        for url in allowed { #expect(hosts.allows(URL(string: url)!), "\(url)") }
        for url in refused { #expect(!hosts.allows(URL(string: url)!), "\(url)") }
    }

    @Test(arguments: ["http://x.com", "x.com/path", "*", "a.*.com", "user@x.com", "x.com:port"])
    func whatIsNotAHostIsRefused(_ entry: String) {
        #expect(throws: CallbackHostsError.self) { try CallbackHosts(entry) }
    }
}
