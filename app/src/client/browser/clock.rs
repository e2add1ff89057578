//! The browser's clock.

/// Milliseconds since the Unix epoch, on the browser's clock.
pub fn now_ms() -> Option<f64> {
    Some(js_sys::Date::now())
}
