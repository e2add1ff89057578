//! One upload: its name, size, a progress bar, what is happening now, and the result.

use leptos::prelude::*;
use shared::{Stage, UploadStatus};

use crate::{
    board::{Board, Card, Sending, ServerState},
    format,
};

/// What the card says about where the upload is.
#[derive(Debug, Clone, PartialEq)]
struct Phase {
    /// For styling and tests: waiting, sending, uploading, queued, processing, done, failed, cancelled.
    key: &'static str,
    badge: &'static str,
    detail: String,
    page: Option<String>,
    error: Option<String>,
    /// The server can run the job again: it failed or was cancelled with its bytes kept.
    retriable: bool,
}

fn phase(sending: &Sending, server: Option<&ServerState>) -> Phase {
    let plain = |key, badge, detail: &str| Phase {
        key,
        badge,
        detail: detail.to_owned(),
        page: None,
        error: None,
        retriable: false,
    };
    match (server, sending) {
        (
            None | Some(ServerState { status: UploadStatus::Uploading, .. }),
            Sending::Failed(message),
        ) => Phase { error: Some(message.clone()), ..plain("failed", "Failed", "Not sent") },
        (None, Sending::Waiting) => plain("waiting", "Waiting", "Waiting to send"),
        (None, Sending::Sent { loaded, total }) => Phase {
            detail: format!("Sending {} of {}", format::bytes(*loaded), format::bytes(*total)),
            ..plain("sending", "Sending", "")
        },
        (None, _) => plain("sending", "Sending", "Sending"),
        (Some(state), _) => match state.status {
            UploadStatus::Uploading => match sending {
                Sending::Sent { loaded, total } => Phase {
                    detail: format!(
                        "Sending {} of {}",
                        format::bytes(*loaded),
                        format::bytes(*total)
                    ),
                    ..plain("sending", "Sending", "")
                },
                _ => plain("uploading", "Receiving", "Receiving"),
            },
            UploadStatus::Queued => {
                let detail = match state.ahead {
                    Some(0) => "Next in line".to_owned(),
                    Some(1) => "1 job ahead".to_owned(),
                    Some(n) if n > 10 => format!("Up to {n} jobs ahead"),
                    Some(n) => format!("{n} jobs ahead"),
                    None => "Waiting for a worker".to_owned(),
                };
                Phase { detail, ..plain("queued", "Queued", "") }
            }
            UploadStatus::Processing => {
                let stage = state.stage.unwrap_or(Stage::Validating);
                let page = match (stage, state.page, state.pages) {
                    (Stage::Extracting, Some(page), Some(pages)) => {
                        Some(format!("page {page} / {pages}"))
                    }
                    _ => None,
                };
                Phase { page, ..plain("processing", "Processing", stage.label()) }
            }
            UploadStatus::Done => {
                let detail = match (state.pages, state.dimensions) {
                    (Some(1), _) => "Done: 1 page".to_owned(),
                    (Some(n), _) => format!("Done: {n} pages"),
                    (None, Some((width, height))) => format!("Done: {width} × {height}"),
                    (None, None) => "Done".to_owned(),
                };
                Phase { detail, ..plain("done", "Done", "") }
            }
            UploadStatus::Failed => Phase {
                error: Some(
                    state
                        .error
                        .as_ref()
                        .map_or("Processing failed".to_owned(), |e| e.message.clone()),
                ),
                retriable: state.error.as_ref().is_some_and(|e| e.code.retriable()),
                ..plain("failed", "Failed", "Failed")
            },
            UploadStatus::Cancelled => Phase {
                retriable: state.error.as_ref().is_none_or(|e| e.code.retriable()),
                ..plain("cancelled", "Cancelled", "Cancelled")
            },
        },
    }
}

#[component]
pub fn UploadCard(card: Card) -> impl IntoView {
    let now = {
        let card = card.clone();
        Memo::new(move |_| card.server.with(|s| phase(&card.sending.get(), s.as_ref())))
    };
    let percent = {
        let card = card.clone();
        Memo::new(move |_| card.percent())
    };
    let id = card.id.clone();
    let download = move || {
        id.get()
            .filter(|_| now.with(|p| p.key == "done"))
            .map(|id| format!("/api/uploads/{id}/file"))
    };
    let thumbnail = {
        let (id, server) = (card.id.clone(), card.server.clone());
        move || {
            let shown = server.with(|s| s.as_ref().is_some_and(|s| s.has_thumbnail));
            id.get().filter(|_| shown).map(|id| format!("/api/uploads/{id}/thumbnail"))
        }
    };
    let actions = card_actions(&card, now);
    let filename = card.filename.clone();
    let label = format!("Progress of {filename}");
    let size = format::bytes(card.size);

    view! {
        <li class="upload" data-status=move || now.with(|p| p.key) data-filename=filename.clone()>
            {move || thumbnail().map(|src| view! { <img class="thumb" src=src alt="" loading="lazy" /> })}
            <div class="upload-head">
                <span class="name" title=filename.clone()>{filename.clone()}</span>
                <span class="size">{size}</span>
                <span class="badge" data-status=move || now.with(|p| p.key)>
                    {move || now.with(|p| p.badge)}
                </span>
            </div>
            <progress class="bar" max="100" value=move || percent.get() aria-label=label></progress>
            <div class="upload-detail" aria-live="polite">
                <span class="stage">{move || now.with(|p| p.detail.clone())}</span>
                <span class="page">{move || now.with(|p| p.page.clone())}</span>
                <span class="percent">{move || percent.get()} "%"</span>
            </div>
            {move || {
                now.with(|p| p.error.clone())
                    .map(|message| view! { <p class="error-message" role="alert">{message}</p> })
            }}
            <div class="upload-actions">
                {move || {
                    download()
                        .map(|href| {
                            view! {
                                <a class="download" href=href download>
                                    "Download"
                                </a>
                            }
                        })
                }}
                {actions}
            </div>
        </li>
    }
    // Erased, so the list holding many cards stays within the compiler's type depth.
    .into_any()
}

