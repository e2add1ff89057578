//! The username and password form of the login and register pages and of the sign-in
//! dialog shown when a session ends.

use leptos::prelude::*;

use crate::client::auth::{submit, Action};

/// What the form does once the server has accepted the credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKind {
    Login,
    Register,
}

/// `on_success` gets the account's username.
#[component]
pub fn CredentialsForm(
    kind: FormKind,
    #[prop(optional, into)] username: String,
    #[prop(into)] on_success: Callback<String>,
) -> impl IntoView {
    let username = RwSignal::new(username);
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let (submit_label, autocomplete) = match kind {
        FormKind::Login => ("Log in", "current-password"),
        FormKind::Register => ("Create account", "new-password"),
    };

    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let action = match kind {
            FormKind::Login => Action::Login,
            FormKind::Register => Action::Register,
        };
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let (name, secret) = (username.get_untracked(), password.get_untracked());
            match submit(action, &name, &secret).await {
                Ok(account) => {
                    password.set(String::new());
                    on_success.run(account);
                }
                Err(message) => error.set(Some(message)),
            }
            busy.set(false);
        });
    };

    view! {
        <form class="credentials" on:submit=on_submit>
            <label>
                "Username"
                <input
                    name="username"
                    autocomplete="username"
                    required
                    minlength="3"
                    maxlength="32"
                    prop:value=move || username.get()
                    on:input=move |e| username.set(event_target_value(&e))
                />
            </label>
            <label>
                "Password"
                <input
                    name="password"
                    type="password"
                    autocomplete=autocomplete
                    required
                    minlength="8"
                    prop:value=move || password.get()
                    on:input=move |e| password.set(event_target_value(&e))
                />
            </label>
            {move || error.get().map(|message| view! { <p class="form-error" role="alert">{message}</p> })}
            <button type="submit" disabled=move || busy.get()>{submit_label}</button>
        </form>
    }
}
