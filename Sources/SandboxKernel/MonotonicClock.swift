import Glibc

/// A monotonic clock in nanoseconds (CLOCK_MONOTONIC).
public enum MonotonicClock {
    public typealias Instant = UInt64

    public static func now() -> Instant {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    public static func seconds(since start: Instant) -> Double {
        Double(now() - start) / 1e9
    }
}
