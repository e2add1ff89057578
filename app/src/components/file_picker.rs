//! Choosing files to upload.

use leptos::prelude::*;

#[component]
pub fn FilePicker() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    let on_change = {
        let board = expect_context::<crate::board::Board>();
        let session = expect_context::<crate::session::Session>();
        let sender = crate::client::upload::Sender::new(board, session);
        move |event: leptos::ev::Event| {
            use wasm_bindgen::JsCast;
            let Some(input) =
                event.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            else {
                return;
            };
            if let Some(files) = input.files() {
                for i in 0..files.length() {
                    if let Some(file) = files.get(i) {
                        sender.enqueue(file);
                    }
                }
            }
            // Lets the same file be picked again.
            input.set_value("");
        }
    };
    #[cfg(not(feature = "hydrate"))]
    let on_change = |_: leptos::ev::Event| {};

    view! {
        <section class="picker">
            <label class="picker-label" for="file-input">"Choose files to upload"</label>
            <input id="file-input" name="file" type="file" multiple on:change=on_change/>
        </section>
    }
}
