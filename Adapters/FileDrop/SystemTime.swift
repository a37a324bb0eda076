import Glibc

/// Clock readings as seconds in a `Double`.
enum SystemTime {
    /// Seconds on the monotonic clock: for settle windows and retry delays.
    static func monotonic() -> Double { read(CLOCK_MONOTONIC) }

    /// Seconds since 1970: for archive dates and reason files.
    static func wall() -> Double { read(CLOCK_REALTIME) }

    private static func read(_ clock: clockid_t) -> Double {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1_000_000_000
    }
}
