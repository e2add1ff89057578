//! Shown over the dashboard when the session has ended: sign in again without losing
//! the page. As the same account, everything carries on; as another, the page reloads
//! (what it shows belongs to the first account).

use leptos::prelude::*;

use super::{CredentialsForm, FormKind};
use crate::session::Session;

#[component]
pub fn SessionDialog() -> impl IntoView {
    let session = expect_context::<Session>();
    let on_success = move |account: String| {
        if account.eq_ignore_ascii_case(&session.username.get_untracked()) {
            session.lost.set(false);
        } else {
            crate::client::auth::go_to("/");
        }
    };
    view! {
        <Show when=move || session.lost.get()>
            <div class="session-dialog" role="dialog" aria-modal="true" aria-labelledby="session-title">
                <div class="session-box">
                    <h2 id="session-title">"Your session has ended"</h2>
                    <p>"Sign in again to carry on. Uploads on this page are kept."</p>
                    <CredentialsForm
                        kind=FormKind::Login
                        username=session.username.get_untracked()
                        on_success
                    />
                </div>
            </div>
        </Show>
    }
}
