import Foundation
import SystemdNotify
import Testing

@Suite("sd_notify protocol")
struct SystemdNotifierTests {
    @Test("sends READY, STATUS and STOPPING datagrams to a socket path", arguments: [false, true])
    func sendsToSocket(abstract: Bool) throws {
        let socket = try NotifySocket(abstract: abstract)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.address])
        #expect(notifier.isEnabled)
        #expect(notifier.ready(status: "outbox 0 pending"))
        #expect(notifier.status("two\nlines"))
        #expect(notifier.stopping(status: "draining"))
        #expect(socket.received() == [
            "READY=1\nSTATUS=outbox 0 pending", "STATUS=two lines", "STOPPING=1\nSTATUS=draining",
        ])
    }

    @Test("a reload is RELOADING=1 with the monotonic time it began, then READY=1")
    func reloading() throws {
        let socket = try NotifySocket(abstract: false)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.address])
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let before = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
        #expect(notifier.reloading(status: "reloading /etc/outpost/outpost.yaml"))
        #expect(notifier.ready(status: "running"))
        let received = socket.received()
        #expect(received.count == 2)
        let lines = received.first?.split(separator: "\n").map(String.init) ?? []
        #expect(lines.first == "RELOADING=1")
        #expect(lines.last == "STATUS=reloading /etc/outpost/outpost.yaml")
        let stamp = lines.first { $0.hasPrefix("MONOTONIC_USEC=") }.flatMap { UInt64($0.dropFirst("MONOTONIC_USEC=".count)) }
        #expect(stamp.map { $0 >= before && $0 < before + 60_000_000 } == true, "\(lines)")
        #expect(received.last == "READY=1\nSTATUS=running")
    }

    @Test("is a no-op outside systemd")
    func disabledWithoutSocket() {
        let notifier = SystemdNotifier(environment: [:])
        #expect(!notifier.isEnabled)
        #expect(!notifier.ready(status: "x"))
        #expect(notifier.watchdogInterval == nil)
    }

    @Test("reads WATCHDOG_USEC, and ignores a watchdog meant for another process")
    func watchdogInterval() {
        let mine = SystemdNotifier(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "\(getpid())"])
        #expect(mine.watchdogInterval == 30)
        let unspecified = SystemdNotifier(environment: ["WATCHDOG_USEC": "500000"])
        #expect(unspecified.watchdogInterval == 0.5)
        let other = SystemdNotifier(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"])
        #expect(other.watchdogInterval == nil)
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "0"]).watchdogInterval == nil)
    }

    @Test("reports failure when nobody listens")
    func missingSocket() {
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": "/nonexistent/notify.sock"])
        #expect(!notifier.watchdog())
    }
}
