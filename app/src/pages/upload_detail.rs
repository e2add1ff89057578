//! `/uploads/{id}`: one upload in full: its metadata and checksum, its history from the
//! event log (each stage with its times), the start of its text, and its download.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use shared::{routes, Upload};

use crate::{
    api::{load_upload, UploadDetail},
    format,
    timeline::{self, Row},
};

#[component]
pub fn UploadDetailPage() -> impl IntoView {
    let params = use_params_map();
    let detail =
        Resource::new(move || params.with(|p| p.get("id").unwrap_or_default()), load_upload);
    view! {
        <nav class="crumbs"><a href="/">"← All uploads"</a></nav>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(Some(detail)) => view! { <Detail detail/> }.into_any(),
                    Ok(None) => view! { <p class="not-found" role="alert">"No such upload."</p> }.into_any(),
                    Err(error) => view! {
                        <p class="load-error" role="alert">"Could not load the upload: " {error.to_string()}</p>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The facts about an upload, as `(label, value)` rows.
fn facts(upload: &Upload) -> Vec<(&'static str, String)> {
    let mut rows = vec![
        ("Status", upload.status.as_str().to_owned()),
        ("Size", format!("{} ({} bytes)", format::bytes(upload.size), upload.size)),
        ("Type", upload.content_type.clone().unwrap_or_else(|| "not known yet".into())),
        ("SHA-256", upload.sha256.clone().unwrap_or_else(|| "not stored yet".into())),
    ];
    if let Some(pages) = upload.pages {
        rows.push(("Pages", pages.to_string()));
    }
    if let Some((w, h)) = upload.width.zip(upload.height) {
        rows.push(("Dimensions", format!("{w} × {h} pixels")));
    }
    if upload.attempt > 1 {
        rows.push(("Attempt", upload.attempt.to_string()));
    }
    rows.push(("Uploaded", upload.created_at.clone()));
    rows.push(("Last change", upload.updated_at.clone()));
    if let Some(error) = &upload.error {
        rows.push(("Error", format!("{} ({})", error.message, error.code.as_str())));
    }
    rows
}

#[component]
fn Detail(detail: UploadDetail) -> impl IntoView {
    let upload = detail.upload;
    let id = upload.id.clone();
    let done = upload.status == shared::UploadStatus::Done;
    let rows = timeline::rows(&detail.timeline);
    let started = rows.first().map(|r| r.first_at.clone());
    view! {
        <article class="detail" data-status=upload.status.as_str()>
            <h2 class="detail-name">{upload.filename.clone()}</h2>
            {done.then(|| view! {
                <a class="download" href=routes::of(routes::UPLOAD_FILE, &id) download>"Download"</a>
            })}
            <dl class="facts">
                {facts(&upload).into_iter().map(|(label, value)| view! {
                    <dt>{label}</dt><dd data-fact=label>{value}</dd>
                }).collect_view()}
            </dl>
            <section class="timeline-section" aria-labelledby="timeline-heading">
                <h3 id="timeline-heading">"Timeline"</h3>
                {if rows.is_empty() {
                    view! { <p class="empty">"Its events are past the retention period."</p> }.into_any()
                } else {
                    view! {
                        <ol class="timeline">
                            {rows.into_iter().map(|row| view! { <TimelineRow row started=started.clone()/> }).collect_view()}
                        </ol>
                    }.into_any()
                }}
            </section>
            {detail.preview.map(|preview| view! {
                <section aria-labelledby="text-heading">
                    <h3 id="text-heading">"Extracted text"</h3>
                    <pre class="preview" tabindex="0">{preview.text}{preview.truncated.then_some("…")}</pre>
                    <a href=routes::of(routes::UPLOAD_TEXT, &id)>"The whole text"</a>
                </section>
            })}
        </article>
    }
}

/// Seconds from `from` to `to`, both RFC 3339 with milliseconds on the same day.
fn offset(from: &str, to: &str) -> Option<f64> {
    let seconds = |at: &str| -> Option<f64> {
        let clock = at.get(11..23)?;
        let mut parts = clock.split(':');
        let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
        Some(
            h.parse::<f64>().ok()? * 3600.0
                + m.parse::<f64>().ok()? * 60.0
                + s.parse::<f64>().ok()?,
        )
    };
    (from.get(..10) == to.get(..10)).then(|| Some(seconds(to)? - seconds(from)?)).flatten()
}

#[component]
fn TimelineRow(row: Row, started: Option<String>) -> impl IntoView {
    let since = started.as_deref().and_then(|s| offset(s, &row.first_at));
    let span = row.last_at.as_deref().map(|last| format!("until {}", format::clock_time(last)));
    let count = (row.events > 1).then(|| format!("{} events", row.events));
    view! {
        <li class="event" data-kind=row.kind>
            <time datetime=row.first_at.clone()>{format::clock_time(&row.first_at).to_owned()}</time>
            <span class="since">{since.map(|s| format!("+{s:.3} s"))}</span>
            <span class="what">{row.label}</span>
            <span class="detail-text">{row.detail}</span>
            <span class="span">{span}</span>
            <span class="count">{count}</span>
        </li>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn offsets_are_seconds_since_the_first_event() {
        let d = super::offset("2026-11-22T10:00:01.250Z", "2026-11-22T10:01:02.750Z");
        assert_eq!(d, Some(61.5));
        assert_eq!(super::offset("2026-11-22T10:00:01.250Z", "2026-11-23T10:00:01.250Z"), None);
    }
}