/// Whether the card offers Cancel: the server still has work to stop.
fn cancellable(phase: &Phase) -> bool {
    matches!(phase.key, "queued" | "processing")
}

/// What a card's button asks the server.
#[derive(Debug, Clone, Copy)]
enum Action {
    Cancel,
    Retry,
    Delete,
}

/// Cancel, Retry and Delete, once the server knows the upload, and what went wrong with
/// any of them. The events that follow a cancel or a retry update the card.
fn card_actions(card: &Card, now: Memo<Phase>) -> AnyView {
    let board = expect_context::<Board>();
    let failed = RwSignal::new(None::<String>);
    let id = card.id.clone();
    let known = move || id.with(Option::is_some);
    let act = {
        let id = card.id.clone();
        move |action: Action| {
            let Some(id) = id.get_untracked() else { return };
            failed.set(None);
            #[cfg(feature = "hydrate")]
            leptos::task::spawn_local(async move {
                use crate::client::actions;
                let done = match action {
                    Action::Cancel => actions::cancel(&id).await,
                    Action::Retry => actions::retry(&id).await,
                    Action::Delete => actions::delete(&id).await,
                };
                match done {
                    Ok(()) if matches!(action, Action::Delete) => board.remove(&id),
                    Ok(()) => {}
                    Err(message) => failed.set(Some(message)),
                }
            });
            #[cfg(not(feature = "hydrate"))]
            let _ = (id, board, action);
        }
    };
    let on = |action: Action| {
        let act = act.clone();
        move |_| act(action)
    };
    let (cancel, retry, delete) = (on(Action::Cancel), on(Action::Retry), on(Action::Delete));
    let (known_too, known_three) = (known.clone(), known.clone());
    view! {
        <Show when=move || known() && now.with(cancellable)>
            <button type="button" class="cancel" on:click=cancel.clone()>"Cancel"</button>
        </Show>
        <Show when=move || known_three() && now.with(|p| p.retriable)>
            <button type="button" class="retry" on:click=retry.clone()>"Retry"</button>
        </Show>
        <Show when=known_too.clone()>
            <button type="button" class="delete" on:click=delete.clone()>"Delete"</button>
        </Show>
        {move || failed.get().map(|message| view! { <p class="action-error" role="alert">{message}</p> })}
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(status: UploadStatus, stage: Stage, page: Option<u32>) -> ServerState {
        ServerState {
            status,
            stage: Some(stage),
            percent: 50,
            page,
            pages: Some(7),
            size: 1,
            error: None,
            has_text: false,
            ahead: None,
            attempt: 1,
            dimensions: None,
            has_thumbnail: false,
        }
    }

    #[test]
    fn phases_say_what_is_happening() {
        let extracting = server(UploadStatus::Processing, Stage::Extracting, Some(3));
        let p = phase(&Sending::Finished, Some(&extracting));
        assert_eq!(
            (p.key, p.detail.as_str(), p.page.as_deref()),
            ("processing", "Extracting text", Some("page 3 / 7"))
        );

        let p = phase(&Sending::Sent { loaded: 512, total: 2048 }, None);
        assert_eq!((p.key, p.detail.as_str()), ("sending", "Sending 512 B of 2.0 KiB"));

        let p = phase(&Sending::Failed("offline".into()), None);
        assert_eq!((p.key, p.error.as_deref()), ("failed", Some("offline")));

        let done = server(UploadStatus::Done, Stage::Finalizing, Some(7));
        assert_eq!(phase(&Sending::Elsewhere, Some(&done)).detail, "Done: 7 pages");

        let queued =
            |ahead| ServerState { ahead, ..server(UploadStatus::Queued, Stage::Receiving, None) };
        let said: Vec<String> = [None, Some(0), Some(3), Some(40)]
            .map(|ahead| phase(&Sending::Finished, Some(&queued(ahead))).detail)
            .to_vec();
        assert_eq!(
            said,
            ["Waiting for a worker", "Next in line", "3 jobs ahead", "Up to 40 jobs ahead"]
        );
    }
}
