//! Refuses state-changing requests that another site made a browser send, even with a
//! valid cookie: `SameSite=Lax` already keeps the cookie off cross-site POSTs in today's
//! browsers, and this check holds for older ones and for same-site subdomains too.
//!
//! Browsers say where a request comes from (`Sec-Fetch-Site`, or at least `Origin`);
//! a client that sends neither is not a browser acting for someone else (curl, scripts).
//! A page of an origin listed in `UPLINK_CORS_ORIGINS` is one the deployment trusts.

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, Method},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{http::error::ApiError, http::state::AppState};

pub async fn refuse_cross_site(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let config = &state.config;
        let listed = request
            .headers()
            .get(header::ORIGIN)
            .and_then(|origin| origin.to_str().ok())
            .is_some_and(|origin| config.cors_origins.allows(origin));
        let checked = same_origin(request.headers(), config.public_url.as_deref());
        if let (false, Err(message)) = (listed, checked) {
            return ApiError::CrossSite(message.to_owned()).into_response();
        }
    }
    next.run(request).await
}

/// Whether a browser sent this request from our own pages (or no browser sent it).
fn same_origin(headers: &HeaderMap, public_url: Option<&str>) -> Result<(), &'static str> {
    const REFUSED: &str = "requests from other sites may not change anything here";
    if let Some(site) = headers.get("sec-fetch-site") {
        // `none`: the user typed or bookmarked it; not something a page can forge.
        return match site.as_bytes() {
            b"same-origin" | b"none" => Ok(()),
            _ => Err(REFUSED),
        };
    }
    let Some(origin) = headers.get(header::ORIGIN) else { return Ok(()) };
    let origin = origin.to_str().map_err(|_| REFUSED)?.trim_end_matches('/');
    let ours = match public_url {
        Some(url) => url.trim_end_matches('/') == origin,
        None => {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
            origin.split_once("://").map(|(_, authority)| authority) == host
        }
    };
    if ours {
        Ok(())
    } else {
        Err(REFUSED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    /// Request headers, `UPLINK_PUBLIC_URL`, and whether the request may pass.
    type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>, bool);

    #[test]
    fn same_origin_and_non_browser_requests_pass_and_cross_site_ones_do_not() {
        const HOST: (&str, &str) = ("host", "uplink.test:3000");
        let cases: &[Case] = &[
            (&[("sec-fetch-site", "same-origin")], None, true),
            (&[("sec-fetch-site", "none")], None, true),
            (&[("sec-fetch-site", "cross-site")], None, false),
            (&[("sec-fetch-site", "same-site")], None, false),
            (&[HOST, ("origin", "http://uplink.test:3000")], None, true),
            (&[HOST, ("origin", "http://evil.test")], None, false),
            (&[HOST, ("origin", "null")], None, false),
            (&[HOST], None, true),
            (&[("origin", "https://uplink.example")], Some("https://uplink.example/"), true),
            (&[("origin", "http://uplink.example")], Some("https://uplink.example"), false),
        ];
        for (pairs, public_url, allowed) in cases {
            let result = same_origin(&headers(pairs), *public_url);
            assert_eq!(result.is_ok(), *allowed, "{pairs:?} with {public_url:?}");
        }
    }
}
