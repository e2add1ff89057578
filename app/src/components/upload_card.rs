//! One upload: its type or thumbnail, name, size, a progress bar with the phase it is
//! in, live speed and time left, the result, and what can be done with it.

use leptos::prelude::*;
use shared::{routes, Stage};

use super::card_actions::CardActions;
use crate::{
    board::Card,
    format,
    progress::{Phase, Sending},
    speed::{now_ms, Meter},
};

/// A short label for the file's type: what the server found, else the name's extension.
fn type_label(content_type: Option<&str>, filename: &str) -> &'static str {
    let ext = filename.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match (content_type.unwrap_or_default(), ext.as_str()) {
        (ct, _) if ct.starts_with("application/pdf") => "PDF",
        (ct, _) if ct.starts_with("image/") => "IMG",
        (ct, _) if ct.starts_with("text/") => "TXT",
        ("", "pdf") => "PDF",
        ("", "png" | "jpg" | "jpeg" | "gif" | "webp") => "IMG",
        ("", "txt" | "md" | "csv") => "TXT",
        _ => "FILE",
    }
}

/// "1.2 MiB/s · 4 s left" while sending, "35 pages/s · 2 s left" while extracting.
fn speed_text(card: &Card, bytes: &mut Meter, pages: &mut Meter) -> Option<String> {
    let now = now_ms()?;
    if let Sending::Sent { loaded, total } = card.sending.get() {
        if loaded < total && card.phase.get() == Phase::Sending {
            bytes.observe(now, loaded);
            let rate = bytes.per_second()?;
            let left = bytes.seconds_left(total)?;
            return Some(format!("{} · {} left", format::rate(rate), format::duration(left)));
        }
    }
    let (page, total) = card.server.with(|s| {
        s.as_ref()
            .filter(|s| s.stage == Some(Stage::Extracting) && card.phase.get() == Phase::Processing)
            .and_then(|s| s.page.zip(s.pages))
    })?;
    pages.observe(now, u64::from(page));
    let rate = pages.per_second()?;
    let left = pages.seconds_left(u64::from(total))?;
    let rate = if rate < 10.0 { format!("{rate:.1}") } else { format!("{rate:.0}") };
    Some(format!("{rate} pages/s · {} left", format::duration(left)))
}

#[component]
pub fn UploadCard(card: Card) -> impl IntoView {
    let now = card.shown.clone();
    let percent = {
        let card = card.clone();
        Memo::new(move |_| card.percent())
    };
    let speed = {
        let card = card.clone();
        let meters = StoredValue::new((Meter::default(), Meter::default()));
        Memo::new(move |_| meters.try_update_value(|(b, p)| speed_text(&card, b, p)).flatten())
    };
    let thumbnail = {
        let (id, server) = (card.id.clone(), card.server.clone());
        move || {
            let shown = server.with(|s| s.as_ref().is_some_and(|s| s.has_thumbnail));
            id.get().filter(|_| shown).map(|id| routes::of(routes::UPLOAD_THUMBNAIL, &id))
        }
    };
    let icon = {
        let (server, filename) = (card.server.clone(), card.filename.clone());
        move || {
            server
                .with(|s| type_label(s.as_ref().and_then(|s| s.content_type.as_deref()), &filename))
        }
    };
    let details = {
        let id = card.id.clone();
        move || id.get().map(|id| format!("/uploads/{id}"))
    };
    let filename = card.filename.clone();
    let label = format!("Progress of {filename}");
    let size = format::bytes(card.size);
    let (key, key_too) = (card.phase.clone(), card.phase.clone());
    let (phase_badge, phase_detail, phase_page, phase_error) =
        (now.clone(), now.clone(), now.clone(), now.clone());

    view! {
        <li class="upload" data-status=move || key.get().key() data-filename=filename.clone()>
            {move || match thumbnail() {
                Some(src) => view! { <img class="thumb" src=src alt="" loading="lazy" /> }.into_any(),
                None => view! { <span class="type-icon" aria-hidden="true">{icon.clone()}</span> }.into_any(),
            }}
            <div class="upload-body">
                <div class="upload-head">
                    {
                        let name = filename.clone();
                        move || match details() {
                            Some(href) => view! { <a class="name" href=href title=name.clone()>{name.clone()}</a> }.into_any(),
                            None => view! { <span class="name" title=name.clone()>{name.clone()}</span> }.into_any(),
                        }
                    }
                    <span class="size">{size}</span>
                    <span class="badge" role="status" data-status=move || key_too.get().key()>
                        {move || phase_badge.with(|p| p.phase.badge())}
                    </span>
                </div>
                <progress class="bar" max="100" value=move || percent.get() aria-label=label></progress>
                <div class="upload-detail">
                    <span class="stage">{move || phase_detail.with(|p| p.detail.clone())}</span>
                    <span class="page">{move || phase_page.with(|p| p.page.clone())}</span>
                    <span class="speed">{move || speed.get()}</span>
                    <span class="percent">{move || percent.get()} "%"</span>
                </div>
                {move || {
                    phase_error.with(|p| p.error.clone())
                        .map(|message| view! { <p class="error-message">{message}</p> })
                }}
                <CardActions card=card.clone() />
            </div>
        </li>
    }
    // Erased, so the list holding many cards stays within the compiler's type depth.
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::type_label;

    #[test]
    fn the_type_comes_from_the_server_else_the_name() {
        assert_eq!(type_label(Some("application/pdf"), "x.bin"), "PDF");
        assert_eq!(type_label(Some("text/plain; charset=utf-8"), "x"), "TXT");
        assert_eq!(type_label(None, "Photo.JPG"), "IMG");
        assert_eq!(type_label(Some("application/octet-stream"), "a.pdf"), "FILE");
        assert_eq!(type_label(None, "archive"), "FILE");
    }
}
