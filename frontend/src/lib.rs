//! Hydrates the server-rendered dashboard in the browser; nothing else lives here.
#![cfg(target_arch = "wasm32")]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // A marker for end-to-end tests (and anyone curious): the page is now interactive.
    let _ = js_sys::Reflect::set(&js_sys::global(), &"__hydrated".into(), &true.into());
}
