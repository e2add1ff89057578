//! The Content-Security-Policy of the server-rendered pages: our own script and WASM and
//! nothing else. Leptos's inline hydration script carries a fresh nonce per response;
//! every other script must come from this origin, and nothing may be framed, posted
//! elsewhere or loaded as a plugin. An uploaded file can never run as a page of ours
//! anyway (downloads are `attachment` and `nosniff`); this also stops injected markup.

use axum::http::HeaderValue;

/// The policy for a page whose inline scripts carry `nonce`. `live_reload` is the
/// WebSocket source `cargo leptos watch` reloads the page through, in development.
pub fn page_policy(nonce: &str, live_reload: Option<&str>) -> HeaderValue {
    let reload = live_reload.map(|source| format!(" {source}")).unwrap_or_default();
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'{reload}; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    );
    // A nonce is base64; anything else would be a bug upstream, and no header beats a
    // wrong one only in being louder: fall back to a policy that allows no inline script.
    HeaderValue::from_str(&policy).unwrap_or_else(|_| {
        HeaderValue::from_static("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'")
    })
}

/// The reload socket of `cargo leptos watch`, when this server runs under it.
pub fn live_reload_source(options: &leptos::prelude::LeptosOptions) -> Option<String> {
    std::env::var_os("LEPTOS_WATCH").map(|_| {
        let port = options.reload_external_port.unwrap_or(options.reload_port);
        format!("ws://*:{port} wss://*:{port}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_the_nonce_and_nothing_foreign() {
        let policy = page_policy("abc+/=", None);
        let policy = policy.to_str().unwrap();
        assert!(policy.contains("script-src 'self' 'nonce-abc+/=' 'wasm-unsafe-eval';"));
        assert!(policy.contains("frame-ancestors 'none'"));
        assert!(!policy.contains("unsafe-inline") && !policy.contains("ws:"));
        let dev = page_policy("n", Some("ws://*:3001"));
        assert!(dev.to_str().unwrap().contains("connect-src 'self' ws://*:3001;"));
    }
}
