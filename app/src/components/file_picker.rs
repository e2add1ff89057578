//! Choosing files to upload, what the server accepts, and why a file was refused.
//! (Dropping and pasting work anywhere on the page: see `client::drop`.)

use leptos::prelude::*;
use shared::UploadLimits;

use crate::{client::upload::Sender, format};

#[component]
pub fn FilePicker(limits: UploadLimits, rejections: RwSignal<Vec<String>>) -> impl IntoView {
    let sender = expect_context::<Sender>();
    let on_change = move |event: leptos::ev::Event| sender.add_picked(&event);

    let rules = match limits.allowed_types.is_empty() {
        true => format!("Up to {} per file, any type.", format::bytes(limits.max_upload_bytes)),
        false => format!(
            "Up to {} per file. Accepted: {}.",
            format::bytes(limits.max_upload_bytes),
            limits.allowed_types.join(", ")
        ),
    };
    let accept = limits.accept_attribute();

    view! {
        <section class="picker">
            <input
                id="file-input"
                class="visually-hidden"
                name="file"
                type="file"
                multiple
                accept=(!accept.is_empty()).then_some(accept)
                on:change=on_change
            />
            <label class="picker-button" for="file-input">"Choose files"</label>
            <p class="picker-hint">
                "or drop them anywhere on this page, or paste them. "
                <span class="limits">{rules}</span>
            </p>
        </section>
        <Show when=move || rejections.with(|r| !r.is_empty())>
            <div class="rejections" role="alert">
                <p>"Not uploaded:"</p>
                <ul>
                    {move || rejections.get().into_iter().map(|reason| view! { <li>{reason}</li> }).collect_view()}
                </ul>
                <button type="button" class="dismiss" on:click=move |_| rejections.set(Vec::new())>
                    "Dismiss"
                </button>
            </div>
        </Show>
    }
}
