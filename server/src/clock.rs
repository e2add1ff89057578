//! Server time as the wire spells it.

/// Now, in RFC 3339 with milliseconds, UTC (`2026-11-21T10:00:00.123Z`).
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
