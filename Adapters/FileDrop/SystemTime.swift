import Glibc

/// Clock readings as seconds in a `Double`.
enum SystemTime {
    /// Seconds on the monotonic clock: for settle windows and retry delays.
    static func monotonic() -> Double { read(CLOCK_MONOTONIC) }

    /// Seconds since 1970: for archive dates and reason files.
    static func wall() -> Double { read(CLOCK_REALTIME) }

    /// Nanoseconds on the monotonic clock: for deadlines compared exactly.
    static func monotonicNanoseconds() -> Int64 {
        let ts = now(CLOCK_MONOTONIC)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    private static func read(_ clock: clockid_t) -> Double {
        let ts = now(clock)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1_000_000_000
    }

    private static func now(_ clock: clockid_t) -> timespec {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return ts
    }
}
