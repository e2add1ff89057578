//! Numbers as people read them.

/// `1536` → `1.5 KiB` (shared with the server's own messages).
pub use shared::human_bytes as bytes;

/// A transfer rate: `1.5 MiB/s`.
pub fn rate(bytes_per_second: f64) -> String {
    format!("{}/s", bytes(bytes_per_second.max(0.0).round() as u64))
}

/// A time left, rounded up to what a person cares about: `4 s`, `2 min 5 s`, `1 h 3 min`.
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).ceil() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

/// The clock time of an RFC 3339 timestamp with milliseconds: `10:00:01.234`.
pub fn clock_time(at: &str) -> &str {
    at.get(11..23).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_durations_are_humane() {
        assert_eq!(rate(1.5 * 1024.0 * 1024.0), "1.5 MiB/s");
        assert_eq!(rate(-3.0), "0 B/s");
        let cases = [(0.2, "1 s"), (59.0, "59 s"), (125.0, "2 min 5 s"), (3780.0, "1 h 3 min")];
        for (seconds, text) in cases {
            assert_eq!(duration(seconds), text);
        }
        assert_eq!(clock_time("2026-11-22T10:00:01.234Z"), "10:00:01.234");
        assert_eq!(clock_time("soon"), "soon");
    }
}
