//! Server time as the wire spells it.

/// Now, in RFC 3339 with milliseconds, UTC (`2026-11-21T10:00:00.123Z`).
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `duration` from now, spelled like [`now`]; far-future durations saturate.
pub fn after(duration: std::time::Duration) -> String {
    let duration = chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX);
    chrono::Utc::now()
        .checked_add_signed(duration)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
