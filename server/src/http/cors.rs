//! Cross-origin clients (`UPLINK_CORS_ORIGINS`): a page on another origin, such as an
//! Uppy or tus-js-client page of the deployment's own, may call the API with
//! credentials, send the tus request headers and read the tus response headers. The
//! layer is tower-http's, kept up by its maintainers; this module only says what it
//! allows. The listed origins are also accepted by the cross-site check
//! (`origin.rs`). Without the setting, there is no CORS at all.

use std::time::Duration;

use axum::http::{header, HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The origins allowed, each `scheme://host[:port]` as a browser sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsOrigins(pub Vec<String>);

impl CorsOrigins {
    /// Whether `origin` (an `Origin` header's value) is one of them.
    pub fn allows(&self, origin: &str) -> bool {
        self.0.iter().any(|allowed| allowed == origin)
    }
}

/// `https://a.example, http://localhost:5173`: comma-separated origins; empty for none.
pub fn parse_origins(text: &str) -> Result<CorsOrigins, String> {
    let origins = text.split(',').map(str::trim).filter(|o| !o.is_empty());
    let origins = origins
        .map(|origin| {
            let origin = origin.trim_end_matches('/');
            let (scheme, authority) = origin.split_once("://").unwrap_or(("", ""));
            let valid = matches!(scheme, "http" | "https")
                && !authority.is_empty()
                && !authority.contains(['/', '?', '#', '*', ' '])
                && HeaderValue::from_str(origin).is_ok();
            valid.then(|| origin.to_ascii_lowercase()).ok_or_else(|| {
                format!(
                    "{origin:?} is not an origin like https://app.example or http://localhost:5173"
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CorsOrigins(origins))
}

/// The request headers a tus client (and the rest of the API) sends.
const REQUEST_HEADERS: [&str; 12] = [
    "authorization",
    "content-type",
    "last-event-id",
    "tus-resumable",
    "upload-length",
    "upload-offset",
    "upload-metadata",
    "upload-defer-length",
    "upload-concat",
    "upload-checksum",
    "x-http-method-override",
    "x-requested-with",
];

/// The response headers a tus client must be able to read.
const EXPOSED_HEADERS: [&str; 11] = [
    "upload-offset",
    "location",
    "upload-length",
    "tus-version",
    "tus-resumable",
    "tus-max-size",
    "tus-extension",
    "upload-metadata",
    "upload-defer-length",
    "upload-concat",
    "upload-expires",
];

/// The layer for `origins`, or `None` when there are none.
pub fn layer(origins: &CorsOrigins) -> Option<CorsLayer> {
    if origins.0.is_empty() {
        return None;
    }
    let values = origins.0.iter().filter_map(|o| HeaderValue::from_str(o).ok());
    let names = |list: &[&'static str]| -> Vec<HeaderName> {
        list.iter().map(|name| HeaderName::from_static(name)).collect()
    };
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(values))
            .allow_credentials(true)
            .allow_methods([
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PATCH,
                Method::DELETE,
                Method::OPTIONS,
            ])
            .allow_headers(names(&REQUEST_HEADERS))
            .expose_headers(names(&EXPOSED_HEADERS))
            // A day: browsers cap it lower anyway (Chromium at two hours).
            .max_age(Duration::from_secs(86_400))
            .vary([header::ORIGIN]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_listed_plainly_or_refused_at_start() {
        let parsed = parse_origins(" https://App.example/ , http://localhost:5173,").unwrap();
        assert_eq!(parsed.0, ["https://app.example", "http://localhost:5173"]);
        assert!(parsed.allows("http://localhost:5173"));
        assert!(!parsed.allows("http://localhost:5174"));
        assert_eq!(parse_origins("").unwrap(), CorsOrigins::default());
        for bad in ["*", "app.example", "https://app.example/path", "ftp://x", "https://"] {
            assert!(parse_origins(bad).is_err(), "{bad}");
        }
    }
}
