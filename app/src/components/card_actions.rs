//! What can be done with one upload, depending on where it stands: cancel while it is
//! sent or processed, retry once it failed or was cancelled, delete once it is finished,
//! download and preview its text once it is done. The events that follow update the
//! card; a refused action shows the server's message.

use leptos::prelude::*;
use shared::routes;

use crate::{
    board::{Board, Card},
    client::{actions, upload::Sender},
    progress::{Phase, Retry, Sending},
};

/// What a card's button asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Pause,
    Resume,
    Cancel,
    Retry,
    Delete,
}

#[component]
pub fn CardActions(card: Card) -> impl IntoView {
    let board = expect_context::<Board>();
    let failed = RwSignal::new(None::<String>);
    let phase = card.shown.clone();
    let id = card.id.clone();
    let sender = expect_context::<Sender>();
    let resendable = {
        let card = card.clone();
        move || sender.has_file(&card)
    };
    let act = {
        let card = card.clone();
        move |action: Action| {
            failed.set(None);
            leptos::task::spawn_local(perform(board, sender, card.clone(), action, failed));
        }
    };
    let button = move |action: Action, class: &'static str, text: &'static str| {
        let act = act.clone();
        view! { <button type="button" class=class on:click=move |_| act(action)>{text}</button> }
    };
    let (b1, b2, b3) = (button.clone(), button.clone(), button.clone());
    let (b4, b5) = (button.clone(), button);
    let sending = card.sending.clone();
    let pausable = {
        let sending = sending.clone();
        move || sending.with(|s| matches!(s, Sending::Sent { .. } | Sending::Reconnecting { .. }))
    };
    let resumable = {
        let card = card.clone();
        move || card.sending.with(|s| matches!(s, Sending::Paused { .. })) && sender.has_file(&card)
    };
    let (p1, p2, p3, p4) = (phase.clone(), phase.clone(), phase.clone(), phase.clone());
    let shows_retry = move || {
        p2.with(|p| match p.retry {
            Some(Retry::OnServer) => true,
            Some(Retry::Resend) => resendable(),
            None => false,
        })
    };
    let (id1, id2) = (id.clone(), id.clone());
    let done_id = move || id1.get().filter(|_| p3.with(|p| p.phase == Phase::Done));
    let has_text = {
        let server = card.server.clone();
        move || server.with(|s| s.as_ref().is_some_and(|s| s.has_text))
    };
    let done_too = done_id.clone();
    let preview = RwSignal::new(None::<String>);
    let toggle_preview = move |_| {
        if preview.with(Option::is_some) {
            preview.set(None);
            return;
        }
        let Some(id) = id2.get_untracked() else { return };
        leptos::task::spawn_local(async move {
            match actions::text_start(&id).await {
                Ok(text) => preview.set(Some(text)),
                Err(message) => failed.set(Some(message)),
            }
        });
    };

    view! {
        <div class="upload-actions">
            {move || done_id().map(|id| view! {
                <a class="download" href=routes::of(routes::UPLOAD_FILE, &id) download>"Download"</a>
            })}
            <Show when=move || done_too().is_some() && has_text()>
                <button type="button" class="preview-toggle" aria-expanded=move || preview.with(Option::is_some).to_string() on:click=toggle_preview.clone()>
                    "Preview text"
                </button>
            </Show>
            <Show when=pausable>{b4(Action::Pause, "pause", "Pause")}</Show>
            <Show when=resumable>{b5(Action::Resume, "resume", "Resume")}</Show>
            <Show when=move || p1.with(|p| p.phase.cancellable())>{b1(Action::Cancel, "cancel", "Cancel")}</Show>
            <Show when=shows_retry.clone()>{b2(Action::Retry, "retry", "Retry")}</Show>
            <Show when=move || p4.with(|p| p.phase.finished())>{b3(Action::Delete, "delete", "Delete")}</Show>
        </div>
        {move || failed.get().map(|message| view! { <p class="action-error" role="alert">{message}</p> })}
        {move || preview.get().map(|text| view! { <pre class="preview" tabindex="0" aria-label="Start of the extracted text">{text}</pre> })}
    }
    .into_any()
}

/// Carries out `action` for `card`: through the server when it knows the upload, and on
/// this page for a file it is (or was) sending.
async fn perform(
    board: Board,
    sender: Sender,
    card: Card,
    action: Action,
    failed: RwSignal<Option<String>>,
) {
    let id = card.id.get_untracked();
    let outcome = match action {
        Action::Pause => {
            sender.pause(&card);
            Ok(())
        }
        Action::Resume => {
            sender.resume(&card);
            Ok(())
        }
        Action::Cancel => {
            let sending =
                card.sending.with_untracked(|s| *s == Sending::Waiting || s.loaded().is_some());
            // Asked of the server first, so it records a cancel rather than a broken
            // request; a file still going up is then cut here.
            let asked = match &id {
                Some(id) => actions::cancel(id).await,
                None => Ok(()),
            };
            if sending {
                sender.cancel(&card);
                Ok(())
            } else {
                asked
            }
        }
        Action::Retry if card.shown.with_untracked(|p| p.retry == Some(Retry::Resend)) => {
            // The server has nothing whole to run: drop its record and send the file anew.
            if let Some(id) = &id {
                let _ = actions::delete(id).await;
            }
            sender.resend(&card);
            Ok(())
        }
        Action::Retry => match &id {
            Some(id) => actions::retry(id).await,
            None => Ok(()),
        },
        Action::Delete => {
            let deleted = match &id {
                Some(id) => actions::delete(id).await,
                None => Ok(()),
            };
            if deleted.is_ok() {
                sender.release(&card);
                board.discard(&card);
            }
            deleted
        }
    };
    if let Err(message) = outcome {
        failed.set(Some(message));
    }
}
